/**
 * The erasure sweep of `identity forget` on BullMQ jobs, on real Redis: a customer's jobs leave every
 * state — waiting, completed (with their return value and logs) and failed (with the failure reason)
 * — through BullMQ, while another customer's jobs, whose address holds the first one's, stay; a batch job
 * loses the customer's events alone.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Eraser } from '../../../src/sync/admin/erasure.js';
import { BATCH_JOB_NAME, batchJobId, FORGOTTEN_ELEMENT } from '../../../src/sync/events/batch-job.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const prefix = uniquePrefix();
const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
afterAll(async () => {
  await deleteByPrefix(redisUrl(), prefix);
  redis.disconnect();
});

const ANN = 'ann.erase@example.com';
const JOANN = 'joann.erase@example.com';

/** Takes the next job of `queue` by hand and finishes it one way or the other, as a worker would. */
async function finishNext(worker: Worker, outcome: 'completed' | 'failed', detail: string): Promise<string> {
  const token = `test-${outcome}`;
  const job = (await worker.getNextJob(token))!;
  await job.log(`looked at ${detail}`);
  if (outcome === 'completed') await job.moveToCompleted({ wrote: [detail] }, token, false);
  else await job.moveToFailed(new Error(`refused for ${detail}`), token, false);
  return job.id!;
}

describe('the erasure sweep on jobs', () => {
  it("removes the customer's waiting, completed and failed jobs with their logs, and leaves another customer's", async () => {
    const queue = new Queue('events', { connection: redis, prefix });
    const worker = new Worker('events', null, { connection: redis, prefix, autorun: false });
    try {
      await queue.add('e', { v: 1, email: 'someone@else.example' });
      // These two name Ann only in what the worker wrote: the return value, the log, the failure reason.
      const completed = await finishNext(worker, 'completed', ANN);
      await queue.add('e', { v: 1, email: 'x@else.example' });
      const failed = await finishNext(worker, 'failed', ANN.toUpperCase());
      expect(await redis.llen(`${prefix}:events:${completed}:logs`)).toBe(1);
      const waiting = (await queue.add('e', { v: 1, customer_email: ANN })).id!;
      const other = (await queue.add('e', { v: 1, customer_email: JOANN })).id!;

      const eraser = new Eraser(redis, prefix, new RecordStore(redis, prefix), ['events']);
      try {
        const r = await eraser.sweep([ANN], () => 'forgotten');
        expect(r.jobsRemoved).toBe(3);
        expect(await eraser.remaining([ANN])).toEqual([]);
      } finally {
        await eraser.close();
      }
      for (const id of [completed, failed, waiting]) expect(await queue.getJob(id), id).toBeUndefined();
      expect(await redis.exists(`${prefix}:events:${completed}:logs`, `${prefix}:events:${failed}:logs`)).toBe(0);
      expect((await queue.getJob(other))?.data).toEqual({ v: 1, customer_email: JOANN });
      expect(await queue.getJobCounts('waiting', 'completed', 'failed')).toEqual({
        waiting: 1,
        completed: 0,
        failed: 0,
      });
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('waits for a job naming the customer that is being processed, then sweeps what it left', async () => {
    const queue = new Queue('push-zendesk', { connection: redis, prefix });
    const worker = new Worker('push-zendesk', null, { connection: redis, prefix, autorun: false });
    const eraser = new Eraser(redis, prefix, new RecordStore(redis, prefix), ['push-zendesk']);
    try {
      await queue.add('p', { v: 1, customerId: 'cust_EraseAnn1' });
      const token = 'test-active';
      const job = (await worker.getNextJob(token))!;

      expect((await eraser.sweep(['cust_eraseann1'], () => 'forgotten')).jobsRemoved).toBe(0); // locked: cannot be removed
      expect(await eraser.settle(['cust_eraseann1'], 300)).toEqual({ waited: true, stillActive: 1 });
      setTimeout(() => void job.moveToCompleted({ wrote: ['organization_fields'] }, token, false), 300);
      expect(await eraser.settle(['cust_eraseann1'], 10_000)).toEqual({ waited: true, stillActive: 0 });
      expect((await eraser.sweep(['cust_eraseann1'], () => 'forgotten')).jobsRemoved).toBe(1);
      expect(await queue.getJob(job.id!)).toBeUndefined();
    } finally {
      await eraser.close();
      await worker.close();
      await queue.close();
    }
  });

  it("takes the customer's events out of a waiting batch job and keeps the other customers' events queued in it", async () => {
    const queue = new Queue('events', { connection: redis, prefix: `${prefix}-batch` });
    const eraser = new Eraser(redis, `${prefix}-batch`, new RecordStore(redis, `${prefix}-batch`), ['events']);
    try {
      const events = [
        { v: 1, source: 'stripe', eventId: 'evt_joann_1', data: { email: JOANN } },
        { v: 1, source: 'stripe', eventId: 'evt_ann_1', data: { email: ANN } },
        { v: 1, source: 'stripe', eventId: 'evt_joann_2', data: { email: JOANN } },
      ];
      const id = (await queue.add(BATCH_JOB_NAME, { v: 1, events }, { jobId: batchJobId() })).id!;

      const r = await eraser.sweep([ANN], () => 'forgotten');
      expect(r).toMatchObject({ jobsRemoved: 0, itemsRemoved: 1 });
      expect(await eraser.remaining([ANN])).toEqual([]);
      const job = await queue.getJob(id);
      expect(await job?.getState()).toBe('waiting');
      expect(job?.data).toEqual({ v: 1, events: [events[0], FORGOTTEN_ELEMENT, events[2]] });
    } finally {
      await eraser.close();
      await queue.close();
      await deleteByPrefix(redisUrl(), `${prefix}-batch`);
    }
  });
});
