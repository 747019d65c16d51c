/**
 * Stripe customer keys are account-scoped (stripe:<acct_…>:cus_…): equal customer ids of two accounts are two
 * customers. Records a single-account release wrote (stripe:cus_…) are upgraded by migrateStripeKeys without
 * losing a link, on real Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStripeEvent } from '../../../src/connectors/stripe/events.js';
import { findCustomer } from '../../../src/sync/admin/lookup.js';
import {
  migrateStripeKeys,
  MigrationRefusedError,
  stripeKeysMigratedTo,
} from '../../../src/sync/admin/migrate-stripe-keys.js';
import { linksFor } from '../../../src/sync/push/worker.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { fixture } from './merge-events.js';

const A = 'acct_1AccountAFAKE';
const B = 'acct_1AccountBFAKE';
let redis: Redis;
const prefixes: string[] = [];

function customerEvent(
  customerId: string,
  accountId: string | null,
  o: { eventId: string; created?: number; sfAccount?: string; email?: string },
): SourceEvent {
  const raw = fixture('stripe/customer.updated.json');
  raw.id = o.eventId;
  raw.created = o.created ?? raw.created;
  raw.data.object.id = customerId;
  raw.data.object.email = o.email ?? `${customerId.toLowerCase()}@example.test`;
  raw.data.object.metadata = o.sfAccount ? { salesforce_account_id: o.sfAccount } : {};
  const parsed = parseStripeEvent(raw, undefined, accountId);
  if (parsed.kind !== 'events') throw new Error(parsed.reason);
  return parsed.events[0]!;
}

function newStore(): { store: RecordStore; prefix: string } {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  return { store: new RecordStore(redis, prefix), prefix };
}

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  redis.disconnect();
  for (const p of prefixes) await deleteByPrefix(redisUrl(), p);
});

describe('account-scoped Stripe keys', () => {
  it('keeps equal customer ids of two accounts in two records, each found by acct_…:cus_…', async () => {
    const { store } = newStore();
    const a = await store.apply(customerEvent('cus_Same1', A, { eventId: 'evt_a1', email: 'billing@a.example.test' }));
    const b = await store.apply(customerEvent('cus_Same1', B, { eventId: 'evt_b1', email: 'billing@b.example.test' }));
    expect(a.recordId).not.toBe(b.recordId);
    expect(b.conflicts).toEqual([]);
    expect(await store.ownedKeys(a.recordId)).toContain(`stripe:${A}:cus_Same1`);
    expect(linksFor(a.record, await store.ownedKeys(a.recordId))).toMatchObject({
      stripeCustomerId: 'cus_Same1',
      stripeAccountId: A,
    });
    expect(await findCustomer(store, `${A}:cus_Same1`)).toMatchObject({ kind: 'found', record: { id: a.recordId } });
    // A bare cus_… names both: the admin is asked which.
    expect(await findCustomer(store, 'cus_Same1')).toMatchObject({
      kind: 'several',
      candidates: [expect.anything(), expect.anything()],
    });
    store.close();
  });
});

describe('migrateStripeKeys', () => {
  it('moves records written with single-account keys to the account, keeping every link, and later events of the account land in them', async () => {
    const { store, prefix } = newStore();
    // What a single-account release wrote: stripe:cus_… keys, a Salesforce link from metadata.
    const old = await store.apply(
      customerEvent('cus_Old1', null, { eventId: 'evt_old1', created: 1_700_000_000, sfAccount: '001TestAcme0001IEA' }),
    );
    const other = await store.apply(customerEvent('cus_Old2', null, { eventId: 'evt_old2', created: 1_700_000_000 }));
    expect(await store.ownedKeys(old.recordId)).toContain('stripe:cus_Old1');
    await redis.sadd(store.apartKey, `email:x@example.test|stripe:cus_Old2`);

    const dry = await migrateStripeKeys(redis, store, prefix, A, { dryRun: true });
    expect(dry).toMatchObject({ moved: 2, done: false });
    expect(await store.findByKey('stripe:cus_Old1')).not.toBeNull();

    const run = await migrateStripeKeys(redis, store, prefix, A);
    expect(run).toMatchObject({ accountId: A, moved: 2, clashes: [], done: true });
    expect(await store.findByKey('stripe:cus_Old1')).toBeNull();
    const moved = await store.findByKey(`stripe:${A}:cus_Old1`);
    expect(moved?.id).toBe(old.recordId);
    expect(await store.ownedKeys(old.recordId)).toEqual(
      expect.arrayContaining([`stripe:${A}:cus_Old1`, 'sfacct:001TestAcme0001IEA']),
    );
    expect(await store.ownedKeys(old.recordId)).not.toContain('stripe:cus_Old1');
    expect(await store.systemKeys(old.recordId)).toEqual([`sfacct:001TestAcme0001IEA`, `stripe:${A}:cus_Old1`]);
    expect(linksFor(moved!, await store.ownedKeys(old.recordId))).toMatchObject({
      stripeCustomerId: 'cus_Old1',
      stripeAccountId: A,
      salesforceAccountId: '001TestAcme0001IEA',
    });
    expect(await redis.smembers(store.apartKey)).toEqual([`email:x@example.test|stripe:${A}:cus_Old2`]);
    expect(await stripeKeysMigratedTo(redis, prefix)).toBe(A);

    // The account's next event joins the migrated record: no new record, no identity conflict.
    const next = await store.apply(
      customerEvent('cus_Old1', A, { eventId: 'evt_new1', created: 1_700_000_100, sfAccount: '001TestAcme0001IEA' }),
    );
    expect(next).toMatchObject({ recordId: old.recordId, mergedIds: [], conflicts: [] });
    const next2 = await store.apply(customerEvent('cus_Old2', A, { eventId: 'evt_new2', created: 1_700_000_100 }));
    expect(next2.recordId).toBe(other.recordId);
    store.close();
  });

  it('resumes where a run stopped, and refuses to move the keys to a second account', async () => {
    const { store, prefix } = newStore();
    for (let i = 0; i < 30; i++) await store.apply(customerEvent(`cus_Many${i}`, null, { eventId: `evt_many${i}` }));
    // A run cut short (killed after 12 keys), then run again.
    let stopAfter = 12;
    const partial = await migrateStripeKeys(redis, store, prefix, A, {
      onProgress: (n) => {
        if (n >= stopAfter) throw new Error('killed');
      },
    }).catch((err: Error) => err);
    expect(partial).toBeInstanceOf(Error);
    expect(await stripeKeysMigratedTo(redis, prefix)).toBeNull();
    stopAfter = Infinity;
    const rest = await migrateStripeKeys(redis, store, prefix, A);
    expect(rest).toMatchObject({ moved: 18, done: true });
    for (let i = 0; i < 30; i++)
      expect(await store.findByKey(`stripe:${A}:cus_Many${i}`), `cus_Many${i}`).not.toBeNull();
    expect(await migrateStripeKeys(redis, store, prefix, A)).toMatchObject({ moved: 0, done: true });
    await expect(migrateStripeKeys(redis, store, prefix, B)).rejects.toBeInstanceOf(MigrationRefusedError);
    store.close();
  });
});
