/**
 * `dlq list` on a batch job that failed whole (src/sync/events/batch-job.ts: only when Redis refused to re-queue its
 * failed events): the operator sees it as a batch of so many events, as printed and in --json.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_JOB_NAME, batchJobId } from '../../src/sync/events/batch-job.js';
import { runCli } from '../support/cli.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';

let daemon: TestDaemon;
const id = batchJobId();
const dlq = (...args: string[]) =>
  runCli(['dlq', ...args], { REDIS_URL: daemon.config.redis.url, REDIS_PREFIX: daemon.prefix });

beforeAll(async () => {
  daemon = await startTestDaemon();
  const events = ['evt_dlq_1', 'evt_dlq_2', 'evt_dlq_3'].map((eventId) => ({ v: 1, source: 'stripe', eventId }));
  await daemon.queue.add(BATCH_JOB_NAME as never, { v: 1, events } as never, { jobId: id, attempts: 1 });
  // Taken and failed by hand, as a worker whose split-out could not be added would leave it.
  const connection = new Redis(daemon.config.redis.url, { maxRetriesPerRequest: null });
  const worker = new Worker('events', null, { connection, prefix: daemon.prefix, autorun: false });
  try {
    const job = (await worker.getNextJob('test-dlq-batch'))!;
    await job.moveToFailed(new Error('Connection is closed.'), 'test-dlq-batch', false);
  } finally {
    await worker.close();
    connection.disconnect();
  }
});
afterAll(async () => {
  await daemon.stop();
});

describe('dlq list', () => {
  it('shows a batch job that failed whole as a batch of its events, with its id and reason', async () => {
    const listed = await dlq('list');
    expect(listed.code).toBe(0);
    const row = listed.stdout.split('\n').find((l) => l.includes(id));
    expect(row).toMatch(/events\s+batch of 3 events\s+.*Connection is closed\.$/);
    const [letter] = (await dlq('list', '--json')).json() as Array<Record<string, unknown>>;
    expect(letter).toMatchObject({ id, queue: 'events', source: 'batch of 3 events', eventId: null });
  });
});
