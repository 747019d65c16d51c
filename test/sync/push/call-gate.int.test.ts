/**
 * The call gate on the real Redis: at most `max` calls in any window AT THE PLATFORM'S DOOR, which
 * sees a call some varying time after the gate let it go; a call in flight holds its slot; a crashed
 * caller's slot comes back; a refusal says how long to wait.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallGate, targetCallGate } from '../../../src/sync/push/call-gate.js';
import { RateLimitedError } from '../../../src/sync/errors.js';
import { throughGate } from '../../../src/sync/push/portal-target.js';
import { busiestWindow } from '../../../src/demo/standins/common.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const prefix = uniquePrefix();
let redis: Redis;
let keys = 0;
const key = () => `${prefix}:rate:${keys++}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

/** A tiny PRNG, so that a failing run can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('call gate', () => {
  it("shares one target's budget between the processes of a deployment, and keeps other targets and deployments apart", async () => {
    const rate = { max: 2, perMs: 60_000 };
    const another = new Redis(redisUrl());
    const elsewhere = uniquePrefix();
    try {
      (await targetCallGate(redis, prefix, 'zendesk', rate)())?.();
      (await targetCallGate(another, prefix, 'zendesk', rate)())?.();
      await expect(targetCallGate(redis, prefix, 'zendesk', rate)()).rejects.toBeInstanceOf(RateLimitedError);
      (await targetCallGate(redis, prefix, 'salesforce', rate)())?.();
      (await targetCallGate(another, elsewhere, 'zendesk', rate)())?.();
    } finally {
      another.disconnect();
      await deleteByPrefix(redisUrl(), elsewhere);
    }
  });

  it('lets max calls through and refuses the next with the wait until a slot frees', async () => {
    const gate = createCallGate(redis, key(), { max: 3, perMs: 1_000 }, { inlineWaitMs: 0 });
    const started = Date.now();
    for (let i = 0; i < 3; i++) (await gate())?.();
    const refusal = await gate().catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RateLimitedError);
    // The first call's window (1,000 ms and the 25 ms margin) less the time gone since.
    expect((refusal as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(1_025 - (Date.now() - started) - 5);
    expect((refusal as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(1_025);
  });

  it('counts a call in flight until it is answered, and its window from then', async () => {
    const gate = createCallGate(redis, key(), { max: 2, perMs: 200 }, { inlineWaitMs: 0 });
    const first = await gate();
    (await gate())?.();
    await sleep(400); // the second call's window is over; the first is still in flight
    const third = await gate();
    const refusal = await gate().catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RateLimitedError);
    // Both slots are held by calls in flight: ask again soon, one usually ends within moments.
    expect((refusal as RateLimitedError).retryAfterMs).toBeLessThan(100);
    const answered = Date.now();
    first?.();
    await sleep(20);
    // The first call's window began when it was answered, not 420 ms ago when it was let through: still full.
    const full = await gate().catch((e: unknown) => e);
    expect(full).toBeInstanceOf(RateLimitedError);
    expect((full as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(225 - (Date.now() - answered) - 5);
    third?.();
  });

  it("gives a crashed caller's slot back once the longest call would have ended", async () => {
    const gate = createCallGate(redis, key(), { max: 1, perMs: 100 }, { inlineWaitMs: 0, holdMs: 300 });
    await gate(); // never released
    await expect(gate()).rejects.toBeInstanceOf(RateLimitedError);
    await sleep(450); // hold + window + margin
    await expect(gate()).resolves.toBeTypeOf('function');
  });

  it('waits out a short refusal in place instead of throwing', async () => {
    const gate = createCallGate(redis, key(), { max: 1, perMs: 100 }, { inlineWaitMs: 250 });
    (await gate())?.();
    const started = Date.now();
    (await gate())?.();
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('never lets the door see more than max calls in a window, whatever the delay between gate and door', async () => {
    const rate = { max: 10, perMs: 300 };
    const gate = createCallGate(redis, key(), rate, { inlineWaitMs: 1_000 });
    const next = random(42);
    const arrivals: number[] = [];
    const call = async () => {
      // Our event loop and the network take 0–120 ms to get the call to the platform, a different time
      // each call; the platform counts it on arrival and answers 0–30 ms later.
      await sleep(next() < 0.2 ? 80 + next() * 40 : next() * 10);
      arrivals.push(Date.now());
      await sleep(next() * 30);
    };
    // Eight workers, each making calls back to back for three seconds.
    const until = Date.now() + 3_000;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < until)
          await throughGate(gate, call).catch((e: unknown) =>
            e instanceof RateLimitedError ? sleep(e.retryAfterMs) : Promise.reject(e),
          );
      }),
    );
    expect(arrivals.length).toBeGreaterThan(40); // the gate let calls through (at most ~90 fit in 3 s)…
    expect(busiestWindow(arrivals, rate.perMs)).toBeLessThanOrEqual(rate.max); // …and never over it at the door
  });
});
