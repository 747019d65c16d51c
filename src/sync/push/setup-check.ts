/**
 * Whether a portal target's platform has what the target writes to, checked by the worker role when it starts
 * and every `push.setupCheckEveryMs` after (PortalTarget.setupCheck), logged, and kept in Redis for `status`.
 * Zendesk answers a write to a field it lacks with 200 and drops the value: a single push reads that from the
 * answer and dead-letters itself, but a bulk push (resync, a changed mapping) cannot, so without this check a
 * missing field shows only as a portal that never changes.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import { REDIS_KEYS } from '../redis/keys.js';
import type { PortalTargetName } from '../target-names.js';
import type { PortalTarget, SetupCheckSpec } from './portal-target.js';

/** A check as kept in Redis: what the target found (SetupFindings) and when. */
const SetupCheckSchema = z.object({
  checkedAt: z.string(),
  problems: z.array(z.string()),
  consequence: z.string(),
  fix: z.string(),
});
export type SetupCheck = z.infer<typeof SetupCheckSchema>;

/** A kept check, or null for nothing kept or anything else (not ours, an older shape): read as never checked. */
function parseCheck(raw: string | null): SetupCheck | null {
  if (raw === null) return null;
  try {
    const parsed = SetupCheckSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The last check of each target that has been checked (a target without setupCheck never is). */
export async function readSetupChecks(
  redis: Redis,
  prefix: string,
  targets: readonly PortalTargetName[],
): Promise<Partial<Record<PortalTargetName, SetupCheck>>> {
  if (targets.length === 0) return {};
  const raw = await redis.mget(...targets.map((t) => REDIS_KEYS.push(prefix).setupCheck(t)));
  const checks: Partial<Record<PortalTargetName, SetupCheck>> = {};
  targets.forEach((t, i) => {
    const check = parseCheck(raw[i] ?? null);
    if (check) checks[t] = check;
  });
  return checks;
}

type Checkable = PortalTarget & { setupCheck: SetupCheckSpec };

/** One check of the target: logged (an error when it found problems, an info when it finds none after one did), and kept. */
async function checkTargetSetup(
  target: Checkable,
  redis: Redis,
  prefix: string,
  log: Logger,
  onChecked: ((target: PortalTargetName, problems: number) => void) | undefined,
): Promise<SetupCheck> {
  const findings = await target.setupCheck.run();
  onChecked?.(target.name, findings.problems.length);
  const check: SetupCheck = { checkedAt: new Date().toISOString(), ...findings };
  const key = REDIS_KEYS.push(prefix).setupCheck(target.name);
  const before = await redis.set(key, JSON.stringify(check), 'GET');
  if (findings.problems.length > 0)
    log.error(
      { target: target.name, problems: findings.problems },
      `${target.name} lacks what pushes write to: ${findings.consequence}; ${findings.fix}`,
    );
  else if (parseCheck(before)?.problems.length)
    log.info({ target: target.name }, `${target.name} now has everything pushes write to`);
  return check;
}

/**
 * Checks each target that can tell now (in the background: a slow platform delays no start) and every
 * `everyMs` after (0: at start only; a target's atStartOnly too). A check that fails (the platform
 * unreachable) is logged and changes nothing kept. Stop cancels the next checks; one under way finishes.
 */
export function watchTargetSetup(
  targets: readonly PortalTarget[],
  deps: {
    redis: Redis;
    prefix: string;
    logger: Logger;
    everyMs: number;
    /** After each check: how many problems it found (the worker's metrics gauge). */
    onChecked?: (target: PortalTargetName, problems: number) => void;
  },
): { stop(): void } {
  const log = deps.logger.child({ module: 'setup-check' });
  const checkable = targets.filter((t): t is Checkable => t.setupCheck !== undefined);
  const check = (t: Checkable) =>
    checkTargetSetup(t, deps.redis, deps.prefix, log, deps.onChecked).catch((err: unknown) =>
      log.warn({ target: t.name, err: (err as Error).message }, 'could not check the portal setup'),
    );
  checkable.forEach(check);
  const again = checkable.filter((t) => !t.setupCheck.atStartOnly);
  if (deps.everyMs <= 0 || again.length === 0) return { stop: () => undefined };
  const timer = setInterval(() => again.forEach(check), deps.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
