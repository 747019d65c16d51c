/**
 * DeflectionData as the report reads it: the customer count kept by the
 * record store (and reconciled for records it never saw), and periods that
 * are [from, to).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { reconcileCustomers } from '../../../src/sync/deflection/customers.js';
import { createDeflectionData } from '../../../src/sync/deflection/store.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { subscription, user } from '../events/merge-events.js';
import { REDIS_KEYS } from '../../../src/sync/redis/keys.js';

const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
const prefixes: string[] = [];
let prefix: string;
let store: RecordStore;

const stripeCustomer = (id: string, email?: string): SourceEvent => {
  const e = subscription(`sub_${id}`, 'active', { version: 1_000 });
  return { ...e, refs: { stripeCustomerId: id, ...(email ? { email } : {}) } };
};

beforeEach(() => {
  prefix = uniquePrefix();
  prefixes.push(prefix);
  store = new RecordStore(redis, prefix);
});

afterAll(async () => {
  store.close();
  for (const p of prefixes) await deleteByPrefix(redisUrl(), p);
  redis.disconnect();
});

describe('counting customers for the report', () => {
  it('counts each record once, and a merge of two records as one customer', async () => {
    const data = createDeflectionData(redis, prefix);
    await store.apply(stripeCustomer('cus_1'));
    await store.apply(stripeCustomer('cus_2'));
    await store.apply(stripeCustomer('cus_1')); // the same customer again
    await redis.set(REDIS_KEYS.deflection(prefix).customersComplete, 'now');
    expect(await data.customerCount()).toBe(2);
    // A Zendesk user with cus_1's email and a Stripe event naming both: one customer.
    await store.apply({
      ...user('900', 'ann@example.com', { version: 1 }),
      refs: { zendeskUserId: '900', email: 'ann@example.com' },
    });
    expect(await data.customerCount()).toBe(3);
    const linking = stripeCustomer('cus_1', 'ann@example.com');
    const outcome = await store.apply({ ...linking, version: 2_000, eventId: 'link' });
    expect(outcome.mergedIds).toHaveLength(1);
    expect(await data.customerCount()).toBe(2);
  });

  it('counts records by SCAN until the worker has reconciled the set, which adds the ones stored before it existed', async () => {
    const data = createDeflectionData(redis, prefix);
    await store.apply(stripeCustomer('cus_a'));
    await store.apply(stripeCustomer('cus_b'));
    const keys = REDIS_KEYS.deflection(prefix);
    // As after an upgrade: records exist, the set does not know them; an admin's merge left a stale id behind.
    await redis.del(keys.customers);
    await redis.sadd(keys.customers, 'cust_gone');
    expect(await data.customerCount()).toBe(2);
    expect(await reconcileCustomers(redis, prefix)).toEqual({ added: 2, removed: 1 });
    expect(await redis.exists(keys.customersComplete)).toBe(1);
    expect(await data.customerCount()).toBe(2);
    expect(await redis.scard(keys.customers)).toBe(2);
  });
});

describe('periods', () => {
  it('include their start and exclude their end', async () => {
    const keys = REDIS_KEYS.deflection(prefix);
    const at = (iso: string) => Date.parse(iso);
    for (const t of ['2026-11-01T00:00:00.000Z', '2026-11-15T12:00:00.000Z', '2026-12-01T00:00:00.000Z']) {
      await redis.zadd(
        keys.tickets,
        at(t),
        JSON.stringify({ ticketId: t, customerId: 'cust_1', category: 'other', createdAt: t }),
      );
    }
    const data = createDeflectionData(redis, prefix);
    const november = await data.ticketsOpened(new Date('2026-11-01T00:00:00Z'), new Date('2026-12-01T00:00:00Z'));
    expect(november.map((t) => t.createdAt)).toEqual(['2026-11-01T00:00:00.000Z', '2026-11-15T12:00:00.000Z']);
    expect(await data.ticketsOpened(new Date('2026-12-01T00:00:00Z'), new Date('2026-11-01T00:00:00Z'))).toEqual([]);
    expect(await data.events(new Date('2026-11-01T00:00:00Z'), new Date('2026-12-01T00:00:00Z'))).toEqual([]);
  });
});
