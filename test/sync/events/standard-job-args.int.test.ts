/**
 * The ingest's job arguments built from a template (src/sync/events/standard-job-args.ts) are BullMQ's own bytes:
 * for any job id, name and data, the same keys, packed args, data JSON and packed options as BullMQ's Job#addJob
 * builds, and a job BullMQ refuses is still refused.
 */
import fc from 'fast-check';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEventsQueue } from '../../../src/sync/events/queue.js';
import { bullmqJobArgs, standardJobArgsBuilder } from '../../../src/sync/events/standard-job-args.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const SCRIPT = 'addStandardJob';
const KEYS = 9;
const prefix = uniquePrefix();
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  queue = createEventsQueue(redis, prefix) as unknown as Queue;
  await queue.waitUntilReady();
});
afterAll(async () => {
  await queue.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

const plainId = fc.stringMatching(/^(stripe|zendesk|salesforce|portal)[-=][A-Za-z0-9_.=-]{1,300}$/);

describe('job arguments from the template', () => {
  it('are byte for byte what BullMQ builds, for any job id, name and data', () => {
    const build = standardJobArgsBuilder(queue, SCRIPT, KEYS);
    fc.assert(
      fc.property(
        fc.oneof(plainId, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 })),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.jsonValue(),
        (jobId, name, data) => {
          fc.pre(!jobId.includes(':') && `${Number.parseInt(jobId, 10)}` !== jobId);
          const theirs = bullmqJobArgs(queue, { jobId, name, data }, SCRIPT, KEYS);
          const ours = build({ jobId, name, data }, theirs.timestamp);
          expect(ours.keys).toEqual(theirs.keys);
          expect(ours.argv).toEqual(theirs.argv);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('are built without a BullMQ Job for the events queue (its template passed the check against BullMQ)', () => {
    const build = standardJobArgsBuilder(queue, SCRIPT, KEYS);
    const addJob = vi.spyOn(Job.prototype, 'addJob');
    try {
      const built = build({ jobId: 'stripe-evt_template', name: 'invoice.paid', data: { v: 1 } }, Date.now());
      expect(addJob).not.toHaveBeenCalled();
      expect(built.argv[1]).toBe('{"v":1}');
    } finally {
      addJob.mockRestore();
    }
  });

  it('are made by BullMQ itself, unchanged, for an id BullMQ refuses (an integer, a colon)', () => {
    const build = standardJobArgsBuilder(queue, SCRIPT, KEYS);
    expect(() => build({ jobId: '12345', name: 'customer.updated', data: {} }, Date.now())).toThrow(/integers/);
    expect(() => build({ jobId: 'stripe-a:b', name: 'customer.updated', data: {} }, Date.now())).toThrow(/:/);
  });

  it('follow the queue’s own default options: another queue’s options give other bytes, each BullMQ’s', async () => {
    const other = new Queue('template-other', {
      connection: redis,
      prefix,
      defaultJobOptions: { attempts: 3, removeOnComplete: true, backoff: { type: 'fixed', delay: 5 } },
    });
    try {
      const job = { jobId: 'stripe-evt_1', name: 'invoice.paid', data: { a: 1 } };
      const now = Date.now();
      vi.spyOn(Date, 'now').mockReturnValue(now);
      const ours = standardJobArgsBuilder(other, SCRIPT, KEYS)(job, now);
      const events = standardJobArgsBuilder(queue, SCRIPT, KEYS)(job, now);
      expect(ours.argv).toEqual(bullmqJobArgs(other, job, SCRIPT, KEYS).argv);
      expect(ours.argv[2]).not.toEqual(events.argv[2]);
      expect(ours.keys).not.toEqual(events.keys);
    } finally {
      vi.restoreAllMocks();
      await other.close();
    }
  });

  it('are BullMQ’s for a probe whose layout the template cannot reproduce (every job then built by BullMQ)', () => {
    const job = { jobId: 'stripe-evt_2', name: 'invoice.paid', data: { a: 2 } };
    const fresh = new Queue('template-odd', { connection: redis, prefix, defaultJobOptions: { attempts: 2 } });
    // A BullMQ that packed its options another way: the probes fail their check, so no template is used.
    const addJob = vi.spyOn(Job.prototype, 'addJob').mockImplementation(function (this: Job, client) {
      const c = client as unknown as { runCommand(name: string, args: unknown[]): Promise<unknown> };
      return c.runCommand(`${SCRIPT}:x`, [
        ...Array.from({ length: KEYS }, (_, i) => `k${i}`),
        Buffer.from(`args ${this.id ?? ''}`),
        JSON.stringify(this.data),
        Buffer.from(`opts ${this.id ?? ''} ${this.timestamp}`),
      ]) as Promise<string>;
    });
    try {
      const built = standardJobArgsBuilder(fresh, SCRIPT, KEYS)(job, 1_800_000_000_000);
      expect(addJob).toHaveBeenCalled();
      expect(String(built.argv[0])).toBe('args stripe-evt_2');
    } finally {
      addJob.mockRestore();
      void fresh.close();
    }
  });
});
