/**
 * The worker's portal setup check on the real Redis, with targets whose findings a test sets: a target is checked
 * at start and every `everyMs` unless it is checked at start only; what a check found is kept for `status` and
 * logged; a check that fails keeps the last one, with since when and why it could not check, until a check
 * succeeds; a kept value that is not a check reads as never checked; stop ends the repeats.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import type { PortalTarget, SetupFindings } from '../../../src/sync/push/portal-target.js';
import {
  readSetupChecks,
  setupCheckFailing,
  watchTargetSetup,
  type SetupCheck,
} from '../../../src/sync/push/setup-check.js';
import { REDIS_KEYS } from '../../../src/sync/redis/keys.js';
import type { PortalTargetName } from '../../../src/sync/target-names.js';
import { redisUnderPrefix } from '../../support/redis.js';

const { prefix, redis } = redisUnderPrefix();

/** A target whose check answers `findings()` (or throws what it throws), counting the runs it started. */
function targetChecking(
  name: PortalTargetName,
  findings: () => SetupFindings | Promise<SetupFindings>,
  atStartOnly = false,
): PortalTarget & { runs: number } {
  const target = {
    name,
    runs: 0,
    push: async () => ({ calls: 0, wrote: [] }),
    setupCheck: {
      atStartOnly,
      run: async () => {
        target.runs++;
        return findings();
      },
    },
  };
  return target;
}

/** A logger whose lines a test reads (as JSON objects). */
function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

const found = (problems: string[]): SetupFindings => ({
  problems,
  consequence: 'what pushes write there is lost',
  fix: '`portal-sync setup zendesk` creates what is missing',
});
/** Zendesk's kept check once `ok` holds of it (within 5 s; else the last one read, for the assertions to name). */
async function keptWhen(ok: (c: SetupCheck) => boolean): Promise<SetupCheck> {
  const end = Date.now() + 5_000;
  for (;;) {
    const kept = (await readSetupChecks(redis(), prefix, ['zendesk'])).zendesk;
    if ((kept && ok(kept)) || Date.now() > end) return kept!;
    await new Promise((r) => setTimeout(r, 10));
  }
}
const until = async (ok: () => boolean) => {
  const end = Date.now() + 5_000;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

describe('the portal setup check', () => {
  it('checks every target at start, repeats only those not checked at start only, and stops repeating on stop', async () => {
    const zendesk = targetChecking('zendesk', () => found([]));
    const salesforce = targetChecking('salesforce', () => found([]), true);
    const watch = watchTargetSetup([zendesk, salesforce], {
      redis: redis(),
      prefix,
      logger: createLogger('silent'),
      everyMs: 50,
    });
    await until(() => zendesk.runs >= 3);
    watch.stop();
    const stoppedAt = zendesk.runs;
    await new Promise((r) => setTimeout(r, 200));

    expect(salesforce.runs).toBe(1);
    expect(zendesk.runs).toBeGreaterThanOrEqual(3);
    expect(zendesk.runs).toBeLessThanOrEqual(stoppedAt + 1); // at most the one under way at stop
    expect(Object.keys(await readSetupChecks(redis(), prefix, ['zendesk', 'salesforce'])).sort()).toEqual([
      'salesforce',
      'zendesk',
    ]);
  });

  it('checks a target checked at start only again while its checks fail, and no more once one ran', async () => {
    let failures = 2;
    const salesforce = targetChecking(
      'salesforce',
      () => {
        if (failures-- > 0) throw new Error('connect ETIMEDOUT');
        return found([]);
      },
      true,
    );
    const watch = watchTargetSetup([salesforce], {
      redis: redis(),
      prefix,
      logger: createLogger('silent'),
      everyMs: 50,
    });
    await until(() => salesforce.runs >= 3);
    await new Promise((r) => setTimeout(r, 300));
    watch.stop();

    expect(salesforce.runs).toBe(3);
    const kept = (await readSetupChecks(redis(), prefix, ['salesforce'])).salesforce!;
    expect(kept.failure).toBeUndefined();
    expect(setupCheckFailing(kept)).toBe(false);
  });

  it('starts no check of a target while its last one is still running', async () => {
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const zendesk = targetChecking('zendesk', () => slow.then(() => found([])));
    const watch = watchTargetSetup([zendesk], { redis: redis(), prefix, logger: createLogger('silent'), everyMs: 20 });
    await new Promise((r) => setTimeout(r, 200));
    release();
    await until(() => zendesk.runs >= 2);
    watch.stop();

    // Ten intervals passed while the first check hung: they started nothing; the first one after it did.
    expect(zendesk.runs).toBeLessThanOrEqual(3);
  });

  it('keeps what a check found for status, logs the problems, and logs when a later check finds none', async () => {
    const MISSING = 'organization field portal_open_invoices (integer) is missing';
    let problems = [MISSING];
    const zendesk = targetChecking('zendesk', () => found(problems));
    const { logger, lines } = capturedLogger();
    const counted: number[] = [];
    const watch = watchTargetSetup([zendesk], {
      redis: redis(),
      prefix,
      logger,
      everyMs: 50,
      onChecked: (_t, n) => counted.push(n),
    });
    await until(() => counted.length >= 1);
    const kept = (await readSetupChecks(redis(), prefix, ['zendesk'])).zendesk;
    problems = [];
    await until(() => lines.some((l) => l['msg'] === 'zendesk now has everything pushes write to'));
    watch.stop();

    expect(kept).toEqual({ checkedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), ...found([MISSING]) });
    expect(lines.find((l) => l['level'] === 'error')).toMatchObject({
      target: 'zendesk',
      problems: [MISSING],
      msg: 'zendesk lacks what pushes write to: what pushes write there is lost; `portal-sync setup zendesk` creates what is missing',
    });
    expect(counted[0]).toBe(1);
    expect(counted.at(-1)).toBe(0);
    expect((await readSetupChecks(redis(), prefix, ['zendesk'])).zendesk?.problems).toEqual([]);
  });

  it('keeps the last check when a check fails, keeps since when and why it could not check, and a later check clears that', async () => {
    let fail = false;
    const zendesk = targetChecking('zendesk', () => {
      if (fail) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { status: undefined });
      return found(['user field billing_plan (text) is missing']);
    });
    const { logger, lines } = capturedLogger();
    const failing: boolean[] = [];
    const watch = watchTargetSetup([zendesk], {
      redis: redis(),
      prefix,
      logger,
      everyMs: 50,
      onFailing: (_t, f) => failing.push(f),
    });
    await until(() => zendesk.runs >= 1 && lines.length >= 1);
    const kept = (await readSetupChecks(redis(), prefix, ['zendesk'])).zendesk!;
    fail = true;
    // Two failures kept (the log line comes before the write): one `since`, a later `at`.
    const whileFailing = await keptWhen((c) => c.failure !== undefined && c.failure.at > c.failure.since);
    fail = false;
    await until(() => lines.some((l) => l['msg'] === 'zendesk can be checked again'));
    watch.stop();
    const after = (await readSetupChecks(redis(), prefix, ['zendesk'])).zendesk!;

    expect(lines.find((l) => l['msg'] === 'could not check the portal setup')).toMatchObject({
      level: 'warn',
      target: 'zendesk',
      err: 'connect ECONNREFUSED 127.0.0.1:1',
    });
    expect(kept.failure).toBeUndefined();
    expect(whileFailing).toEqual({
      ...kept,
      failure: { since: expect.any(String), at: expect.any(String), reason: 'connect ECONNREFUSED 127.0.0.1:1' },
    });
    expect(whileFailing.failure!.since > kept.checkedAt!).toBe(true);
    expect(setupCheckFailing(whileFailing)).toBe(true);
    expect(after.failure).toBeUndefined();
    expect(after.checkedAt! > whileFailing.failure!.at).toBe(true);
    expect(setupCheckFailing(after)).toBe(false);
    expect(failing[0]).toBe(false);
    expect(failing).toContain(true);
    expect(failing.at(-1)).toBe(false);
  });

  it('keeps a target whose checks have all failed as never checked, with the HTTP status and why', async () => {
    const zendesk = targetChecking('zendesk', () => {
      throw Object.assign(new Error("Zendesk 401: Couldn't authenticate you"), { status: 401 });
    });
    await redis().del(REDIS_KEYS.push(prefix).setupCheck('zendesk'));
    const watch = watchTargetSetup([zendesk], { redis: redis(), prefix, logger: createLogger('silent'), everyMs: 0 });
    await until(() => zendesk.runs >= 1);
    let kept = (await readSetupChecks(redis(), prefix, ['zendesk'])).zendesk;
    for (let i = 0; i < 100 && kept === undefined; i++) {
      await new Promise((r) => setTimeout(r, 10));
      kept = (await readSetupChecks(redis(), prefix, ['zendesk'])).zendesk;
    }
    watch.stop();

    expect(kept).toEqual({
      checkedAt: null,
      problems: [],
      consequence: '',
      fix: '',
      failure: {
        since: expect.any(String),
        at: expect.any(String),
        reason: "Zendesk 401: Couldn't authenticate you",
        status: 401,
      },
    });
    expect(setupCheckFailing(kept!)).toBe(true);
  });

  it('reads a failure older than the last check (another worker checked since) as not failing', () => {
    expect(
      setupCheckFailing({
        checkedAt: '2026-12-06T10:00:01.000Z',
        problems: [],
        consequence: 'c',
        fix: 'f',
        failure: { since: '2026-12-06T09:00:00.000Z', at: '2026-12-06T10:00:00.000Z', reason: 'timeout' },
      }),
    ).toBe(false);
  });

  it("keeps a failure without rewriting the check: another worker's check stored meanwhile stays whole", async () => {
    await redis().del(
      REDIS_KEYS.push(prefix).setupCheck('zendesk'),
      REDIS_KEYS.push(prefix).setupCheckFailure('zendesk'),
    );
    // Worker B's check, stored after worker A's failing check has begun and before A writes anything.
    let bChecked: Promise<unknown> | undefined;
    const checkB = () =>
      (bChecked ??= (() => {
        const b = targetChecking('zendesk', () => found(['field billing_status']));
        const watch = watchTargetSetup([b], { redis: redis(), prefix, logger: createLogger('silent'), everyMs: 0 });
        return keptWhen((c) => c.problems.length === 1).finally(() => watch.stop());
      })());
    const a = redis().duplicate();
    const writesAfterB = new Proxy(a, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function' || (name !== 'set' && name !== 'multi')) return value;
        const call = (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args);
        if (name === 'set') return async (...args: unknown[]) => (await checkB(), call(...args));
        return (...args: unknown[]) => {
          const tx = call(...args) as { exec: (...a: unknown[]) => Promise<unknown> };
          const exec = tx.exec.bind(tx);
          tx.exec = async (...a: unknown[]) => (await checkB(), exec(...a));
          return tx;
        };
      },
    });
    const failing = targetChecking('zendesk', () => {
      throw new Error('connect ETIMEDOUT');
    });
    const watch = watchTargetSetup([failing], {
      redis: writesAfterB,
      prefix,
      logger: createLogger('silent'),
      everyMs: 0,
    });
    try {
      await until(() => failing.runs >= 1);
      const kept = await keptWhen((c) => c.failure !== undefined);
      await checkB();
      const after = (await readSetupChecks(redis(), prefix, ['zendesk'])).zendesk!;
      console.log('AFTER', JSON.stringify(after), JSON.stringify(kept));
      expect(after.problems).toEqual(['field billing_status']);
      expect(after.checkedAt).not.toBeNull();
      expect(kept.failure?.reason).toBe('connect ETIMEDOUT');
      // A's failure began before B's check ran: B's later check is what holds.
      expect(setupCheckFailing(after)).toBe(false);
    } finally {
      watch.stop();
      a.disconnect();
    }
  });

  it('reads a kept value that is not a check (another shape, not JSON) as never checked', async () => {
    // No failure kept beside them (the tests above leave one for zendesk): the values alone decide.
    await redis().del(...(['zendesk', 'salesforce'] as const).map((t) => REDIS_KEYS.push(prefix).setupCheckFailure(t)));
    await redis().set(REDIS_KEYS.push(prefix).setupCheck('zendesk'), '{"checkedAt":"2026-12-06T00:00:00Z"}');
    await redis().set(REDIS_KEYS.push(prefix).setupCheck('salesforce'), 'not json');

    expect(await readSetupChecks(redis(), prefix, ['zendesk', 'salesforce'])).toEqual({});
  });
});
