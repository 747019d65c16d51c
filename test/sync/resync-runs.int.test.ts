/** Resync runs on the real Redis: which run `--resume` continues. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResyncRuns } from '../../src/sync/resync/runs.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';

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
    const big = await runs.create({ sources: ['zendesk', 'salesforce'], since: null, customer: null, dryRun: false }, new Date(t));
    await runs.pageDone(big, 'zendesk.tickets', 'cursor-2', { enqueued: 100, read: 100, rejected: 0 });
    // Killed; then an admin fixed one customer by hand before resuming.
    const one = await runs.create({ sources: ['stripe'], since: null, customer: 'cus_Q8xLm2VbN4rT7a', dryRun: false }, new Date(t + 60_000));
    await runs.finish(one, 'finished');
    expect((await runs.latest())?.id).toBe(one);
    const unfinished = await runs.latestUnfinished();
    expect(unfinished).toMatchObject({ id: big, status: 'running', cursors: { 'zendesk.tickets': 'cursor-2' } });
    await runs.finish(big, 'finished');
    expect(await runs.latestUnfinished()).toBeNull();
  });
});
