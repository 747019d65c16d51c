/** Manual identity fixes on the real Redis: link, unlink, audit, and an unlink that sticks. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityAdmin } from '../../../src/sync/admin/identity-admin.js';
import { isPersonField, MAX_INLINE_PEOPLE } from '../../../src/sync/events/people.js';
import type { CustomerRefs, SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { customer, event, invoice } from '../events/merge-events.js';

const prefix = uniquePrefix();
let redis: Redis;
let store: RecordStore;
let admin: IdentityAdmin;
const who = { by: 'ops@portal-sync', reason: 'TICKET-42' };

const withRefs = (e: SourceEvent, refs: CustomerRefs): SourceEvent => ({ ...e, refs });
const stripeCustomer = (id: string, version: number, refs: CustomerRefs = {}, name = 'Acme') =>
  withRefs(
    { ...customer({ version, eventId: `evt_${id}_${version}` }, { name }), objectId: id },
    { stripeCustomerId: id, ...refs },
  );
const account = (id: string, version: number, name = 'Acme Ltd') =>
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
  admin = new IdentityAdmin(store, redis);
});
afterAll(async () => {
  store.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('identity link and unlink', () => {
  it('links a Stripe-only and a Salesforce-only record into one, and keeps who and why', async () => {
    const s = await store.apply(stripeCustomer('cus_lnk', 1_000));
    await store.apply(withRefs(invoice('in_lnk', 'open', { version: 1_001 }), { stripeCustomerId: 'cus_lnk' }));
    const a = await store.apply(account('001LNK', 1_000));
    const merged = await admin.link(s.recordId, a.recordId, who);
    expect(merged.derived.links).toMatchObject({ stripeCustomerId: 'cus_lnk', salesforceAccountId: '001LNK' });
    expect((await store.findByKey('sfacct:001LNK'))?.id).toBe(s.recordId);
    expect(await store.get(a.recordId)).toBeNull();
    expect(await admin.audit(s.recordId)).toEqual([
      expect.objectContaining({ action: 'link', by: who.by, reason: who.reason, keys: ['sfacct:001LNK'] }),
    ]);
    // Later events for either side land in the linked record.
    await store.apply(account('001LNK', 2_000, 'Acme Renamed'));
    expect((await store.get(s.recordId))?.derived.profile?.name).toBe('Acme Renamed');
  });

  it('refuses to link two records that hold different Stripe customers', async () => {
    const x = await store.apply(stripeCustomer('cus_x1', 1_000));
    const y = await store.apply(stripeCustomer('cus_x2', 1_000));
    await expect(admin.link(x.recordId, y.recordId, who)).rejects.toThrow(/stripe:cus_x1 .* stripe:cus_x2/);
    expect(await store.get(y.recordId)).not.toBeNull();
  });

  it('splits a wrongly joined Stripe customer out without losing either side, and the split sticks', async () => {
    const joined = await store.apply(
      stripeCustomer('cus_wrong', 1_000, { salesforceAccountId: '001RIGHT' }, 'Wrong Co'),
    );
    await store.apply(account('001RIGHT', 1_000, 'Right Co'));
    await store.apply(withRefs(invoice('in_wrong', 'open', { version: 1_002 }), { stripeCustomerId: 'cus_wrong' }));
    const { kept, moved } = await admin.unlink(joined.recordId, 'stripe:cus_wrong', who);
    expect(kept.derived.links).toMatchObject({ stripeCustomerId: null, salesforceAccountId: '001RIGHT' });
    expect(kept.derived.profile?.name).toBe('Right Co');
    expect(moved?.derived.links.stripeCustomerId).toBe('cus_wrong');
    expect(moved?.derived.invoices.map((i) => i.id)).toEqual(['in_wrong']);
    expect((await store.findByKey('stripe:cus_wrong'))?.id).toBe(moved!.id);
    // Stripe sends the same wrong metadata again: the two stay apart.
    await store.apply(stripeCustomer('cus_wrong', 2_000, { salesforceAccountId: '001RIGHT' }, 'Wrong Co Renamed'));
    const stripeSide = await store.findByKey('stripe:cus_wrong');
    expect(stripeSide?.id).toBe(moved!.id);
    expect(stripeSide?.stripe.customer?.data.name).toBe('Wrong Co Renamed');
    expect((await store.findByKey('sfacct:001RIGHT'))?.derived.links.stripeCustomerId).toBeNull();
    expect((await admin.audit(joined.recordId)).map((a) => a.action)).toEqual(['unlink']);
    // …until an admin links them on purpose.
    await admin.link(joined.recordId, moved!.id, { by: 'ops', reason: 'it was right after all' });
    expect((await store.findByKey('stripe:cus_wrong'))?.id).toBe(joined.recordId);
  });

  it('drops an email link without creating a record', async () => {
    const r = await store.apply(stripeCustomer('cus_mail', 1_000, { email: 'shared-inbox@x.example' }));
    const { moved } = await admin.unlink(r.recordId, 'email:shared-inbox@x.example', who);
    expect(moved).toBeNull();
    expect(await store.findByKey('email:shared-inbox@x.example')).toBeNull();
    expect(await store.ownedKeys(r.recordId)).toEqual(['stripe:cus_mail']);
    // The next webhook with the same email does not bring the link back.
    await store.apply(stripeCustomer('cus_mail', 2_000, { email: 'shared-inbox@x.example' }));
    expect(await store.findByKey('email:shared-inbox@x.example')).toBeNull();
  });

  it('forgets a record only when told to: record, links and count gone, the removal audited', async () => {
    const r = await store.apply(stripeCustomer('cus_gone', 1_000, { email: 'gone@x.example' }));
    const before = await redis.scard(store.customersKey);
    const { keys } = await admin.forget(r.recordId, { by: 'dpo', reason: 'erasure request #7' });
    expect(keys).toEqual(['email:gone@x.example', 'stripe:cus_gone']);
    expect(await store.get(r.recordId)).toBeNull();
    expect(await store.findByKey('stripe:cus_gone')).toBeNull();
    expect(await redis.scard(store.customersKey)).toBe(before - 1);
    const audit = (await redis.lrange(store.globalAuditKey, 0, -1)).map((e) => JSON.parse(e));
    expect(audit.at(-1)).toMatchObject({
      action: 'forget',
      by: 'dpo',
      reason: 'erasure request #7',
      recordIds: [r.recordId],
    });
    // A later event starts afresh rather than reviving the forgotten record.
    const again = await store.apply(stripeCustomer('cus_gone', 2_000));
    expect(again.recordId).not.toBe(r.recordId);
  });

  it('unlinks an Account with its contacts kept beside the record (past its first people) too: they move, keys and entries, and each half, and a link of the two, keeps its first people', async () => {
    const acct = '001UNLPPL';
    const contactOf = (n: number) => {
      const id = `003UNLPPL${String(n).padStart(6, '0')}`;
      return withRefs(
        event(
          id,
          {
            kind: 'salesforce.contact',
            accountId: acct,
            email: `p${n}@unl.example`,
            name: `P${n}`,
            fields: { Id: id },
          },
          { version: 2_000 },
        ),
        { salesforceAccountId: acct, salesforceContactId: id, email: `p${n}@unl.example` },
      );
    };
    const joined = await store.apply(stripeCustomer('cus_unlppl', 1_000, { salesforceAccountId: acct }));
    const people = MAX_INLINE_PEOPLE + 8;
    for (let n = 0; n < people; n++) await store.apply(contactOf(n));
    expect((await redis.hkeys(store.peopleKey(joined.recordId))).filter(isPersonField)).toHaveLength(8);
    const { kept, moved } = await admin.unlink(joined.recordId, `sfacct:${acct}`, who);
    expect(Object.keys(kept.salesforce.contacts)).toHaveLength(0);
    expect(await redis.exists(store.peopleKey(joined.recordId))).toBe(0);
    const movedFull = await store.getFull(moved!.id);
    expect(Object.keys(movedFull!.salesforce.contacts)).toHaveLength(people);
    expect(Object.keys((await store.get(moved!.id))!.salesforce.contacts)).toHaveLength(MAX_INLINE_PEOPLE);
    // A contact that was beside the Stripe customer's record finds the Account's record now, and is held there.
    const last = `003UNLPPL${String(people - 1).padStart(6, '0')}`;
    expect((await store.findByKey(`sfcontact:${last}`))?.id).toBe(moved!.id);
    expect(await redis.hexists(store.peopleKey(moved!.id), `sfcontact:${last}`)).toBe(1);
    expect(await redis.hget(store.peopleKey(moved!.id), `email:p${people - 1}@unl.example`)).toBe(`sfcontact:${last}`);
    // Linked back by an admin: one record again, its first people in it and the rest beside it.
    const relinked = await admin.link(moved!.id, kept.id, who);
    expect(Object.keys(relinked.salesforce.contacts)).toHaveLength(MAX_INLINE_PEOPLE);
    expect(Object.keys((await store.getFull(moved!.id))!.salesforce.contacts)).toHaveLength(people);
  });
});
