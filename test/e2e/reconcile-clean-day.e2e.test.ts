/**
 * After a history delivered in full by webhook (the demo's scripted day), one reconcile pass reports
 * drift 0: a clean day must never fire the drift alert.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoEnvironment, type DemoEnvironment } from '../../src/demo/environment.js';
import { playScriptedDay } from '../../src/demo/script.js';
import { redisUrl } from '../support/redis.js';

let env: DemoEnvironment;

beforeAll(async () => {
  env = await startDemoEnvironment({ port: 0, redisUrl: redisUrl(), logLevel: 'silent' });
}, 120_000);
afterAll(async () => {
  await env?.close();
});

describe("reconcile after the demo's scripted day", () => {
  it('finds no drift in its first pass: every object was delivered by webhook', async () => {
    await playScriptedDay(env, () => undefined, { pauseMs: 0 });
    await env.settle();
    const report = await env.worker.reconciler.pass();
    expect(Object.values(report.sources).filter((s) => s.error)).toEqual([]);
    expect(report.driftIds).toEqual([]);
    expect(report.drift).toBe(0);
  }, 240_000);
});
