/** What an admin reads of one customer (sync/admin/inspect), on the real Redis: found by any ref, explained on request. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityAdmin } from '../../../src/sync/admin/identity-admin.js';
import { inspectCustomer, NotFoundError } from '../../../src/sync/admin/inspect.js';
import type { CustomerRefs, SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { customer, event, invoice } from '../events/merge-events.js';

const prefix = uniquePrefix();
let redis: Redis;
let store: RecordStore;
const who = { by: 'ops@portal-sync', reason: 'TICKET-7' };
const noAccounts = { explain: false, stripeAccounts: [] };

const withRefs = (e: SourceEvent, refs: CustomerRefs): SourceEvent => ({ ...e, refs });
const stripeCustomer = (id: string, version: number, name: string, refs: CustomerRefs = {}) =>
  withRefs(
    { ...customer({ version, eventId: `evt_${id}_${version}` }, { name }), objectId: id },
    { stripeCustomerId: id, ...refs },
  );
const account = (id: string, version: number, name: string) =>
  withRefs(
    event(
      id,
      { kind: 'salesforce.account', fields: { Id: id, Name: name } },
      { version, eventId: `om_${id}_${version}` },
    ),
    { salesforceAccountId: id },
  );

beforeAll(() => {
  redis = new Redis(redisUrl());
  store = new RecordStore(redis, prefix);
});
afterAll(async () => {
  store.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('inspecting one customer', () => {
  it('finds the customer from its Stripe id or its email and shows the identity keys it owns, with no explanation unless asked', async () => {
    const applied = await store.apply(
      stripeCustomer('cus_Insp0001', 1_000, 'Inspected Ltd', { email: 'billing@inspected.example' }),
    );
    const byId = await inspectCustomer(redis, store, 'cus_Insp0001', noAccounts);
    expect(byId.record.id).toBe(applied.recordId);
    expect(byId.keys).toEqual(expect.arrayContaining(['stripe:cus_Insp0001', 'email:billing@inspected.example']));
    expect(byId.explained).toBeNull();
    const byEmail = await inspectCustomer(redis, store, 'billing@inspected.example', noAccounts);
    expect(byEmail.record.id).toBe(applied.recordId);
  });

  it('names the listed Stripe account the customer is in, from its key', async () => {
    await store.apply(stripeCustomer('cus_Insp0002', 1_000, 'Single Account Co'));
    const found = await inspectCustomer(redis, store, 'cus_Insp0002', {
      explain: false,
      stripeAccounts: [{ id: null, label: 'default' }],
    });
    expect(found.stripe).toEqual({ customerId: 'cus_Insp0002', accountId: null, label: 'default' });
  });

  it('explains which event set each part and the manual link that joined the record, audited with who and why', async () => {
    const s = await store.apply(stripeCustomer('cus_Insp0003', 1_000, 'Linked Co'));
    await store.apply(
      withRefs(invoice('in_Insp0003', 'open', { version: 1_001 }), { stripeCustomerId: 'cus_Insp0003' }),
    );
    const a = await store.apply(account('001INSP03', 1_000, 'Linked Co'));
    await new IdentityAdmin(store, redis).link(s.recordId, a.recordId, who);
    const { explained } = await inspectCustomer(redis, store, 'cus_Insp0003', { explain: true, stripeAccounts: [] });
    expect(explained?.lineage.map((l) => [l.entity, l.eventId])).toEqual([
      ['salesforce.account', 'om_001INSP03_1000'],
      ['stripe.customer', 'evt_cus_Insp0003_1000'],
      ['stripe.invoice in_Insp0003', expect.any(String)],
    ]);
    expect(explained?.audit).toEqual([expect.objectContaining({ action: 'link', by: who.by, reason: who.reason })]);
    expect(explained?.identity.linkedBy).toEqual(expect.arrayContaining(['stripe:cus_Insp0003', 'sfacct:001INSP03']));
    expect(explained?.identity.conflicts).toEqual([]);
  });

  it('refuses a name that fits several customers, listing each candidate to choose from', async () => {
    await store.apply(stripeCustomer('cus_Twin00001', 1_000, 'Twinsworth East'));
    await store.apply(stripeCustomer('cus_Twin00002', 1_000, 'Twinsworth West'));
    const refused = inspectCustomer(redis, store, 'twinsworth', noAccounts);
    await expect(refused).rejects.toBeInstanceOf(NotFoundError);
    const message = await refused.catch((err: Error) => err.message);
    expect(message).toMatch(/\n {2}cust_\S+ +Twinsworth East/);
    expect(message).toMatch(/\n {2}cust_\S+ +Twinsworth West/);
  });

  it('says so when a ref names no customer', async () => {
    await expect(inspectCustomer(redis, store, 'cus_Nobody0001', noAccounts)).rejects.toBeInstanceOf(NotFoundError);
  });
});
