/**
 * One store applying many events of one customer at once (a worker's concurrency, a webhook burst):
 * the events queue behind each other in the store instead of racing their optimistic transactions,
 * so none of them computes its change twice, and the record is what applying them in order gives.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordStore } from '../../../src/sync/events/store.js';
import type { CustomerRefs, SourceEvent } from '../../../src/sync/events/source-event.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { customer, invoice, organization, replay, subscription } from './merge-events.js';

const prefix = uniquePrefix();
let redis: Redis;
let store: RecordStore;
let other: RecordStore;

const withRefs = (e: SourceEvent, refs: CustomerRefs): SourceEvent => ({ ...e, refs });

beforeAll(() => {
  redis = new Redis(redisUrl());
  store = new RecordStore(redis, prefix);
  other = new RecordStore(redis, prefix);
});
afterAll(async () => {
  store.close();
  other.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('record store under one hot customer', () => {
  it('applies 60 concurrent events of one known customer without retrying a transaction', async () => {
    const refs = { stripeCustomerId: 'cus_hot', email: 'hot@hot.example' };
    const first = await store.apply(
      withRefs({ ...customer({ version: 1_000 }, { email: 'hot@hot.example' }), objectId: 'cus_hot' }, refs),
    );
    const events = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0
        ? withRefs(subscription('sub_hot', i % 2 ? 'active' : 'past_due', { version: 2_000 + i }), refs)
        : withRefs(invoice(`in_hot_${i}`, 'open', { version: 2_000 + i }), refs),
    );
    const outcomes = await Promise.all(events.map((e) => store.apply(e)));
    expect(outcomes.map((o) => o.attempts)).toEqual(events.map(() => 1));
    expect(new Set(outcomes.map((o) => o.recordId))).toEqual(new Set([first.recordId]));
    const stored = await store.get(first.recordId);
    expect(Object.keys(stored!.stripe.invoices)).toHaveLength(40);
    expect(stored!.stripe.subscriptions.sub_hot?.stamp.version).toBe(2_057);
  });

  it('files the concurrent first events of a new customer under one record, each computed once', async () => {
    const refs = { stripeCustomerId: 'cus_new_hot' };
    const events = Array.from({ length: 20 }, (_, i) =>
      withRefs(invoice(`in_new_${i}`, 'paid', { version: 3_000 + i }), refs),
    );
    const outcomes = await Promise.all(events.map((e) => store.apply(e)));
    expect(outcomes.map((o) => o.attempts)).toEqual(events.map(() => 1));
    const ids = new Set(outcomes.map((o) => o.recordId));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(await store.get(id!)).toEqual(replay(events, id));
  });

  it('serializes a customer’s events that name it by different systems once they are linked', async () => {
    const refs = { stripeCustomerId: 'cus_two_ways', zendeskOrganizationId: '7007' };
    const linked = await store.apply(withRefs({ ...customer({ version: 1_000 }), objectId: 'cus_two_ways' }, refs));
    const events = Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0
        ? withRefs(invoice(`in_two_${i}`, 'open', { version: 4_000 + i }), { stripeCustomerId: 'cus_two_ways' })
        : withRefs(
            { ...organization({ version: 4_000 + i }, `Org ${i}`), objectId: '7007' },
            { zendeskOrganizationId: '7007' },
          ),
    );
    const outcomes = await Promise.all(events.map((e) => store.apply(e)));
    expect(new Set(outcomes.map((o) => o.recordId))).toEqual(new Set([linked.recordId]));
    expect(outcomes.map((o) => o.attempts)).toEqual(events.map(() => 1));
    const stored = await store.get(linked.recordId);
    expect(stored!.zendesk.organization?.stamp.version).toBe(4_029);
  });

  it('files an event under the record the index names when another worker merged away the record this one saw last', async () => {
    const account = (version: number, name: string): SourceEvent =>
      withRefs(
        {
          ...customer({ version }),
          source: 'salesforce',
          objectId: '001MOVED',
          eventId: `om-moved-${version}`,
          type: 'outbound.Account',
          data: { kind: 'salesforce.account', fields: { Id: '001MOVED', Name: name } },
        },
        { salesforceAccountId: '001MOVED' },
      );
    const billing = await store.apply(
      withRefs({ ...customer({ version: 1_000 }), objectId: 'cus_moved' }, { stripeCustomerId: 'cus_moved' }),
    );
    const crm = await store.apply(account(1, 'Before Ltd'));
    expect(crm.recordId).not.toBe(billing.recordId);
    // Another worker links them: the account's record is merged into the Stripe customer's.
    const linked = await other.apply(
      withRefs(
        { ...customer({ version: 2_000 }, { metadata: { salesforce_account_id: '001MOVED' } }), objectId: 'cus_moved' },
        { stripeCustomerId: 'cus_moved', salesforceAccountId: '001MOVED' },
      ),
    );
    expect(linked.mergedIds).toEqual([crm.recordId]);
    // This store last saw the account under the record that is gone now.
    const next = await store.apply(account(2, 'After Ltd'));
    expect(next.recordId).toBe(billing.recordId);
    expect(await store.get(crm.recordId)).toBeNull();
    expect((await store.findByKey('sfacct:001MOVED'))?.derived.profile?.name).toBe('After Ltd');
  });
});
