/**
 * What `resync --customer` and `resync --dry-run` read (sync/admin/resync-preview), on the real Redis:
 * the platform ids of the customer a ref names, and the portal changes snapshots would make — stored nowhere.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerToResync, previewResync, type PreviewSettings } from '../../../src/sync/admin/resync-preview.js';
import type { CustomerRefs, SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { MappingSchema } from '../../../src/sync/mapping/schema.js';
import type { SnapshotStream } from '../../../src/sync/resync/snapshot.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { customer, subscription } from '../events/merge-events.js';

const prefix = uniquePrefix();
let redis: Redis;
let store: RecordStore;
const settings: PreviewSettings = {
  redis: { prefix },
  mapping: MappingSchema.parse(undefined),
  portal: { targets: ['zendesk'] },
  ticketCategories: { rules: [], default: 'other' },
};

const withRefs = (e: SourceEvent, refs: CustomerRefs): SourceEvent => ({ ...e, refs });
const stripeCustomer = (id: string, version: number, refs: CustomerRefs = {}) =>
  withRefs(
    { ...customer({ version, eventId: `evt_${id}_${version}` }, { name: id }), objectId: id },
    {
      stripeCustomerId: id,
      ...refs,
    },
  );
const sub = (customerId: string, status: string, version: number) =>
  withRefs(subscription(`sub_${customerId}`, status, { version, origin: 'snapshot' }), {
    stripeCustomerId: customerId,
  });

/** A source read page by page, as the connectors' snapshot streams are: one page an array. */
const streamOf = (pages: SourceEvent[][]): SnapshotStream => ({
  name: 'stripe.subscriptions',
  source: 'stripe',
  page: async (cursor) => {
    const at = cursor === null ? 0 : Number(cursor);
    const events = pages[at] ?? [];
    return { events, next: at + 1 < pages.length ? String(at + 1) : null, read: events.length, rejected: [] };
  },
});

beforeAll(() => {
  redis = new Redis(redisUrl());
  store = new RecordStore(redis, prefix);
});
afterAll(async () => {
  store.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('resync --customer', () => {
  it("reads the customer's platform ids from the record a ref names, its Stripe account from its key", async () => {
    const applied = await store.apply(
      stripeCustomer('cus_Prev0001', 1_000, { stripeAccountId: 'acct_1PrevFAKE', email: 'ops@prev.example' }),
    );
    const found = await customerToResync(store, 'ops@prev.example');
    expect(found.recordId).toBe(applied.recordId);
    expect(found.ids).toMatchObject({ stripeCustomerId: 'cus_Prev0001', stripeAccountId: 'acct_1PrevFAKE' });
  });
});

describe('resync --dry-run', () => {
  it('lists, per customer, the portal fields every page of snapshots would change, and stores none of it', async () => {
    const known = await store.apply(stripeCustomer('cus_Prev0002', 1_000));
    await store.apply(sub('cus_Prev0002', 'active', 1_001));
    const before = await store.get(known.recordId);
    const preview = await previewResync(
      redis,
      store,
      settings,
      [streamOf([[sub('cus_Prev0002', 'past_due', 2_000)], [stripeCustomer('cus_PrevNew1', 2_000)]])],
      new AbortController().signal,
    );
    expect(preview.read).toBe(2);
    const [first, second] = preview.customers;
    expect(first).toMatchObject({ customerId: known.recordId });
    expect(first!.changes).toContainEqual({ field: 'billing.status', from: 'active', to: 'past_due' });
    expect(second).toMatchObject({ customerId: null, ref: 'stripe:cus_PrevNew1' });
    expect(await store.get(known.recordId)).toEqual(before);
    expect(await store.findByKey('stripe:cus_PrevNew1')).toBeNull();
  });

  it('stops at the next page once it is interrupted', async () => {
    const abort = new AbortController();
    abort.abort();
    await expect(
      previewResync(redis, store, settings, [streamOf([[sub('cus_Prev0002', 'canceled', 3_000)]])], abort.signal),
    ).rejects.toThrow('dry run interrupted');
  });
});
