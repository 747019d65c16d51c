/** The retry rule every queue of the daemon shares: exponential, jittered, capped, Retry-After first. */
import type { MinimalJob } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { CAPPED_EXPONENTIAL, cappedBackoff, cappedBackoffStrategy, retryDelayMs } from '../../src/sync/backoff.js';
import { RetryableError } from '../../src/sync/errors.js';
import { pushJobOptions } from '../../src/sync/push/planner.js';

const job = (delay: number) => ({ opts: { backoff: cappedBackoff(delay) } }) as unknown as MinimalJob;

describe('retry delays', () => {
  it('double from the base, between half and all of the step, up to the cap', () => {
    const settings = { backoffMs: 1_000, maxBackoffMs: 60_000 };
    expect(retryDelayMs(1, settings, undefined, () => 1)).toBe(1_000);
    expect(retryDelayMs(4, settings, undefined, () => 1)).toBe(8_000);
    expect(retryDelayMs(4, settings, undefined, () => 0)).toBe(4_000);
    expect(retryDelayMs(30, settings, undefined, () => 1)).toBe(60_000);
    expect(retryDelayMs(1_000, settings, undefined, () => 1)).toBe(60_000);
  });

  it('wait what the platform asked for instead, up to a day', () => {
    expect(retryDelayMs(1, { backoffMs: 1_000, maxBackoffMs: 60_000 }, 120_000)).toBe(120_000);
    expect(retryDelayMs(1, { backoffMs: 1_000, maxBackoffMs: 60_000 }, 9 * 86_400_000)).toBe(86_400_000);
  });

  it("as BullMQ's strategy: from the job's base, capped, and a RetryableError's Retry-After wins", () => {
    const strategy = cappedBackoffStrategy(600_000, () => 1);
    expect(strategy(1, CAPPED_EXPONENTIAL, new Error('socket hang up'), job(2_000))).toBe(2_000);
    expect(strategy(5, CAPPED_EXPONENTIAL, new Error('socket hang up'), job(2_000))).toBe(32_000);
    expect(strategy(19, CAPPED_EXPONENTIAL, new Error('socket hang up'), job(2_000))).toBe(600_000);
    expect(
      strategy(2, CAPPED_EXPONENTIAL, new RetryableError('Zendesk 503', { retryAfterMs: 45_000 }), job(2_000)),
    ).toBe(45_000);
    expect(() => strategy(2, 'linear', new Error('x'), job(2_000))).toThrow(/unknown backoff type/);
  });

  it('give up on a push after about two hours of failures with the default settings, not weeks', () => {
    const { attempts, backoff } = pushJobOptions(2_000);
    const strategy = cappedBackoffStrategy(600_000, () => 1);
    let total = 0;
    for (let made = 1; made < attempts; made++)
      total += Number(strategy(made, backoff.type, new Error('503'), job(backoff.delay)));
    expect(total / 3_600_000).toBeGreaterThan(1.5);
    expect(total / 3_600_000).toBeLessThan(2.5);
  });
});
