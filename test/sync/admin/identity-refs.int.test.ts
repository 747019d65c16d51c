/** The identity fixes by the refs an admin types (sync/admin/identity-refs), on the real Redis. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityAdmin } from '../../../src/sync/admin/identity-admin.js';
import { identityKeyOf, linkRefs, unlinkRef } from '../../../src/sync/admin/identity-refs.js';
import { NotFoundError } from '../../../src/sync/admin/inspect.js';
import { prefixHoldsData } from '../../../src/sync/admin/prefix-data.js';
import type { CustomerRefs, SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { customer, event } from '../events/merge-events.js';

const prefix = uniquePrefix();
let redis: Redis;
let store: RecordStore;
let admin: IdentityAdmin;
const who = { by: 'ops@portal-sync', reason: 'TICKET-9' };

const stripeCustomer = (id: string, name: string, refs: CustomerRefs = {}): SourceEvent => ({
  ...customer({ version: 1_000, eventId: `evt_${id}` }, { name }),
  objectId: id,
  refs: { stripeCustomerId: id, ...refs },
});

beforeAll(() => {
  redis = new Redis(redisUrl());
  store = new RecordStore(redis, prefix);
  admin = new IdentityAdmin(store, redis);
});
afterAll(async () => {
  store.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('identity fixes by ref', () => {
  it('links the records two refs name (a Stripe id and a Zendesk organization) into one, audited', async () => {
    const a = await store.apply(stripeCustomer('cus_Ref0000001', 'Refco'));
    const org = await store.apply({
      ...event(
        '4242',
        { kind: 'zendesk.organization', id: '4242', name: 'Refco', externalId: null, tags: null },
        {
          version: 1_000,
        },
      ),
      refs: { zendeskOrganizationId: '4242' },
    });
    const joined = await linkRefs(store, admin, 'cus_Ref0000001', 'zendesk:org:4242', who);
    expect(joined.id).toBe(a.recordId);
    expect(await store.get(org.recordId)).toBeNull();
    expect((await store.findByKey('zdorg:4242'))?.id).toBe(a.recordId);
    expect(await admin.audit(a.recordId)).toEqual([expect.objectContaining({ action: 'link', reason: who.reason })]);
  });

  it('refuses to link the records of two Stripe customers, even when named by an email', async () => {
    await store.apply(stripeCustomer('cus_Ref0000002', 'Twoco'));
    const b = await store.apply(stripeCustomer('cus_Ref0000003', 'Twoco Billing', { email: 'ap@twoco.example' }));
    await expect(linkRefs(store, admin, 'cus_Ref0000002', 'ap@twoco.example', who)).rejects.toThrow(
      /stripe:cus_Ref0000002/,
    );
    expect((await store.findByKey('email:ap@twoco.example'))?.id).toBe(b.recordId);
  });

  it('unlinks an identity from the record a ref names, into a record of its own', async () => {
    await store.apply(stripeCustomer('cus_Ref0000004', 'Splitco', { email: 'shared@split.example' }));
    const out = await unlinkRef(store, admin, 'shared@split.example', 'email:shared@split.example', who);
    expect(out.moved?.id).not.toBe(out.kept.id);
    expect((await store.findByKey('email:shared@split.example'))?.id).toBe(out.moved?.id);
    expect((await store.findByKey('stripe:cus_Ref0000004'))?.id).toBe(out.kept.id);
  });

  it('refuses to link when a ref names no customer, changing nothing', async () => {
    await expect(linkRefs(store, admin, 'cus_Ref0000001', 'cus_RefNobody1', who)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reads an identity as a stored key or a ref, and refuses a record id or what names nothing', () => {
    expect(identityKeyOf('stripe:cus_Ref0000001')).toEqual({ key: 'stripe:cus_Ref0000001' });
    expect(identityKeyOf('cus_Ref0000001')).toEqual({ key: 'stripe:cus_Ref0000001' });
    expect(identityKeyOf('zendesk:org:42')).toEqual({ key: 'zdorg:42' });
    expect(identityKeyOf('Ann@Example.com')).toEqual({ key: 'email:ann@example.com' });
    expect(identityKeyOf('cust_abc123')).toEqual({ error: expect.stringContaining('is a record id') });
    expect(identityKeyOf('acme')).toEqual({ error: expect.stringContaining('cannot tell what "acme" is') });
  });
});

describe('a prefix that holds data', () => {
  it('is told from a prefix that holds nothing (a wrong REDIS_PREFIX), without writing to it', async () => {
    await store.apply(stripeCustomer('cus_Ref0000005', 'Anything'));
    expect(await prefixHoldsData(redis, prefix)).toBe(true);
    const empty = uniquePrefix();
    expect(await prefixHoldsData(redis, empty)).toBe(false);
    expect(await redis.keys(`${empty}:*`)).toEqual([]);
  });
});
