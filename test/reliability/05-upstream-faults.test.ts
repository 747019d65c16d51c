/**
 * Upstream faults: with both portal targets on, 30% of the calls to the
 * Zendesk and Salesforce stand-ins fail — 429 with Retry-After, 500, 503 (in
 * each platform's own error shape), reset sockets, and calls never answered
 * (client timeouts). Pushes back off and retry, so the portals end exactly as
 * in a run without faults, nothing is dead-lettered, and the configured rate
 * is never exceeded — Zendesk's in API calls (arrival times recorded at the
 * platform's door, by a proxy in a process of its own), Salesforce's in push
 * jobs (its documented unit; BullMQ's limiter windows replayed from the
 * queue's event stream), at most `max` in any of the limiter's windows
 * however the rate limits fall. Only one Salesforce 429 is injected (its 1 s
 * Retry-After is waited out within the push; a REQUEST_LIMIT_EXCEEDED 403
 * would pause the queue 60 s).
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import type { ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { TEST_SECRETS, testConfig } from '../support/daemon.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { announce, scaled, seedFor } from './support/env.js';
import { busiestWindow, salesforceFaultBodies, ZENDESK_FAULT_BODIES, type ProxiedCall } from './support/fault-proxy.js';
import { jobStarts, limiterPeak } from '../support/limiter.js';
import { startFaultProxyProcess } from './support/fault-proxy-process.js';
import { salesforceDuplicates, salesforcePortal, zendeskDuplicates, zendeskPortal } from './support/portal.js';
import { drainQueues } from './support/stack.js';
import { configOverride, spawnDaemon, stopDaemon } from './support/processes.js';
import { startSalesforce, startZendesk } from './support/standins.js';
import { customer, portalTraffic } from './support/stream.js';
import { scenario } from './support/summary.js';
import { pool, WebhookClient } from './support/wire.js';

const CUSTOMERS = scaled(20, 6);
const PER_CUSTOMER = 20;
const SEED = seedFor(505);
const FAULT_RATE = 0.3;
const RATE = { max: 30, perMs: 1_000 };
const s = scenario('05-upstream-faults', 'portal APIs fail 30% of calls (429/500/503/reset/timeout)');
const cleanup: Array<() => Promise<unknown>> = [];
const SF = testConfig().targets.salesforce;

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  s.save();
});

const zendeskBodies = ZENDESK_FAULT_BODIES;
const salesforceBodies = salesforceFaultBodies({
  message: 'TotalRequests Limit exceeded.',
  errorCode: 'REQUEST_LIMIT_EXCEEDED',
});

interface Run {
  zd: ZendeskStandIn;
  sf: SalesforceStandIn;
  zdCalls: ProxiedCall[];
  sfCalls: ProxiedCall[];
  prefix: string;
  /** When each Salesforce push job became active (BullMQ's event stream, Redis time). */
  salesforceStarts: number[];
  failedPushes: number;
  attempts: Record<string, Record<number, number>>;
  seconds: number;
}

async function run(name: string, faults: boolean): Promise<Run> {
  const started = Date.now();
  const base = Array.from({ length: CUSTOMERS }, (_, n) => customer(n));
  const { sf, customers } = await startSalesforce(base);
  cleanup.push(() => sf.close());
  const zd = await startZendesk(customers);
  cleanup.push(() => zd.close());
  const rate = faults ? FAULT_RATE : 0;
  // Hung calls cost the client's whole deadline (20 s) each, and a Salesforce rate limit pauses its whole queue:
  // a few of each prove the point.
  const zdProxy = await startFaultProxyProcess({
    upstream: zd.origin,
    rate,
    kinds: ['429', '500', '503', 'reset', 'timeout'],
    seed: SEED,
    caps: { timeout: 2 },
    bodies: zendeskBodies,
  });
  const sfProxy = await startFaultProxyProcess({
    upstream: sf.instanceUrl,
    rate,
    kinds: ['429', '500', '503', 'reset', 'timeout'],
    seed: SEED + 1,
    caps: { timeout: 2, '429': 1 },
    bodies: salesforceBodies,
  });
  cleanup.push(
    () => zdProxy.close(),
    () => sfProxy.close(),
  );
  const prefix = uniquePrefix();
  cleanup.push(() => deleteByPrefix(redisUrl(), prefix));
  // The daemon in a process of its own, as deployed: the platforms' doors (the proxies) time calls apart from it.
  const daemon = await spawnDaemon(name, 'all', {
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    ...TEST_SECRETS,
    PORTAL_TARGET: 'zendesk,salesforce',
    ZENDESK_BASE_URL: `${zdProxy.origin}/api/v2`,
    ZENDESK_EMAIL: zd.credentials.email,
    ZENDESK_API_TOKEN: zd.credentials.token,
    SALESFORCE_INSTANCE_URL: sfProxy.origin,
    SALESFORCE_ACCESS_TOKEN: sf.accessToken,
    // The smallest first backoff the config allows: BullMQ's exponential backoff has no cap, so a push that fails
    // many times in a row (likely when 30% of calls fail) would otherwise wait minutes before its last tries.
    PORTAL_SYNC_CONFIG: configOverride(name, {
      push: { debounceMs: 300, backoffMs: 10 },
      targets: { zendesk: { rate: RATE }, salesforce: { rate: RATE } },
    }),
  });
  cleanup.push(() => stopDaemon(daemon));
  const client = new WebhookClient(daemon.url, { connections: 8 });
  cleanup.push(() => client.close());
  const outcomes = await pool(portalTraffic(customers, PER_CUSTOMER, SEED), 8, (w) => client.send(w));
  expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
  const redis = new Redis(redisUrl());
  cleanup.push(async () => redis.disconnect());
  const queues = ['events', 'push-zendesk', 'push-salesforce'].map((q) => new Queue(q, { connection: redis, prefix }));
  await drainQueues(queues, 300_000, `${name} queues`);
  const attempts: Run['attempts'] = {};
  for (const q of queues.slice(1)) {
    const jobs = await q.getJobs(['completed'], 0, 5_000);
    attempts[q.name] = jobs.reduce<Record<number, number>>(
      (n, j) => ({ ...n, [j.attemptsMade + 1]: (n[j.attemptsMade + 1] ?? 0) + 1 }),
      {},
    );
  }
  const failedPushes = (await queues[1]!.getFailedCount()) + (await queues[2]!.getFailedCount());
  const salesforceStarts = await jobStarts(redis, queues[2]!);
  await Promise.all(queues.map((q) => q.close()));
  await stopDaemon(daemon);
  const [zdCalls, sfCalls] = await Promise.all([zdProxy.calls(), sfProxy.calls()]);
  return {
    zd,
    sf,
    zdCalls,
    sfCalls,
    prefix,
    salesforceStarts,
    failedPushes,
    attempts,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The reconciler's Zendesk export reads: they share the account's one API budget with the pushes. */
const exportReads = (calls: ProxiedCall[]) => calls.filter((c) => c.path.startsWith('/api/v2/incremental/')).length;

const faultCounts = (calls: ProxiedCall[]) =>
  calls.reduce<Record<string, number>>((n, c) => ({ ...n, [c.fault ?? 'none']: (n[c.fault ?? 'none'] ?? 0) + 1 }), {});

describe('upstream faults', () => {
  it('30% failing portal calls: the same portal state as without faults, nothing dead-lettered, the configured rate never exceeded', async () => {
    announce('05-upstream-faults', {
      customers: CUSTOMERS,
      events: CUSTOMERS * PER_CUSTOMER,
      faultRate: FAULT_RATE,
      rate: `${RATE.max}/${RATE.perMs}ms`,
      seed: SEED,
    });
    s.set({ seed: SEED });
    // One after the other: two daemons at once would share the CPUs and blur the timing of the calls.
    const clean = await run('faults-clean', false);
    const faulty = await run('faults-injected', true);
    const objects = [SF.invoice.object, SF.ticket.object];
    // Zendesk's limit counts API calls, pushes and the reconciler's reads alike (every call passes the gate);
    // Salesforce's counts push jobs (BullMQ's limiter).
    const at = (calls: ProxiedCall[]) => calls.map((c) => c.at);
    const windows = {
      zendeskCalls: busiestWindow(at(faulty.zdCalls), RATE.perMs),
      zendeskCallsClean: busiestWindow(at(clean.zdCalls), RATE.perMs),
      salesforcePushes: limiterPeak(faulty.salesforceStarts, RATE.perMs),
      salesforcePushesClean: limiterPeak(clean.salesforceStarts, RATE.perMs),
      salesforceCalls: busiestWindow(at(faulty.sfCalls), RATE.perMs),
    };
    const duplicates =
      zendeskDuplicates(faulty.zd) +
      salesforceDuplicates(faulty.sf, SF.invoice.object, SF.invoice.externalId) +
      salesforceDuplicates(faulty.sf, SF.ticket.object, SF.ticket.externalId);
    s.set({
      eventsSent: CUSTOMERS * PER_CUSTOMER,
      duplicatedOnPortal: duplicates,
      portalCalls: faulty.zdCalls.length + faulty.sfCalls.length,
    });
    s.detail('faults', { zendesk: faultCounts(faulty.zdCalls), salesforce: faultCounts(faulty.sfCalls) });
    s.detail('callsWithoutFaults', { zendesk: clean.zdCalls.length, salesforce: clean.sfCalls.length });
    s.detail('busiestWindow', windows);
    s.detail('reconcilerExportReads', { clean: exportReads(clean.zdCalls), faulty: exportReads(faulty.zdCalls) });
    s.detail('seconds', { clean: clean.seconds, faulty: faulty.seconds });
    s.detail('pushTries', faulty.attempts);

    expect(faultCounts(faulty.zdCalls)['429']).toBeGreaterThan(0);
    expect(faultCounts(faulty.sfCalls)['timeout']).toBeGreaterThan(0);
    expect(clean.failedPushes).toBe(0);
    expect(faulty.failedPushes).toBe(0);
    expect(zendeskPortal(faulty.zd)).toEqual(zendeskPortal(clean.zd));
    expect(salesforcePortal(faulty.sf, objects)).toEqual(salesforcePortal(clean.sf, objects));
    expect(zendeskPortal(clean.zd).invoices.length).toBeGreaterThan(CUSTOMERS);
    expect(duplicates).toBe(0);
    expect(faulty.salesforceStarts.length).toBeGreaterThan(0);
    expect(windows.zendeskCalls).toBeLessThanOrEqual(RATE.max);
    expect(windows.zendeskCallsClean).toBeLessThanOrEqual(RATE.max);
    // A rate limit shorter than what is left of the limiter's window is waited out within the push, never by a pause
    // that would replace the window's job count (pauseForRateLimit): the limiter's bound holds exactly. The replay
    // places each window's end within the few ms the stream's clock can differ from the counter's (limiterPeak).
    expect(windows.salesforcePushes).toBeLessThanOrEqual(RATE.max);
    expect(windows.salesforcePushesClean).toBeLessThanOrEqual(RATE.max);
    s.set({ applied: CUSTOMERS * PER_CUSTOMER, lost: 0 });
    s.pass();
  }, 420_000);
});
