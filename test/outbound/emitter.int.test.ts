/**
 * The emitter on real Redis, where the events worker's hooks race: changes
 * of one customer stored one after the other, whose onApplied hooks run
 * late, out of order or at the same moment, still reach the lane as one
 * chain of changes in the order they were stored — never a newer state
 * followed by an older one — and a hook run again records nothing twice.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { OutboundEmitter } from '../../src/sync/outbound/emitter.js';
import { createOutboundQueue, type OutboundQueue } from '../../src/sync/outbound/queue.js';
import { OutboundStore } from '../../src/sync/outbound/store.js';
import type { OutboundEvent } from '../../src/sync/outbound/types.js';
import { RecordStore, type ApplyOutcome } from '../../src/sync/events/store.js';
import type { CustomerRecord } from '../../src/sync/events/record.js';
import type { SourceEvent } from '../../src/sync/events/source-event.js';
import { customer, replay, subscription, user } from '../sync/events/merge-events.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';

const SETTINGS = {
  concurrency: 1,
  backoffMs: 20,
  maxBackoffMs: 200,
  pauseAfterMs: 60_000,
  retentionMs: 3_600_000,
  attemptsKept: 100,
};
const STATUSES = ['active', 'past_due', 'unpaid', 'canceled'] as const;
let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  redis.disconnect();
  for (const p of prefixes) await deleteByPrefix(redisUrl(), p);
});

function harness() {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const records = new RecordStore(redis, prefix);
  const store = new OutboundStore(redis, prefix, SETTINGS);
  const queue: OutboundQueue = createOutboundQueue(redis, prefix, 'all');
  const emitter = new OutboundEmitter({
    redis,
    records,
    store,
    subscriptions: [{ id: 'all', url: 'http://127.0.0.1:9/unused', events: ['*'], timeoutMs: 1000, secrets: [] }],
    queues: new Map([['all', queue]]),
    logger: createLogger('silent'),
  });
  const commit = (r: CustomerRecord) => redis.set(records.recordKey(r.id), JSON.stringify(r));
  const outcome = (previous: CustomerRecord | null, record: CustomerRecord): ApplyOutcome => ({
    recordId: record.id,
    changed: true,
    record,
    previous,
    mergedIds: [],
    conflicts: [],
    tie: null,
    attempts: 1,
  });
  const lane = async (customerId: string): Promise<OutboundEvent[]> => {
    const ids = await redis.lrange(store.keys.lane('all', customerId), 0, -1);
    return Promise.all(ids.map(async (id) => JSON.parse((await redis.get(store.keys.event(id)))!) as OutboundEvent));
  };
  return { store, records, queue, emitter, commit, outcome, lane };
}

describe("the emitter, when the hooks of one customer's changes race", () => {
  it('queues one chain of changes in the order they were stored', async () => {
    const h = harness();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...STATUSES), { minLength: 2, maxLength: 6 }),
        fc.array(fc.nat({ max: 6 }), { minLength: 6, maxLength: 6 }),
        async (statuses, delays) => {
          const id = `cust_race${run++}`;
          const records = [replay([customer({ version: 1_000 })], id)];
          for (const [i, s] of statuses.entries())
            records.push(replay([customer({ version: 1_000 }), subscription('sub_1', s, { version: 2_000 + i })], id));
          await h.commit(records[0]!);
          await h.emitter.onApplied(h.outcome(null, records[0]!), { retry: false });
          // Change i is stored at step i; its hook runs at step i + delay (hooks due at one step run at once).
          const due = new Map<number, number[]>();
          statuses.forEach((_, k) => {
            const i = k + 1;
            const at = Math.min(statuses.length, i + delays[k]!);
            due.set(at, [...(due.get(at) ?? []), i]);
          });
          for (let step = 1; step <= statuses.length; step++) {
            await h.commit(records[step]!);
            await Promise.all(
              (due.get(step) ?? []).map((i) =>
                h.emitter.onApplied(h.outcome(records[i - 1]!, records[i]!), { retry: false }),
              ),
            );
          }
          const events = await h.lane(id);
          const versions = events.map((e) => e.data.customer!.version!);
          expect([...versions].sort((a, b) => a - b)).toEqual(versions);
          const updates = events.filter((e) => e.type === 'customer.updated').map((e) => e.data.customer!.version);
          expect(updates).toEqual(updates.map((_, i) => i + 2));
          let status: string | null = null;
          for (const e of events.filter((x) => x.type === 'billing.status_changed')) {
            expect((e.data.from as { status: string | null }).status).toBe(status);
            status = (e.data.to as { status: string | null }).status;
          }
          expect(status).toBe(statuses.at(-1));
        },
      ),
      { numRuns: 40 },
    );
    await h.queue.close();
  });

  it('records nothing twice when a hook runs again, and makes sure the lane has a job on a retry', async () => {
    const h = harness();
    const r0 = replay([customer({ version: 1_000 })], 'cust_again');
    const r1 = replay(
      [customer({ version: 1_000 }), subscription('sub_1', 'active', { version: 2_000 })],
      'cust_again',
    );
    await h.commit(r0);
    expect(await h.emitter.onApplied(h.outcome(null, r0), { retry: false })).toBe(1);
    await h.commit(r1);
    expect(await h.emitter.onApplied(h.outcome(r0, r1), { retry: false })).toBe(2);
    expect(await h.emitter.onApplied(h.outcome(r0, r1), { retry: false })).toBe(0);
    // A retried job sees its own change as "unchanged": nothing new, but a lost lane job is made again.
    await h.queue.obliterate({ force: true });
    expect(await h.emitter.onApplied(h.outcome(r1, r1), { retry: true })).toBe(0);
    expect((await h.lane('cust_again')).map((e) => `${e.type}@${e.data.customer!.version}`)).toEqual([
      'customer.created@1',
      'customer.updated@2',
      'billing.status_changed@2',
    ]);
    expect(await h.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect((await h.store.state('all')).pending).toBe(3);
    await h.queue.close();
  });

  it("tells a new customer's first changes whole when a later change's hook runs before the first one's", async () => {
    const h = harness();
    const r0 = replay([customer({ version: 1_000 })], 'cust_first');
    const r1 = replay(
      [customer({ version: 1_000 }), subscription('sub_1', 'active', { version: 2_000 })],
      'cust_first',
    );
    const r2 = replay(
      [
        customer({ version: 1_000 }),
        subscription('sub_1', 'active', { version: 2_000 }),
        subscription('sub_2', 'past_due', { version: 3_000 }),
      ],
      'cust_first',
    );
    // Three jobs stored the customer, then two changes; the hook of the last runs first.
    await h.commit(r2);
    await h.emitter.onApplied(h.outcome(r1, r2), { retry: false });
    await h.emitter.onApplied(h.outcome(null, r0), { retry: false });
    await h.emitter.onApplied(h.outcome(r0, r1), { retry: false });
    const lane = await h.lane('cust_first');
    expect(lane.map((e) => `${e.type}@${e.data.customer!.version}`)).toEqual([
      'customer.created@1',
      'billing.status_changed@1',
    ]);
    expect(lane[1]!.data).toMatchObject({ from: { status: null } });
    await h.queue.close();
  });

  it('tells a merge whose job died after storing it: the retry finds nothing left to merge, the store kept a note', async () => {
    const h = harness();
    const x = await h.records.apply({
      ...customer({ version: 1_000 }, { email: 'ann@merge.example' }),
      refs: { stripeCustomerId: 'cus_1', email: 'ann@merge.example' },
    });
    await h.emitter.onApplied(x, { retry: false });
    const y = await h.records.apply({
      ...user('u_merge', 'ann.other@merge.example', { version: 1_000 }),
      refs: { zendeskUserId: 'u_merge', email: 'ann.other@merge.example' },
    });
    await h.emitter.onApplied(y, { retry: false });
    // The Zendesk user now has the Stripe customer's email: one customer. The job stores the merge and dies.
    const linked = {
      ...user('u_merge', 'ann@merge.example', { version: 2_000 }),
      refs: { zendeskUserId: 'u_merge', email: 'ann@merge.example' },
    };
    const merge = await h.records.apply(linked);
    expect(merge.mergedIds).toHaveLength(1);
    const retry = await h.records.apply(linked);
    expect(retry.mergedIds).toEqual([]);
    await h.emitter.onApplied(retry, { retry: true });
    const told = (await h.lane(merge.recordId)).filter((e) => e.type === 'customer.merged');
    expect(told).toHaveLength(1);
    expect(told[0]!.data).toMatchObject({ mergedIds: merge.mergedIds });
    expect(await redis.exists(h.records.untoldKey(merge.recordId))).toBe(0);
    // Told once: the hook running again tells nothing more.
    await h.emitter.onApplied(retry, { retry: true });
    expect((await h.lane(merge.recordId)).filter((e) => e.type === 'customer.merged')).toHaveLength(1);
    await h.queue.close();
  });

  it('costs nothing without subscriptions', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const records = new RecordStore(redis, prefix);
    const emitter = new OutboundEmitter({
      redis,
      records,
      store: new OutboundStore(redis, prefix, SETTINGS),
      subscriptions: [],
      queues: new Map(),
      logger: createLogger('silent'),
    });
    const r0 = replay([customer({ version: 1_000 })], 'cust_none');
    await redis.set(records.recordKey(r0.id), JSON.stringify(r0));
    expect(
      await emitter.onApplied(
        {
          recordId: r0.id,
          changed: true,
          record: r0,
          previous: null,
          mergedIds: [],
          conflicts: [],
          tie: null,
          attempts: 1,
        },
        { retry: false },
      ),
    ).toBe(0);
    expect(await redis.keys(`${prefix}:outbound:*`)).toEqual([]);
  });
});

describe('the emitter, for a customer with many identity keys', () => {
  it('tells the Account a Stripe customer is linked to by its identity keys alone, from the key index or, without one, from the whole key set', async () => {
    const h = harness();
    const account = '001000000000777AAA';
    const linked = (id: string, version: number, balance = 0): SourceEvent => ({
      ...customer(
        { version, eventId: `evt_keys_${id}_${version}` },
        { email: `billing@${id}.example`, balance, metadata: { salesforce_account_id: account } },
      ),
      objectId: id,
      refs: { stripeCustomerId: id, salesforceAccountId: account, email: `billing@${id}.example` },
    });
    const first = await h.records.apply(linked('cus_keys', 1_000));
    expect(first.record.derived.links.salesforceAccountId).toBeNull();
    await h.emitter.onApplied(first, { retry: false });
    // A record whose key index an earlier release did not write: read whole, the same links.
    await redis.del(h.records.keyIndexKey(first.recordId));
    const second = await h.records.apply(linked('cus_keys', 2_000, -500));
    await redis.del(h.records.keyIndexKey(first.recordId));
    await h.emitter.onApplied(second, { retry: false });
    const told = await h.lane(first.recordId);
    expect(told.length).toBeGreaterThanOrEqual(2);
    for (const e of told) expect(JSON.stringify(e.data)).toContain(`"salesforceAccountId":"${account}"`);
  });
});
