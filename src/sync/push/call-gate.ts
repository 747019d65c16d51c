/**
 * A platform's API rate limit, enforced per CALL and across every worker:
 * a sliding-window log in Redis (one sorted set per target, Redis's own clock;
 * the scripts are src/sync/redis/scripts/call-gate-*.lua).
 * A call that would exceed the limit is not made; the gate throws a
 * RateLimitedError saying when a slot frees up, and the push worker waits
 * until then (within the push, or by pausing the target's queue:
 * pauseForRateLimit in push/target-call.ts). BullMQ's limiter counts jobs, and a push job
 * can make several calls, so it alone cannot keep a per-request limit.
 *
 * The platform counts a call when it ARRIVES, which is some time after our
 * gate let it go (our event loop, the network) — and that time varies from
 * call to call. Counting calls by when they were admitted therefore lets a
 * late call and an early one meet in one of the platform's windows, and a
 * loaded machine (the reliability suite measured one at the platform's door)
 * goes over the limit by a call or two. So a call holds its slot while it is
 * in flight and its window starts when it has been ANSWERED (or failed): the
 * platform saw it in between. Whatever the jitter, no window of the platform
 * can then hold more than `max` of our calls; the price is one call latency
 * per slot (a few ms against windows of a minute in production).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimitedError } from '../errors.js';
import { REDIS_KEYS } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';
import type { PortalTargetName } from '../target-names.js';
import type { CallGate } from './portal-target.js';

export type { CallGate } from './portal-target.js';

/** How much wider than the platform's window ours is: clock granularity (ms) between Redis and the platform. */
export const GATE_MARGIN_MS = 25;
/** The longest a call can be in flight (the connectors' client deadlines are 20 s). */
const HOLD_MS = 30_000;
/** When every slot is held by a call in flight, how soon to ask again: one usually ends within moments. */
const IN_FLIGHT_RETRY_MS = 20;

export interface CallGateOptions {
  marginMs?: number;
  /** A refusal whose wait is at most this is waited out in place instead of thrown. */
  inlineWaitMs?: number;
  holdMs?: number;
}

/** @param rate the platform's limit: at most `max` calls in any `perMs` at its door. */
export function createCallGate(
  redis: Redis,
  key: string,
  rate: { max: number; perMs: number },
  opts: CallGateOptions = {},
): CallGate {
  const { marginMs = GATE_MARGIN_MS, inlineWaitMs = 250, holdMs = HOLD_MS } = opts;
  const window = rate.perMs + marginMs;
  return async () => {
    // A slot that frees within moments is waited for here: pausing the whole queue costs more than the wait.
    for (let waited = 0; ;) {
      const slot = randomUUID();
      const wait = Number(
        await runScript(redis, 'call-gate-take', [key], [window, rate.max, slot, holdMs, IN_FLIGHT_RETRY_MS]),
      );
      if (wait <= 0) {
        // A release that cannot reach Redis leaves the slot held until `holdMs`: slower, never over the limit.
        return () => void runScript(redis, 'call-gate-release', [key], [slot]).catch(() => undefined);
      }
      if (waited + wait > inlineWaitMs)
        throw new RateLimitedError(`configured rate of ${rate.max} calls per ${rate.perMs} ms reached`, wait, {
          local: true,
        });
      await new Promise((r) => setTimeout(r, wait));
      waited += wait;
    }
  };
}

/**
 * The gate of one portal target's API budget under `prefix`: every worker's pushes, bulk calls and (Zendesk)
 * resync reads count in the same window, whichever process makes them.
 */
export function targetCallGate(
  redis: Redis,
  prefix: string,
  target: PortalTargetName,
  rate: { max: number; perMs: number },
): CallGate {
  return createCallGate(redis, REDIS_KEYS.callGate(prefix, target), rate);
}
