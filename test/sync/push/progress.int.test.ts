/**
 * A push's progress on the real Redis: what a next try may skip. A call counts as done only against the
 * accepted state its push was diffed from, only while it is the last call written to its place, and not
 * once the push was accepted.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { callKey } from '../../../src/sync/push/portal-target.js';
import { loadProgress, progressKey } from '../../../src/sync/push/progress.js';
import { REDIS_KEYS } from '../../../src/sync/redis/keys.js';
import { runScript } from '../../../src/sync/redis/scripts.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const prefix = uniquePrefix();
const log = createLogger('silent');
let redis: Redis;

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

const fields = (status: string) => callKey('fields:organization:42', { billing_status: status });
const invoice = callKey('invoice:in_1', { name: 'in_1', custom_object_fields: { invoice_status: 'open' } });

describe('push progress', () => {
  it("is what the push's next try finds, for a day", async () => {
    const key = progressKey(prefix, 'zendesk', 'c1');
    const first = await loadProgress(redis, key, 'base-1', log);
    expect([...first.done]).toEqual([]);
    first.onDone(fields('active'));
    first.onDone(invoice);

    const next = await loadProgress(redis, key, 'base-1', log);
    expect(next.done).toEqual(new Set([fields('active'), invoice]));
    expect(await redis.pttl(key)).toBeGreaterThan(23 * 3600_000);
  });

  it('counts for nothing once another state was accepted than the one the push was diffed from', async () => {
    const key = progressKey(prefix, 'zendesk', 'c2');
    (await loadProgress(redis, key, 'base-1', log)).onDone(fields('active'));

    expect((await loadProgress(redis, key, 'base-2', log)).done.size).toBe(0);
  });

  it('keeps only the content written last to a place: an older write there must be made again', async () => {
    const key = progressKey(prefix, 'zendesk', 'c3');
    const progress = await loadProgress(redis, key, 'base-1', log);
    progress.onDone(fields('active'));
    progress.onDone(fields('past_due'));

    expect(progress.done).toEqual(new Set([fields('past_due')]));
    expect((await loadProgress(redis, key, 'base-1', log)).done).toEqual(new Set([fields('past_due')]));
  });

  it('is deleted with the accepted state stored, and when another push was accepted meanwhile', async () => {
    for (const [customer, current, over] of [
      ['c4', null, ''],
      ['c5', '{"hash":"other"}', ''],
    ] as const) {
      const key = progressKey(prefix, 'zendesk', customer);
      const accepted = REDIS_KEYS.push(prefix).accepted('zendesk', customer);
      if (current !== null) await redis.set(accepted, current);
      (await loadProgress(redis, key, over, log)).onDone(invoice);

      await runScript(redis, 'push-accept-over', [accepted, key], [over, '{"hash":"new"}']);
      expect(await redis.exists(key)).toBe(0);
    }
  });
});
