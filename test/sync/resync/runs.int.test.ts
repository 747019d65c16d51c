/** Resync runs on the real Redis: which run `--resume` continues. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { createEventsQueue } from '../../../src/sync/events/queue.js';
import { runResync } from '../../../src/sync/resync/runner.js';
import { resyncJobId, resyncRunOf, ResyncRuns } from '../../../src/sync/resync/runs.js';
import type { SnapshotStream } from '../../../src/sync/resync/snapshot.js';
import { ticket } from '../events/merge-events.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const prefix = uniquePrefix();
let redis: Redis;

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('resync runs', () => {
  it('--resume finds the newest unfinished run, even behind a newer run that finished', async () => {
    const runs = new ResyncRuns(redis, prefix);
    expect(await runs.latestUnfinished()).toBeNull();
    const t = Date.parse('2026-11-23T10:00:00Z');
    const big = await runs.create(
      { sources: ['zendesk', 'salesforce'], since: null, customer: null, dryRun: false },
      new Date(t),
    );
    await runs.pageDone(big, 'zendesk.tickets', 'cursor-2', { enqueued: 100, read: 100, rejected: 0 });
    // Killed; then an admin fixed one customer by hand before resuming.
    const one = await runs.create(
      { sources: ['stripe'], since: null, customer: 'cus_Q8xLm2VbN4rT7a', dryRun: false },
      new Date(t + 60_000),
    );
    await runs.finish(one, 'finished');
    expect((await runs.latest())?.id).toBe(one);
    const unfinished = await runs.latestUnfinished();
    expect(unfinished).toMatchObject({ id: big, status: 'running', cursors: { 'zendesk.tickets': 'cursor-2' } });
    await runs.finish(big, 'finished');
    expect(await runs.latestUnfinished()).toBeNull();
  });

  it("a run's lease is renewed and released only by its holder, so a second process cannot take over a live run", async () => {
    const runs = new ResyncRuns(redis, prefix);
    const id = await runs.create({ sources: ['stripe'], since: null, customer: null, dryRun: false });
    expect(await runs.acquire(id, 'first')).toBe(true);
    expect(await runs.acquire(id, 'second')).toBe(false);
    expect(await runs.renew(id, 'second')).toBe(false);
    await runs.release(id, 'second');
    expect(await runs.isHeld(id)).toBe(true);
    expect(await runs.renew(id, 'first')).toBe(true);
    await runs.release(id, 'first');
    expect(await runs.isHeld(id)).toBe(false);
    expect(await runs.renew(id, 'first')).toBe(false);
    expect(await runs.acquire(id, 'second')).toBe(true);
  });

  it('names a resync job by run, page and object snapshot, so a page read again after a crash queues only what is new in it', () => {
    const page = { stream: 'salesforce.accounts', cursor: '2026-11-20T10:00:00.000Z|001A' };
    const first = ['snap-001B-1', 'snap-001C-1', 'snap-001D-1'].map((e) => resyncJobId('run1', page, e));
    // Re-read after a crash: 001C changed meanwhile and moved to a later page; 001E moved in.
    const again = ['snap-001B-1', 'snap-001D-1', 'snap-001E-1'].map((e) => resyncJobId('run1', page, e));
    expect(again.filter((id) => first.includes(id))).toEqual([first[0], first[2]]); // deduplicated by BullMQ
    expect(first).not.toContain(again[2]); // 001E is queued, not taken for a job the crashed attempt added
    expect(resyncJobId('run1', { ...page, cursor: 'other' }, 'snap-001B-1')).not.toBe(first[0]); // a boundary repeat on another page is its own job
    expect(resyncJobId('run2', page, 'snap-001B-1')).not.toBe(first[0]);
    expect(first.every((id) => !id.includes(':') && resyncRunOf(id) === 'run1')).toBe(true); // BullMQ refuses ':' in job ids
  });

  it('queues and counts an object a page holds twice once, so the run does not wait for a job that never comes', async () => {
    const runs = new ResyncRuns(redis, prefix);
    const runId = await runs.create({ sources: ['zendesk'], since: null, customer: null, dryRun: false });
    const snap = {
      ...ticket('5301', 'open', { version: 1_000, eventId: 'snap-5301-1000' }),
      origin: 'snapshot' as const,
    };
    const stream: SnapshotStream = {
      name: 'zendesk.tickets',
      source: 'zendesk',
      page: async () => ({ events: [snap, snap], next: null, read: 2, rejected: [] }),
    };
    const queue = createEventsQueue(redis, prefix);
    try {
      const summary = await runResync({
        runs,
        runId,
        queue,
        streams: [stream],
        logger: createLogger('silent'),
        waitForApply: false,
      });
      expect(summary.counts).toMatchObject({ read: 2, enqueued: 1 });
      expect(await queue.getJobCountByTypes('prioritized', 'waiting')).toBe(1);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
