/**
 * Whether a portal target's platform has what the target writes to, checked by the worker role when it starts
 * and every `push.setupCheckEveryMs` after (PortalTarget.setupCheck), logged, and kept in Redis for `status`.
 * Zendesk answers a write to a field it lacks with 200 and drops the value: a single push reads that from the
 * answer and dead-letters itself, but a bulk push (resync, a changed mapping) cannot, so without this check a
 * missing field shows only as a portal that never changes.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { errorText } from '../errors.js';
import type { Logger } from '../../log.js';
import { REDIS_KEYS } from '../redis/keys.js';
import type { PortalTargetName } from '../target-names.js';
import type { PortalTarget, SetupCheckSpec, SetupFindings } from './portal-target.js';

/** Checks that could not run since the last one that did: the first and the latest failure, and the latest's error. */
const FailureSchema = z.object({
  since: z.string(),
  at: z.string(),
  reason: z.string(),
  /** The platform's HTTP status, when it answered one. */
  status: z.number().int().optional(),
});

/**
 * A check as kept in Redis: what the target found (SetupFindings) and when (null: no check has run yet), and,
 * while checks fail (the platform unreachable, credentials refused), since when and why. A check that runs drops
 * the failure.
 */
const SetupCheckSchema = z.object({
  checkedAt: z.string().nullable(),
  problems: z.array(z.string()),
  consequence: z.string(),
  fix: z.string(),
  failure: FailureSchema.optional(),
});
export type SetupCheck = z.infer<typeof SetupCheckSchema>;

/**
 * Whether the kept check is out of date because checks fail: a failure kept after the last check that ran. Two
 * workers check on their own, so one may keep a failure over the other's later check: the times decide.
 */
export function setupCheckFailing(check: SetupCheck): boolean {
  return check.failure !== undefined && (check.checkedAt === null || check.failure.at >= check.checkedAt);
}

/** A failed check's reason as kept: the error's message with its causes (cut at 300 characters) and HTTP status. */
function failureFields(err: unknown, at: string): Record<string, string> {
  const message = errorText(err);
  // jsforce and our errors carry `status`, node-zendesk's `statusCode`.
  const { status: s, statusCode } = (err ?? {}) as { status?: unknown; statusCode?: unknown };
  const status = s ?? statusCode;
  return {
    at,
    reason: message.length > 300 ? `${message.slice(0, 299)}…` : message,
    ...(typeof status === 'number' && Number.isInteger(status) && { status: String(status) }),
  };
}

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

/** The failure hash as kept beside a check, or undefined when there is none (or it is not whole). */
function parseFailure(fields: Record<string, string>): SetupCheck['failure'] {
  const { since, at, reason, status } = fields;
  if (since === undefined || at === undefined || reason === undefined) return undefined;
  const code = Number(status);
  return { since, at, reason, ...(status !== undefined && Number.isInteger(code) && { status: code }) };
}

/**
 * The last check of each target that has been checked (a target without setupCheck never is), with the failure
 * kept beside it while checks cannot run. A check kept by an earlier release may carry its failure inside.
 */
export async function readSetupChecks(
  redis: Redis,
  prefix: string,
  targets: readonly PortalTargetName[],
): Promise<Partial<Record<PortalTargetName, SetupCheck>>> {
  if (targets.length === 0) return {};
  const keys = REDIS_KEYS.push(prefix);
  const read = redis.pipeline().mget(...targets.map((t) => keys.setupCheck(t)));
  for (const t of targets) read.hgetall(keys.setupCheckFailure(t));
  const replies = (await read.exec()) ?? [];
  const failed = replies.find(([err]) => err);
  if (failed) throw failed[0];
  const raw = (replies[0]?.[1] as Array<string | null> | undefined) ?? [];
  const checks: Partial<Record<PortalTargetName, SetupCheck>> = {};
  targets.forEach((t, i) => {
    const failure = parseFailure((replies[i + 1]?.[1] as Record<string, string> | undefined) ?? {});
    const check =
      parseCheck(raw[i] ?? null) ?? (failure && { checkedAt: null, problems: [], consequence: '', fix: '' });
    if (check) checks[t] = failure ? { ...check, failure } : check;
  });
  return checks;
}

type Checkable = PortalTarget & { setupCheck: SetupCheckSpec };

interface CheckDeps {
  redis: Redis;
  prefix: string;
  log: Logger;
  onChecked: ((target: PortalTargetName, problems: number) => void) | undefined;
  onFailing: ((target: PortalTargetName, failing: boolean) => void) | undefined;
}

/**
 * One check of the target: logged (an error when it found problems, an info when it finds none after one did), and
 * kept. True when the check ran, false when it could not (kept as a failure).
 */
async function checkTargetSetup(target: Checkable, deps: CheckDeps): Promise<boolean> {
  const { redis, log } = deps;
  const key = REDIS_KEYS.push(deps.prefix).setupCheck(target.name);
  let findings: SetupFindings;
  try {
    findings = await target.setupCheck.run();
  } catch (err) {
    await keepFailure(target.name, err, deps);
    return false;
  }
  deps.onChecked?.(target.name, findings.problems.length);
  deps.onFailing?.(target.name, false);
  const check: SetupCheck = { checkedAt: new Date().toISOString(), ...findings };
  // The check and the end of a failure in one step: a failure another worker keeps meanwhile lands before or after.
  const replies =
    (await redis
      .multi()
      .set(key, JSON.stringify(check), 'GET')
      .del(REDIS_KEYS.push(deps.prefix).setupCheckFailure(target.name))
      .exec()) ?? [];
  const refused = replies.find(([err]) => err);
  if (refused) throw refused[0];
  const before = parseCheck((replies[0]?.[1] as string | null | undefined) ?? null);
  const cleared = replies[1]?.[1] === 1;
  if (findings.problems.length > 0)
    log.error(
      { target: target.name, problems: findings.problems },
      `${target.name} lacks what pushes write to: ${findings.consequence}; ${findings.fix}`,
    );
  else if (before?.problems.length)
    log.info({ target: target.name }, `${target.name} now has everything pushes write to`);
  if (cleared || (before && setupCheckFailing(before)))
    log.info({ target: target.name }, `${target.name} can be checked again`);
  return true;
}

/**
 * A check that could not run: logged, and kept in its own hash beside the last check that did, which it never
 * touches (no read and rewrite: another worker's check in between stays whole). `since` is written once per
 * run of failures; a check that runs deletes the hash.
 */
async function keepFailure(target: PortalTargetName, err: unknown, deps: CheckDeps): Promise<void> {
  deps.log.warn({ target, err: errorText(err) }, 'could not check the portal setup');
  deps.onFailing?.(target, true);
  const key = REDIS_KEYS.push(deps.prefix).setupCheckFailure(target);
  const at = new Date().toISOString();
  await deps.redis.multi().hsetnx(key, 'since', at).hdel(key, 'status').hset(key, failureFields(err, at)).exec();
}

/**
 * Checks each target that can tell now (in the background: a slow platform delays no start) and every
 * `everyMs` after (0: at start only); a target checked at start only (atStartOnly) is checked again every
 * `everyMs` only while its checks could not run. A check that fails (the platform unreachable, credentials
 * refused) is logged and kept as a failure beside the last check, which stays as it was. No check of a target
 * starts while its last one is running. Stop cancels the next checks; one under way finishes.
 */
export function watchTargetSetup(
  targets: readonly PortalTarget[],
  deps: {
    redis: Redis;
    prefix: string;
    logger: Logger;
    everyMs: number;
    /** After each check that ran: how many problems it found (the worker's metrics gauge). */
    onChecked?: (target: PortalTargetName, problems: number) => void;
    /** After each check: whether it could not run (the worker's metrics gauge). */
    onFailing?: (target: PortalTargetName, failing: boolean) => void;
  },
): { stop(): void } {
  const log = deps.logger.child({ module: 'setup-check' });
  const checkable = targets.filter((t): t is Checkable => t.setupCheck !== undefined);
  const checkDeps: CheckDeps = { ...deps, log, onChecked: deps.onChecked, onFailing: deps.onFailing };
  const ran = new Set<PortalTargetName>();
  const running = new Set<PortalTargetName>();
  const check = (t: Checkable) => {
    running.add(t.name);
    checkTargetSetup(t, checkDeps)
      .then((ok) => ok && ran.add(t.name))
      // Only Redis failing to keep a check is left here: it is logged, and the next check writes again.
      .catch((err: unknown) =>
        log.warn({ target: t.name, err: (err as Error).message }, 'could not keep the portal setup check'),
      )
      .finally(() => running.delete(t.name));
  };
  checkable.forEach(check);
  if (deps.everyMs <= 0 || checkable.length === 0) return { stop: () => undefined };
  const due = (t: Checkable) => !running.has(t.name) && !(t.setupCheck.atStartOnly && ran.has(t.name));
  const timer = setInterval(() => checkable.filter(due).forEach(check), deps.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
