/**
 * Batch jobs (src/sync/events/batch-job.ts), on real Redis through the real ingest and events worker: a busy flush
 * is queued as jobs of several events, each event once; the worker applies them to their own companies' records;
 * an event that fails is split out into a job of its own that retries and dead-letters alone; a forgotten
 * customer's event is dropped and scrubbed from the batch's data.
 */
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BATCH_MIN_EVENTS, isBatchData, isBatchJobId, splitJobId } from '../../../src/sync/events/batch-job.js';
import { stripeKey } from '../../../src/sync/events/identity.js';
import { jobIdFor, type SourceEvent } from '../../../src/sync/events/source-event.js';
import { Tombstones } from '../../../src/sync/events/tombstones.js';
import { startTestPipeline, type TestPipeline } from '../../support/pipeline.js';
import { customer, invoice } from './merge-events.js';

let pipeline: TestPipeline;
let seq = 0;

/** A Stripe customer and its invoices, each event naming that customer only. */
function company(name: string, invoices: number): SourceEvent[] {
  const refs = { stripeCustomerId: `cus_Batch${name}` };
  const at = 1_700_000_000_000 + seq++ * 1_000;
  return [
    {
      ...customer({ version: at, eventId: `evt_batch_${name}_c` }, { name: `${name} Ltd` }),
      objectId: refs.stripeCustomerId,
      refs,
    },
    ...Array.from({ length: invoices }, (_, i) => ({
      ...invoice(`in_Batch${name}_${i}`, 'open', { version: at + i + 1, eventId: `evt_batch_${name}_${i}` }),
      refs,
    })),
  ];
}

const queueOf = () =>
  new Queue(pipeline.daemon.queue.name, { connection: pipeline.daemon.redis, prefix: pipeline.daemon.prefix });

/** Every job of the events queue, in any state. */
async function allJobs() {
  const queue = queueOf();
  try {
    return await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'], 0, -1);
  } finally {
    await queue.close();
  }
}

beforeAll(async () => {
  pipeline = await startTestPipeline();
  // Before any event: a worker that found nothing forgotten yet looks again only after a while (tombstones.ts).
  await new Tombstones(pipeline.daemon.redis, pipeline.daemon.prefix).add([stripeKey('cus_BatchZeta')], 1);
});
afterAll(async () => {
  await pipeline.stop();
});
afterEach(() => vi.restoreAllMocks());

describe('batch jobs', () => {
  it("queues a quiet flush as one job per event under the event's own id", async () => {
    const events = company('Quiet', BATCH_MIN_EVENTS - 2);
    const outcome = await pipeline.daemon.ingestor.enqueue(events);
    expect(outcome.accepted).toHaveLength(events.length);
    const ids = new Set((await allJobs()).map((j) => j.id));
    for (const e of events) expect(ids.has(jobIdFor(e.source, e.eventId)), e.eventId).toBe(true);
    await pipeline.drain();
  });

  it('queues a busy flush as batch jobs holding each new event once, and none already seen or repeated', async () => {
    const [seen, ...fresh] = company('Busy', 12);
    await pipeline.daemon.ingestor.enqueue([seen!]);
    // Two requests of one flush: the second delivers an event of the first again.
    const [outcome, again] = await Promise.all([
      pipeline.daemon.ingestor.enqueue([seen!, ...fresh]),
      pipeline.daemon.ingestor.enqueue([fresh[0]!]),
    ]);
    expect(outcome.accepted.map((e) => e.eventId)).toEqual(fresh.map((e) => e.eventId));
    expect(outcome.duplicates.map((e) => e.eventId)).toEqual([seen!.eventId]);
    expect(again.duplicates.map((e) => e.eventId)).toEqual([fresh[0]!.eventId]);

    const batches = (await allJobs()).filter((j) => isBatchJobId(j.id));
    const queued = batches.flatMap((j) => (isBatchData(j.data) ? j.data.events : [])) as SourceEvent[];
    expect(queued.map((e) => e.eventId).sort()).toEqual(fresh.map((e) => e.eventId).sort());
    // A redelivery of a batched event is a duplicate, as a single job's is.
    expect((await pipeline.daemon.ingestor.enqueue([fresh[3]!])).duplicates).toHaveLength(1);
    await pipeline.drain();
  });

  it("applies a batch's events of two companies each to its own company's record", async () => {
    const a = company('Alpha', 5);
    const b = company('Beta', 5);
    await pipeline.daemon.ingestor.enqueue([a[0]!, b[0]!, ...a.slice(1), ...b.slice(1)]);
    await pipeline.drain();
    const store = pipeline.worker.store;
    const alpha = await store.findByKey(stripeKey('cus_BatchAlpha'));
    const beta = await store.findByKey(stripeKey('cus_BatchBeta'));
    expect(alpha?.id).not.toBe(beta?.id);
    expect(Object.keys(alpha!.stripe.invoices).sort()).toEqual(
      a
        .slice(1)
        .map((e) => e.objectId)
        .sort(),
    );
    expect(Object.keys(beta!.stripe.invoices).sort()).toEqual(
      b
        .slice(1)
        .map((e) => e.objectId)
        .sort(),
    );
    expect(alpha!.stripe.customer?.data.name).toBe('Alpha Ltd');
    expect(beta!.stripe.customer?.data.name).toBe('Beta Ltd');
  });

  it('splits an event that cannot be applied out of its batch: it dead-letters alone, the others are stored', async () => {
    const events = company('Gamma', 9);
    const broken = { ...events[4]!, data: { kind: 'stripe.nonsense' } } as unknown as SourceEvent;
    events[4] = broken;
    await pipeline.daemon.ingestor.enqueue(events);
    await pipeline.drain();

    const jobs = await allJobs();
    const batch = jobs.find(
      (j) => isBatchData(j.data) && (j.data.events as SourceEvent[]).some((e) => e.eventId === broken.eventId),
    );
    expect(await batch?.getState()).toBe('completed');
    expect(batch?.returnvalue).toMatchObject({ events: 10, splitOut: 1 });
    const split = jobs.find((j) => j.id === splitJobId(batch!.id!, 4));
    expect(await split?.getState()).toBe('failed');
    expect(split?.failedReason).toMatch(/not a v1 SourceEvent/);
    expect((split?.data as SourceEvent).eventId).toBe(broken.eventId);
    expect(
      await pipeline.daemon.metrics.registry.getSingleMetricAsString('portal_sync_events_split_out_total'),
    ).toMatch(/^portal_sync_events_split_out_total 1$/m);
    const stored = await pipeline.worker.store.findByKey(stripeKey('cus_BatchGamma'));
    expect(Object.keys(stored!.stripe.invoices)).toHaveLength(8);
    expect(stored!.stripe.invoices[broken.objectId]).toBeUndefined();
  });

  it('retries an event that failed in its batch as a job of its own, which stores it', async () => {
    const events = company('Delta', 9);
    const flaky = events[6]!;
    const apply = pipeline.worker.store.apply.bind(pipeline.worker.store);
    let failures = 0;
    vi.spyOn(pipeline.worker.store, 'apply').mockImplementation(async (event, opts) => {
      if (event.eventId === flaky.eventId && failures++ === 0) throw new Error('Redis went away for a moment');
      return apply(event, opts);
    });
    await pipeline.daemon.ingestor.enqueue(events);
    await vi.waitFor(
      async () => {
        const stored = await pipeline.worker.store.findByKey(stripeKey('cus_BatchDelta'));
        expect(stored?.stripe.invoices[flaky.objectId]).toBeDefined();
      },
      { timeout: 10_000 },
    );
    await pipeline.drain();
    const split = (await allJobs()).find((j) => (j.data as SourceEvent).eventId === flaky.eventId);
    expect(split?.id).toMatch(/^b-[0-9a-f-]{36}-6$/);
    expect(await split?.getState()).toBe('completed');
    expect(failures).toBe(2);
  });

  it("drops a forgotten customer's event from a batch and leaves it out of the batch job's data", async () => {
    const kept = company('Epsilon', 8);
    const [gone] = company('Zeta', 0);
    await pipeline.daemon.ingestor.enqueue([...kept.slice(0, 4), gone!, ...kept.slice(4)]);
    await pipeline.drain();

    expect(await pipeline.worker.store.findByKey(stripeKey('cus_BatchZeta'))).toBeNull();
    expect(await pipeline.worker.store.findByKey(stripeKey('cus_BatchEpsilon'))).not.toBeNull();
    const batch = (await allJobs()).find(
      (j) => isBatchData(j.data) && (j.data.events as SourceEvent[]).some((e) => e.eventId === kept[0]!.eventId),
    );
    expect(JSON.stringify(batch?.data)).not.toContain('cus_BatchZeta');
    expect((batch?.data as { events: unknown[] }).events[4]).toEqual({ forgotten: true });
  });
});
