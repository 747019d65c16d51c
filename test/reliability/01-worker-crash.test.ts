/**
 * Worker crash: during 10,000 events (Stripe, Salesforce CDC and Outbound
 * Messages, Zendesk), the `start --role worker` process is SIGKILLed twice and
 * started again — and, before that, a worker dies right after storing an
 * event's change but before planning its push. BullMQ's stalled-job recovery
 * hands the killed jobs to the new worker; the merge is idempotent, a re-run
 * plans its pushes again, and pushes are upserts, so the records and the
 * Zendesk portal end exactly as in a run without crashes, no event is lost and
 * nothing is duplicated on the portal.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { PUSH_QUEUES } from '../../src/sync/push/planner.js';
import { SourceEventSchema, jobIdFor } from '../../src/sync/events/source-event.js';
import { RecordStore } from '../../src/sync/events/store.js';
import { stripePayload } from '../../bench/lib/fixtures.js';
import { redisUrl, deleteByPrefix, uniquePrefix } from '../support/redis.js';
import { announce, scaled, seedFor } from './support/env.js';
import { completedEvents, eventHolders, jobFates } from './support/jobs.js';
import { zendeskDuplicates, zendeskPortal } from './support/portal.js';
import { configOverride, spawnDaemon, stopDaemon, type DaemonProcess } from './support/processes.js';
import { expectSameRecords, snapshotRecords, type RecordsSnapshot } from './support/records.js';
import { drainQueues, startStack } from './support/stack.js';
import { startZendesk } from './support/standins.js';
import { customer, customerTraffic } from './support/stream.js';
import { scenario } from './support/summary.js';
import { pool, WebhookClient, type Wire } from './support/wire.js';

const EVENTS = scaled(10_000, 500);
const CUSTOMERS = Math.max(10, Math.round(EVENTS / 50));
const SEED = seedFor(101);
// Early, so that the recovery of the second crash's jobs (a lock expiry and two stalled checks, ~60 s) overlaps the rest of the work.
const KILL_AT = [0.15, 0.35];
const s = scenario('01-worker-crash', 'worker SIGKILLed twice during the events, restarted');
const cleanup: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  s.save();
});

/**
 * A worker that dies right after storing an event's change, before it planned the push: it takes the job as a
 * worker does (moved to active, locked), applies the event to the store, and is gone — no completion, no push.
 * BullMQ's stalled-job recovery hands the job to the next worker once the lock has expired.
 */
async function dieAfterStoring(prefix: string, jobId: string): Promise<void> {
  const connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const doomed = new Worker('events', null, { connection, prefix, autorun: false, lockDuration: 2_000 });
  const job = await doomed.getNextJob('a-worker-about-to-die');
  expect(job?.id).toBe(jobId);
  const store = new RecordStore(connection, prefix);
  expect((await store.apply(SourceEventSchema.parse(job!.data))).changed).toBe(true);
  store.close();
  await doomed.disconnect().catch(() => undefined);
  connection.disconnect();
}

interface Run {
  records: RecordsSnapshot;
  portal: ReturnType<typeof zendeskPortal>;
  duplicates: number;
  writes: number;
  accepted: Set<string>;
  lost: string[];
  trimmed: number;
  failed: string[];
  failedPushes: number;
  kills: Array<{ at: number; activeEvents: number; activePushes: number }>;
  seconds: number;
  /** Events that went in batch jobs (src/sync/events/batch-job.ts) rather than a job of their own. */
  batched: number;
}

async function run(name: string, crash: boolean): Promise<Run> {
  const started = Date.now();
  const customers = Array.from({ length: CUSTOMERS }, (_, n) => customer(n));
  const wires = customerTraffic(EVENTS, CUSTOMERS, SEED, 9);
  // One more customer with a single event: the one the first crash catches between "stored" and "push planned".
  const last = customer(CUSTOMERS);
  const lastEvent = stripePayload('customer.created', last, 0, `evt_crash_${SEED}_last`);
  const lastWire: Wire = {
    kind: 'stripe',
    body: JSON.stringify(lastEvent),
    ids: [jobIdFor('stripe', String(lastEvent['id']))],
  };
  const zd: ZendeskStandIn = await startZendesk([...customers, last]);
  cleanup.push(() => zd.close());
  const prefix = uniquePrefix();
  const env = {
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    PORTAL_TARGET: 'zendesk',
    ZENDESK_BASE_URL: zd.baseUrl,
    ZENDESK_EMAIL: zd.credentials.email,
    ZENDESK_API_TOKEN: zd.credentials.token,
    LOG_LEVEL: 'debug',
    // No scheduled reconcile pass: it reads the platform's live state at a moment that differs from run to run
    // (a killed pass re-runs a minute later), so the two runs would not see the same inputs.
    PORTAL_SYNC_CONFIG: configOverride(name, {
      push: { debounceMs: 200, backoffMs: 100 },
      targets: { zendesk: { rate: { max: 5_000, perMs: 10_000 } } },
      reconcile: { everyMs: 0 },
    }),
  };
  const web = await startStack(`${name}-web`, { env, worker: false });
  cleanup.push(() => web.stop());
  const redis = new Redis(redisUrl());
  cleanup.push(async () => redis.disconnect());
  const pushQueues = PUSH_QUEUES.map((q) => new Queue(q, { connection: redis, prefix }));
  cleanup.push(() => Promise.all(pushQueues.map((q) => q.close())));
  const client = new WebhookClient(web.daemon.url, { connections: 16 });
  cleanup.push(() => client.close());
  expect((await client.send(lastWire)).status).toBe(200);
  if (crash) await dieAfterStoring(prefix, lastWire.ids[0]!);
  let worker: DaemonProcess = await spawnDaemon(`${name}-worker`, 'worker', env);
  cleanup.push(() => stopDaemon(worker));

  const kills: Run['kills'] = [];
  const total = wires.reduce((n, w) => n + w.ids.length, 0);
  let sending = true;
  const completed = completedEvents(redis, prefix);
  const killer = (async () => {
    for (const fraction of crash ? KILL_AT : []) {
      while ((await completed()) < fraction * total) await new Promise((r) => setTimeout(r, 20));
      const [activeEvents, activePushes] = await Promise.all([
        web.daemon.queue.getActiveCount(),
        pushQueues[0]!.getActiveCount(),
      ]);
      worker.kill('SIGKILL');
      const exit = await worker.exited;
      expect(exit.signal).toBe('SIGKILL');
      kills.push({ at: Date.now() - started, activeEvents, activePushes });
      worker = await spawnDaemon(`${name}-worker`, 'worker', env);
    }
    return sending;
  })();

  const outcomes = await pool(wires, 16, (w) => client.send(w));
  sending = false;
  const accepted = new Set([
    ...lastWire.ids,
    ...wires.filter((_, i) => outcomes[i]!.status >= 200 && outcomes[i]!.status < 300).flatMap((w) => w.ids),
  ]);
  expect(outcomes.filter((o) => o.status !== 200).map((o) => o.status)).toEqual([]);
  await killer;
  // Stalled jobs of a killed worker come back once their lock expires (30 s) and a stalled check runs.
  await drainQueues([web.daemon.queue, ...pushQueues], 180_000, `${name} queues`);
  const fates = await jobFates(redis, prefix, accepted);
  const result: Run = {
    records: await snapshotRecords(redis, prefix),
    portal: zendeskPortal(zd),
    duplicates: zendeskDuplicates(zd),
    writes: zd.calls.filter((c) => c.method !== 'GET').length,
    accepted,
    lost: fates.stuck,
    trimmed: fates.trimmed,
    failed: fates.failed,
    failedPushes: (await Promise.all(pushQueues.map((q) => q.getFailedCount()))).reduce((a, b) => a + b, 0),
    kills,
    seconds: (Date.now() - started) / 1000,
    batched: (await eventHolders(redis, prefix)).size,
  };
  await stopDaemon(worker);
  await deleteByPrefix(redisUrl(), prefix);
  return result;
}

describe('worker crash', () => {
  it('two SIGKILLs of the worker during 10,000 events lose nothing and leave the records and the portal as without crashes', async () => {
    announce('01-worker-crash', { events: EVENTS, customers: CUSTOMERS, seed: SEED, killAt: KILL_AT.join('/') });
    s.set({ seed: SEED });
    // Side by side (own prefixes, own stand-ins): the crashed run spends most of its time waiting for
    // the stalled-job recovery, which the clean run's work fills.
    const [clean, crashed] = await Promise.all([run('worker-crash-clean', false), run('worker-crash-killed', true)]);
    s.set({
      eventsSent: crashed.accepted.size,
      applied: crashed.accepted.size - crashed.lost.length - crashed.failed.length,
      lost: crashed.lost.length + crashed.failed.length,
      duplicatedOnPortal: crashed.duplicates,
      portalCalls: crashed.writes,
    });
    s.detail('kills', crashed.kills);
    s.detail('portalWritesWithoutCrash', clean.writes);
    s.detail('secondsWithoutCrash', clean.seconds);
    s.detail('secondsWithCrashes', crashed.seconds);
    s.detail('records', crashed.records.size);
    s.detail('completedJobsTrimmedByRetention', crashed.trimmed);
    s.detail('eventsInBatchJobs', crashed.batched);

    expect(crashed.kills).toHaveLength(KILL_AT.length);
    for (const r of [clean, crashed]) {
      expect(r.accepted.size).toBe(EVENTS + 1);
      expect(r.lost).toEqual([]);
      expect(r.failed).toEqual([]);
      expect(r.failedPushes).toBe(0);
      expect(r.duplicates).toBe(0);
    }
    expect(clean.portal.invoices.length).toBeGreaterThan(CUSTOMERS);
    // The customer whose only event was stored by a worker that died before planning its push.
    const lastOrg = (r: Run) =>
      r.portal.organizations.find((o) => o.id === Number(customer(CUSTOMERS).zendeskOrganizationId))?.fields ?? {};
    expect(Object.keys(lastOrg(clean)).length).toBeGreaterThan(0);
    expect(lastOrg(crashed)).toEqual(lastOrg(clean));
    expectSameRecords(crashed.records, clean.records, 'records after two worker crashes');
    expect(crashed.portal).toEqual(clean.portal);
    s.pass();
  }, 420_000);
});
