/**
 * A merge stored by a job that then failed: the retry finds nothing left to merge, and the deflection feed
 * moves the merged-away customer's sessions from the record store's note instead (real Redis, real store).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createTicketClassifier } from '../../../src/sync/events/ticket-categories.js';
import { createDeflectionFeed } from '../../../src/sync/deflection/feed.js';
import type { DeflectionTracker } from '../../../src/sync/deflection/tracker.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { customer, user } from '../events/merge-events.js';

const prefix = uniquePrefix();
let redis: Redis;
beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('deflection after a merge whose job failed', () => {
  it('moves the merged-away sessions on the retry, once', async () => {
    const loaded = loadConfig({});
    if (!loaded.ok) throw new Error(loaded.problems.join('; '));
    const store = new RecordStore(redis, prefix);
    const moved: Array<[string, readonly string[]]> = [];
    const tracker = {
      onMerged: async (id: string, ids: readonly string[]) => void moved.push([id, ids]),
    } as unknown as DeflectionTracker;
    const feed = createDeflectionFeed({
      tracker,
      classifier: createTicketClassifier(loaded.config.ticketCategories),
      activityCategories: {},
      merges: store,
    });

    await store.apply({
      ...customer({ version: 1_000 }, { email: 'eve@merge.example' }),
      refs: { stripeCustomerId: 'cus_1', email: 'eve@merge.example' },
    });
    await store.apply({
      ...user('u_eve', 'eve.other@merge.example', { version: 1_000 }),
      refs: { zendeskUserId: 'u_eve', email: 'eve.other@merge.example' },
    });
    const linked = {
      ...user('u_eve', 'eve@merge.example', { version: 2_000 }),
      refs: { zendeskUserId: 'u_eve', email: 'eve@merge.example' },
    };
    const merge = await store.apply(linked); // stored; the job fails before its hooks ran
    expect(merge.mergedIds).toHaveLength(1);
    const retry = await store.apply(linked);
    expect(retry.mergedIds).toEqual([]);

    await feed(linked, retry, { retry: true });
    expect(moved).toEqual([[merge.recordId, merge.mergedIds]]);
    expect(await store.unmoved(merge.recordId)).toEqual([]);
    await feed(linked, retry, { retry: true }); // nothing left to move
    expect(moved).toHaveLength(1);
  });
});
