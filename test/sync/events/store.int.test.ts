/** The record store on the real Redis: identity across records, and no lost update under concurrency. */
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RecordStore } from '../../../src/sync/events/store.js';
import type { CustomerRefs, SourceEvent } from '../../../src/sync/events/source-event.js';
import { storesUnderPrefix } from '../../support/store.js';
import { customer, invoice, replay, subscription } from './merge-events.js';

let storeA: RecordStore;
let storeB: RecordStore;
storesUnderPrefix(2, ([a, b]) => {
  storeA = a!.store;
  storeB = b!.store;
});

const withRefs = (e: SourceEvent, refs: CustomerRefs): SourceEvent => ({ ...e, refs });

describe('record store', () => {
  it('joins a Stripe customer seen first and its Salesforce account seen later into one record', async () => {
    const c = withRefs(
      { ...customer({ version: 1_000 }), objectId: 'cus_join' },
      { stripeCustomerId: 'cus_join', email: 'join@x.example' },
    );
    const first = await storeA.apply(c);
    const acct = withRefs(
      {
        ...customer({ version: 1 }),
        source: 'salesforce',
        objectId: '001JOIN',
        eventId: 'om-1',
        type: 'outbound.Account',
        data: { kind: 'salesforce.account', fields: { Id: '001JOIN', Name: 'Join Ltd' } },
      },
      { salesforceAccountId: '001JOIN' },
    );
    const second = await storeA.apply(acct);
    expect(second.recordId).not.toBe(first.recordId); // nothing links them yet
    // A later Stripe update carries the cross-id: the two become one, indexes moved.
    const linked = withRefs(
      { ...customer({ version: 2_000 }, { metadata: { salesforce_account_id: '001JOIN' } }), objectId: 'cus_join' },
      { stripeCustomerId: 'cus_join', salesforceAccountId: '001JOIN' },
    );
    const merged = await storeA.apply(linked);
    expect(merged.mergedIds).toEqual([second.recordId]);
    const record = await storeA.findByKey('sfacct:001JOIN');
    expect(record?.id).toBe(first.recordId);
    expect(record?.derived.links).toMatchObject({ stripeCustomerId: 'cus_join', salesforceAccountId: '001JOIN' });
    expect(record?.derived.profile?.name).toBe('Join Ltd');
    expect(await storeA.get(second.recordId)).toBeNull();
    expect(await storeA.ownedKeys(first.recordId)).toEqual([
      'email:join@x.example',
      'sfacct:001JOIN',
      'stripe:cus_join',
    ]);
  });

  it('keeps two Stripe customers that share an email but name different accounts apart, as a conflict', async () => {
    const a = withRefs(
      {
        ...customer({ version: 1_000, eventId: 'evt_a' }, { name: 'Alpha', email: 'ops@shared.example' }),
        objectId: 'cus_alpha',
      },
      { stripeCustomerId: 'cus_alpha', salesforceAccountId: '001ALPHA', email: 'ops@shared.example' },
    );
    const b = withRefs(
      {
        ...customer({ version: 1_000, eventId: 'evt_b' }, { name: 'Beta', email: 'ops@shared.example' }),
        objectId: 'cus_beta',
      },
      { stripeCustomerId: 'cus_beta', salesforceAccountId: '001BETA', email: 'ops@shared.example' },
    );
    const ra = await storeA.apply(a);
    const rb = await storeA.apply(b);
    expect(rb.recordId).not.toBe(ra.recordId);
    expect(rb.conflicts).toHaveLength(1);
    const alpha = await storeA.findByKey('stripe:cus_alpha');
    const beta = await storeA.findByKey('stripe:cus_beta');
    expect(alpha?.derived.links.stripeCustomerId).toBe('cus_alpha');
    expect(beta?.derived.links.stripeCustomerId).toBe('cus_beta');
    expect(JSON.stringify(alpha)).not.toContain('Beta');
    expect(JSON.stringify(beta)).not.toContain('Alpha');
    const conflicts = await storeA.listConflicts();
    expect(conflicts.find((c) => c.recordIds.includes(ra.recordId) && c.recordIds.includes(rb.recordId))).toMatchObject(
      { system: 'stripe' },
    );
  });

  it('loses no update when two workers apply 1,000 interleaved events to one customer', async () => {
    const refs = { stripeCustomerId: 'cus_busy' };
    const events: SourceEvent[] = [];
    for (let i = 0; i < 800; i++) events.push(withRefs(invoice(`in_busy_${i}`, 'open', { version: 1_000 + i }), refs));
    for (let i = 0; i < 200; i++)
      events.push(withRefs(subscription('sub_busy', i % 2 ? 'active' : 'past_due', { version: 5_000 + i }), refs));
    // Interleave: even positions to worker A, odd to worker B, each in its own order.
    const mixed = events
      .map((e, i) => ({ e, k: (i * 7919) % events.length }))
      .sort((x, y) => x.k - y.k)
      .map((x) => x.e);
    const work = async (store: RecordStore, part: SourceEvent[]) => {
      for (const e of part) await store.apply(e);
    };
    await Promise.all([
      work(
        storeA,
        mixed.filter((_, i) => i % 2 === 0),
      ),
      work(
        storeB,
        mixed.filter((_, i) => i % 2 === 1),
      ),
    ]);
    const stored = await storeA.findByKey('stripe:cus_busy');
    expect(Object.keys(stored!.stripe.invoices)).toHaveLength(800);
    expect(stored!.stripe.subscriptions.sub_busy?.stamp.version).toBe(5_199);
    // Exactly what applying every event once, in order, gives.
    const expected = replay(events, stored!.id);
    expect(stored).toEqual(expected);
  }, 120_000); // 1,000 applies to a record growing to 800 invoices: ~28 s on a 2-core machine at load 12
});

describe('a write the transaction could not make', () => {
  let broken: RecordStore;
  let brokenRedis: Redis;
  storesUnderPrefix(1, ([one]) => {
    broken = one!.store;
    brokenRedis = one!.redis;
  });

  it('fails the apply (the job retries and logs it) instead of passing the change for stored', async () => {
    // The customers set is a string here: EXEC runs the record's write and refuses the SADD with WRONGTYPE.
    await brokenRedis.set(broken.customersKey, 'not a set');
    const event = withRefs(subscription('sub_wrongtype', 'active', { version: 1_000 }), {
      stripeCustomerId: 'cus_wrongtype',
    });
    await expect(broken.apply(event)).rejects.toThrow(/WRONGTYPE/);
    // Once the key is mended, a new customer is stored and counted as before.
    await brokenRedis.del(broken.customersKey);
    const other = withRefs(subscription('sub_after', 'active', { version: 1_000 }), { stripeCustomerId: 'cus_after' });
    const stored = await broken.apply(other);
    expect(await brokenRedis.sismember(broken.customersKey, stored.recordId)).toBe(1);
    // The failed apply's record was stored all the same (MULTI has no rollback): its job's retry finds it stored,
    // changes nothing, and lists it, as its first attempt would have.
    const retried = await broken.apply(event, { retry: true });
    expect(retried.changed).toBe(false);
    expect(await brokenRedis.sismember(broken.customersKey, retried.recordId)).toBe(1);
  });

  it('lists again only a record that still exists: one merged away since stays out of the customers set', async () => {
    await broken.listCustomer('cust_gone_since');
    expect(await brokenRedis.sismember(broken.customersKey, 'cust_gone_since')).toBe(0);
  });
});
