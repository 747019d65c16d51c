/**
 * A platform's API rate limit, enforced per CALL and across every worker:
 * a sliding-window log in Redis (one sorted set per target, Redis's own clock).
 * A call that would exceed the limit is not made; the gate throws a
 * RateLimitedError saying when a slot frees up, and the push worker pauses
 * that target's queue until then. BullMQ's limiter counts jobs, and a push job
 * can make several calls, so it alone cannot keep a per-request limit.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimitedError } from './portal-target.js';

export type CallGate = () => Promise<void>;

// Returns 0 when a slot was taken, else the ms until the oldest call leaves the window.
const SLIDING_LOG = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

/**
 * @param rate the platform's limit; the window is widened by `marginMs` so that network jitter
 *   never lands two windows' worth of calls in one of the platform's own windows.
 */
/** How much wider than the platform's window ours is, so network jitter never lands a call in the wrong window. */
export const GATE_MARGIN_MS = 25;

export function createCallGate(redis: Redis, key: string, rate: { max: number; perMs: number }, marginMs = GATE_MARGIN_MS, inlineWaitMs = 250): CallGate {
  const window = rate.perMs + marginMs;
  return async () => {
    // A slot that frees within moments is waited for here: pausing the whole queue costs more than the wait.
    for (let waited = 0; ; ) {
      const wait = Number(await redis.eval(SLIDING_LOG, 1, key, window, rate.max, randomUUID()));
      if (wait <= 0) return;
      if (waited + wait > inlineWaitMs) throw new RateLimitedError(`configured rate of ${rate.max} calls per ${rate.perMs} ms reached`, wait);
      await new Promise((r) => setTimeout(r, wait));
      waited += wait;
    }
  };
}
