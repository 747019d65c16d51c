/**
 * Per-user request budget of the customer's own view, a fixed one-minute
 * window counted in Redis so that every web process shares it. The count is
 * taken by the view's read script (read.ts: INCR, and PEXPIRE NX, in the same
 * atomic step as the reads); this module names the key and judges the count.
 * Redis down → the caller answers 503.
 */
import { REDIS_KEYS } from '../redis/keys.js';

/** Refused: how long until the window ends, in ms (the edge writes it as Retry-After seconds). */
export type RateVerdict = { allowed: true; remaining: number } | { allowed: false; retryAfterMs: number };

const RATE_WINDOW_MS = 60_000;
/** How long a window's counter outlives the window (clock differences between web processes). */
export const RATE_KEY_TTL_MS = RATE_WINDOW_MS + 1_000;

export class ViewRateLimiter {
  constructor(
    private readonly prefix: string,
    readonly perMinute: number,
  ) {}

  key(userId: string, windowStart: number): string {
    return REDIS_KEYS.view(this.prefix).rate(userId, windowStart);
  }

  windowStart(now: number): number {
    return now - (now % RATE_WINDOW_MS);
  }

  /** The verdict on the `count`-th request of the window starting at `windowStart`. */
  verdict(count: number, windowStart: number, now: number): RateVerdict {
    if (count <= this.perMinute) return { allowed: true, remaining: this.perMinute - count };
    return { allowed: false, retryAfterMs: Math.max(0, windowStart + RATE_WINDOW_MS - now) };
  }
}
