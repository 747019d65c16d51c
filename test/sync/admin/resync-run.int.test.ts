/** The run behind `portal-sync resync` (sync/admin/resync-run), on the real Redis: started, resumed, or none to resume. */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startResyncRun } from '../../../src/sync/admin/resync-run.js';
import { ResyncRuns, type ResyncParams } from '../../../src/sync/resync/runs.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const prefix = uniquePrefix();
let redis: Redis;
const params: ResyncParams = { sources: ['zendesk'], since: '2026-11-20T00:00:00.000Z', customer: null, dryRun: false };

beforeAll(() => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
});
afterAll(async () => {
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('the run of a resync', () => {
  it('has nothing to resume where no run is unfinished', async () => {
    expect(await startResyncRun(redis, prefix, 'resume')).toBeNull();
  });

  it('starts a new run recorded as running with its parameters, and counts no worker when no daemon runs', async () => {
    const run = (await startResyncRun(redis, prefix, params))!;
    try {
      expect(await new ResyncRuns(redis, prefix).get(run.runId)).toMatchObject({ status: 'running', params });
      expect(run.workers).toBe(0);
      expect(run.queue.name).toBe('events');
    } finally {
      await run.close();
    }
  });

  it('resumes the newest unfinished run with its own parameters, not an older one nor one that finished', async () => {
    const own = uniquePrefix();
    const runs = new ResyncRuns(redis, own);
    const now = Date.now();
    await runs.create({ ...params, sources: ['stripe'] }, new Date(now - 60_000));
    const newest = await runs.create(params, new Date(now - 30_000));
    await runs.finish(await runs.create({ ...params, sources: ['salesforce'] }, new Date(now)), 'finished');
    const run = (await startResyncRun(redis, own, 'resume'))!;
    try {
      expect(run.runId).toBe(newest);
      expect(run.params).toEqual(params);
    } finally {
      await run.close();
      await deleteByPrefix(redisUrl(), own);
    }
  });

  it('counts the workers that consume the events queue under the prefix', async () => {
    const worker = new Worker('events', async () => undefined, { connection: redis.duplicate(), prefix });
    await worker.waitUntilReady();
    const run = (await startResyncRun(redis, prefix, params))!;
    try {
      expect(run.workers).toBeGreaterThanOrEqual(1);
    } finally {
      await run.close();
      await worker.close();
    }
  });
});
