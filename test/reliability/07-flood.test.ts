/**
 * Flood: 20,000 signed webhook requests (Stripe, Zendesk, Salesforce Outbound
 * Messages) from 64 concurrent clients against one daemon process (web and
 * worker). Its resident memory, sampled throughout, stays bounded; /healthz,
 * sampled on a connection of its own, keeps answering quickly; and every event
 * the daemon accepted is applied to the records.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_SECRETS } from '../support/daemon.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { announce, scaled, seedFor } from './support/env.js';
import { spawnDaemon, stopDaemon, type DaemonProcess } from './support/processes.js';
import { appliedEventIds } from './support/records.js';
import { drainQueues } from './support/stack.js';
import { distinctTraffic } from './support/stream.js';
import { scenario } from './support/summary.js';
import { pool, WebhookClient, type Outcome } from './support/wire.js';

const REQUESTS = scaled(20_000, 1_000);
const CLIENTS = 64;
const CUSTOMERS = Math.max(50, Math.round(REQUESTS / 20));
const SEED = seedFor(707);
const MB = 1024 * 1024;
/** Bounds: generous for a 2-core CI machine, far below what a leak or an unbounded buffer would reach. */
const MAX_RSS = 768 * MB;
const MAX_RSS_GROWTH = 400 * MB;
const HEALTHZ_P99_MS = 1_000;
const s = scenario('07-flood', '20,000 webhook requests from 64 concurrent clients');

const prefix = uniquePrefix();
let daemon: DaemonProcess | undefined;
const clients: WebhookClient[] = [];
let redis: Redis | undefined;

afterAll(async () => {
  for (const c of clients) await c.close();
  await stopDaemon(daemon);
  redis?.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
  s.save();
});

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

describe('flood', () => {
  it('20,000 concurrent webhooks: bounded memory, a responsive /healthz, every accepted event applied', async () => {
    announce('07-flood', { requests: REQUESTS, clients: CLIENTS, customers: CUSTOMERS, seed: SEED });
    s.set({ seed: SEED });
    daemon = await spawnDaemon('flood', 'all', { REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, ...TEST_SECRETS });
    redis = new Redis(redisUrl());
    const events = new Queue('events', { connection: redis, prefix });
    const wires = distinctTraffic(REQUESTS, CUSTOMERS, SEED);
    const flood = new WebhookClient(daemon.url, { connections: CLIENTS });
    const probe = new WebhookClient(daemon.url, { connections: 1 });
    clients.push(flood, probe);

    const rssAtStart = daemon.rss();
    const rss: number[] = [rssAtStart];
    /** The V8 heap and off-heap memory from the daemon's own /metrics: RSS alone cannot tell a leak from memory not yet returned. */
    const heap = async () => {
      const text = (await probe.once({ path: '/metrics', body: '', headers: {} }, 'GET')).text;
      const metric = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
      return {
        used: metric('portal_sync_nodejs_heap_size_used_bytes'),
        external: metric('portal_sync_nodejs_external_memory_bytes'),
      };
    };
    const heapAtStart = await heap();
    const heapSamples = [heapAtStart];
    const healthz: Array<{ ms: number; status: number }> = [];
    let flooding = true;
    const sampling = (async () => {
      while (flooding) {
        rss.push(daemon!.rss());
        if (healthz.length % 10 === 0) heapSamples.push(await heap());
        const t = performance.now();
        const answer = await probe.once({ path: '/healthz', body: '', headers: {} }, 'GET');
        healthz.push({ ms: performance.now() - t, status: answer.status });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const started = performance.now();
    // No retries here: the flood is about what the daemon accepts; a refusal must be a documented answer.
    const outcomes: Outcome[] = await pool(wires, CLIENTS, (w) =>
      flood.send(w, { maxAttempts: 1, baseMs: 0, capMs: 0, deadlineMs: 0 }),
    );
    const floodSeconds = (performance.now() - started) / 1000;
    // Keep sampling while the worker catches up with the backlog.
    await drainQueues([events], 240_000, 'events queue');
    flooding = false;
    await sampling;
    const drainSeconds = (performance.now() - started) / 1000;
    const heapAfter = await heap();

    const accepted = wires.filter((_, i) => outcomes[i]!.status === 200).flatMap((w) => w.ids);
    const refused = outcomes.filter((o) => o.status !== 200);
    const applied = await appliedEventIds(redis, prefix);
    const lost = accepted.filter((id) => !applied.has(id));
    const failed = await events.getFailedCount();
    await events.close();
    const latencies = healthz.map((h) => h.ms);
    const figures = {
      floodSeconds: Number(floodSeconds.toFixed(1)),
      requestsPerSecond: Math.round(REQUESTS / floodSeconds),
      drainedAfterSeconds: Number(drainSeconds.toFixed(1)),
      rssStartMb: Math.round(rssAtStart / MB),
      rssMaxMb: Math.round(Math.max(...rss) / MB),
      rssEndMb: Math.round((rss.at(-1) ?? 0) / MB),
      heapUsedStartMb: Math.round(heapAtStart.used / MB),
      heapUsedMaxMb: Math.round(Math.max(...heapSamples.map((h) => h.used)) / MB),
      heapUsedAfterMb: Math.round(heapAfter.used / MB),
      externalMaxMb: Math.round(Math.max(...heapSamples.map((h) => h.external)) / MB),
      healthzSamples: healthz.length,
      healthzP50Ms: Math.round(percentile(latencies, 50)),
      healthzP99Ms: Math.round(percentile(latencies, 99)),
      healthzMaxMs: Math.round(Math.max(...latencies)),
      refusals: refused.reduce<Record<string, number>>(
        (n, o) => ({ ...n, [String(o.status)]: (n[String(o.status)] ?? 0) + 1 }),
        {},
      ),
    };
    s.set({
      eventsSent: REQUESTS,
      applied: accepted.length - lost.length,
      lost: lost.length,
      unexpected5xx: refused.filter((o) => o.status >= 500 && o.status !== 503).length,
    });
    for (const [k, v] of Object.entries(figures)) s.detail(k, v);

    expect(healthz.length).toBeGreaterThan(10);
    expect(healthz.filter((h) => h.status !== 200)).toEqual([]);
    expect(figures.healthzP99Ms).toBeLessThanOrEqual(HEALTHZ_P99_MS);
    expect(Math.max(...rss)).toBeLessThanOrEqual(MAX_RSS);
    expect(Math.max(...rss) - rssAtStart).toBeLessThanOrEqual(MAX_RSS_GROWTH);
    // Refusals may only be the documented "retry later" (in-flight duplicate) answer; there are no duplicates here.
    expect(refused.map((o) => o.statuses)).toEqual([]);
    expect(lost).toEqual([]);
    expect(failed).toBe(0);
    s.pass();
  }, 300_000);
});
