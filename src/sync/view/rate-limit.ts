/**
 * Per-user request budget of the customer's own view, a fixed one-minute
 * window counted in Redis so that every web process shares it: INCR and a
 * first-time PEXPIRE in one MULTI. Redis down → the caller answers 503.
 */
import type { Redis } from 'ioredis';

export type RateVerdict = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

const WINDOW_MS = 60_000;

export class ViewRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly perMinute: number,
  ) {}

  key(userId: string, windowStart: number): string {
    return `${this.prefix}:view:rate:${userId}:${windowStart}`;
  }

  async take(userId: string, now = Date.now()): Promise<RateVerdict> {
    const windowStart = now - (now % WINDOW_MS);
    const key = this.key(userId, windowStart);
    const replies = await this.redis.multi().incr(key).pexpire(key, WINDOW_MS + 1_000, 'NX').exec();
    const failed = replies?.find(([err]) => err);
    if (!replies || failed) throw failed?.[0] ?? new Error('rate limit transaction aborted');
    const count = Number(replies[0]?.[1]);
    if (count <= this.perMinute) return { allowed: true, remaining: this.perMinute - count };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((windowStart + WINDOW_MS - now) / 1000)) };
  }
}
