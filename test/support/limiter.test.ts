/** The replay of BullMQ's limiter windows that reliability scenario 05 and the push worker's tests judge the job rate by. */
import { describe, expect, it } from 'vitest';
import { limiterPeak } from './limiter.js';

const burst = (from: number, count: number, gapMs: number) => Array.from({ length: count }, (_, k) => from + k * gapMs);

describe('limiterPeak', () => {
  it('counts the jobs of a window reopened inside the old one (a pause that replaced its count) as one window', () => {
    expect(limiterPeak([...burst(0, 30, 10), ...burst(400, 30, 10)], 1_000)).toBe(60);
    // Reopened 20 ms before its end: more than the clocks' few milliseconds explain (30 + the 15 before 995 ms).
    expect(limiterPeak([...burst(0, 30, 1), ...burst(980, 30, 1)], 1_000)).toBe(45);
  });

  it('puts a job within the clocks’ few milliseconds of a window’s end in that window, not in the next full one', () => {
    const times = [...burst(0, 10, 10), 997, 1_001, ...burst(1_010, 30, 5)];
    expect(limiterPeak(times, 1_000)).toBe(30);
    expect(limiterPeak(times, 1_000, 0)).toBe(31);
  });

  it('counts full windows one after another as full, and nothing for no jobs', () => {
    expect(limiterPeak([...burst(0, 30, 3), ...burst(1_001, 30, 3), ...burst(2_003, 30, 3)], 1_000)).toBe(30);
    expect(limiterPeak([], 1_000)).toBe(0);
  });
});
