/**
 * The ingest batch as one Redis round trip (src/sync/events/enqueue-script.ts): the jobs it adds are the jobs BullMQ's
 * own addBulk adds, a worker processes them, dedupe holds within and across batches, and an add that fails
 * leaves no mark behind, so the provider's retry is enqueued.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEventsQueue, type EventsQueue } from '../../../src/sync/events/queue.js';
import { Ingestor } from '../../../src/sync/events/ingest.js';
import { jobIdFor, type SourceEvent } from '../../../src/sync/events/source-event.js';
import { BATCH_MAX_EVENTS, isBatchData } from '../../../src/sync/events/batch-job.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const prefix = uniquePrefix();
let redis: Redis;
let queue: EventsQueue;
let ingestor: Ingestor;
let seq = 0;

function event(eventId = `evt_rt_${seq++}`): SourceEvent {
  return {
    v: 1,
    source: 'stripe',
    eventId,
    type: 'customer.updated',
    objectId: 'cus_rt_1',
    version: 1_700_000_000_000 + seq,
    origin: 'webhook',
    deleted: false,
    refs: { stripeCustomerId: 'cus_rt_1' },
    data: {
      kind: 'stripe.customer',
      name: 'Round Trip Ltd',
      email: null,
      currency: 'usd',
      balance: 0,
      delinquent: false,
      defaultPaymentMethodId: null,
      metadata: {},
    },
  };
}

beforeAll(async () => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  queue = createEventsQueue(redis, prefix);
  await queue.waitUntilReady();
  ingestor = new Ingestor({
    redis,
    queue,
    prefix,
    dedupeTtlSeconds: 600,
    quarantineLimits: { maxEntries: 10, maxBytes: 1_048_576 },
    timeoutMs: 5_000,
  });
});
afterAll(async () => {
  await queue.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('an ingest batch in one round trip', () => {
  it('stores the same job as BullMQ addBulk (name, data, options), which a BullMQ worker then processes', async () => {
    const ours = event();
    const theirs = event();
    expect((await ingestor.enqueue([ours])).accepted).toHaveLength(1);
    await queue.addBulk([
      { name: theirs.type, data: { ...theirs, lane: 'realtime' }, opts: { jobId: jobIdFor('stripe', theirs.eventId) } },
    ]);
    const a = await redis.hgetall(`${prefix}:events:${jobIdFor('stripe', ours.eventId)}`);
    const b = await redis.hgetall(`${prefix}:events:${jobIdFor('stripe', theirs.eventId)}`);
    // Alike but for what differs between the two events: the id, the version, the time added.
    const same = (h: Record<string, string>) => ({
      ...h,
      timestamp: 'T',
      data: { ...JSON.parse(h['data']!), eventId: 'E', version: 0 },
      opts: { ...JSON.parse(h['opts']!), jobId: 'J' },
    });
    expect(JSON.parse(a['data']!).lane).toBe('realtime'); // a webhook's job says so in its data (src/sync/pipeline.ts)
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    expect(same(a)).toEqual(same(b));
    expect(await queue.getJobState(jobIdFor('stripe', ours.eventId))).toBe('waiting');

    const seen: string[] = [];
    const connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    const worker = new Worker<SourceEvent>(
      queue.name,
      async (job: Job<SourceEvent>) => void seen.push(job.data.eventId),
      { connection, prefix },
    );
    try {
      await vi.waitFor(() => expect(seen).toEqual(expect.arrayContaining([ours.eventId, theirs.eventId])), {
        timeout: 5_000,
      });
    } finally {
      await worker.close();
      connection.disconnect();
    }
  });

  it('answers a batch of concurrent deliveries with one command to Redis, the second delivery of an event as a duplicate', async () => {
    await ingestor.enqueue([event()]); // the script is loaded once per connection (EVALSHA, then EVAL on NOSCRIPT)
    const [x, y] = [event(), event()];
    const sent = vi.spyOn(redis, 'sendCommand');
    try {
      const outcomes = await Promise.all([ingestor.enqueue([x]), ingestor.enqueue([y, x]), ingestor.enqueue([y])]);
      expect(sent).toHaveBeenCalledTimes(1);
      expect(outcomes.map((o) => [o.accepted.length, o.duplicates.length, o.inFlight.length])).toEqual([
        [1, 0, 0],
        [1, 1, 0],
        [0, 1, 0],
      ]);
    } finally {
      sent.mockRestore();
    }
    const jobs = await queue.getJobs(['waiting'], 0, 1000);
    expect(jobs.filter((j) => j.data.eventId === x.eventId || j.data.eventId === y.eventId)).toHaveLength(2);
  });

  it('keeps no mark for an event whose job could not be added, so the retry is enqueued', async () => {
    const other = `${prefix}-broken`;
    const brokenQueue = createEventsQueue(redis, other);
    const broken = new Ingestor({
      redis,
      queue: brokenQueue,
      prefix: other,
      dedupeTtlSeconds: 600,
      quarantineLimits: { maxEntries: 10, maxBytes: 1_048_576 },
      timeoutMs: 5_000,
    });
    const e = event();
    // A key of the wrong type where BullMQ counts its jobs: its first write (INCR) fails inside the script.
    await redis.hset(`${other}:events:id`, 'not', 'a counter');
    await expect(broken.enqueue([e])).rejects.toThrow(/WRONGTYPE/);
    expect(await redis.get(broken.seenKey(e))).toBeNull();
    await redis.del(`${other}:events:id`);
    expect((await broken.enqueue([e])).accepted).toHaveLength(1);
    expect(await redis.get(broken.seenKey(e))).toBe('done');
    expect(await brokenQueue.getJobState(jobIdFor('stripe', e.eventId))).toBe('waiting');
    await brokenQueue.close();
    await deleteByPrefix(redisUrl(), other);
  });

  it('splits a batch of many events into several scripts, each event accepted once and queued once', async () => {
    const many = Array.from({ length: 1_203 }, () => event());
    const outcome = await ingestor.enqueue([...many, ...many.slice(0, 3)]);
    expect(outcome.accepted).toHaveLength(1_203);
    // Batch jobs of at most BATCH_MAX_EVENTS events each (batch-job.ts): every event in exactly one of them.
    const jobs = await new Queue(queue.name, { connection: redis, prefix }).getJobs(['waiting'], 0, -1);
    const queued = jobs.flatMap((j) => (isBatchData(j.data) ? j.data.events : [j.data])) as SourceEvent[];
    const ours = new Set(many.map((e) => e.eventId));
    expect(
      queued
        .filter((e) => ours.has(e.eventId))
        .map((e) => e.eventId)
        .sort(),
    ).toEqual([...ours].sort());
    expect(jobs.filter((j) => isBatchData(j.data)).length).toBeGreaterThanOrEqual(Math.ceil(1_203 / BATCH_MAX_EVENTS));
  });
});
