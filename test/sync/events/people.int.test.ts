/**
 * One customer with thousands of contacts must not grow one record without bound: past the first
 * MAX_INLINE_PEOPLE the people are kept beside the record, ordered like any entity, and read back whole.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { checkSalesforceId } from '../../../src/sync/events/ids.js';
import { applyEvent } from '../../../src/sync/events/merge.js';
import { isPersonField, MAX_INLINE_PEOPLE } from '../../../src/sync/events/people.js';
import { emptyRecord } from '../../../src/sync/events/record.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { resolveViewer } from '../../../src/sync/view/resolve.js';
import type { CustomerRefs, SourceEvent } from '../../../src/sync/events/source-event.js';
import { redisUrl } from '../../support/redis.js';
import { storesUnderPrefix } from '../../support/store.js';
import { account, contact, customer } from './merge-events.js';

let redisA: Redis;
let storeA: RecordStore;
let storeB: RecordStore;
storesUnderPrefix(2, ([a, b]) => {
  ({ redis: redisA, store: storeA } = a!);
  storeB = b!.store;
});

const withRefs = (e: SourceEvent, refs: CustomerRefs): SourceEvent => ({ ...e, refs });
const accountId = (tag: string) => `001000000${tag.padStart(6, '0')}`;
const contactId = (tag: string, n: number) => `003${tag.padStart(4, '0')}${String(n).padStart(8, '0')}`;
const contactOf = (tag: string, n: number, version: number, name = `Person ${n}`) =>
  withRefs(
    {
      ...contact(
        contactId(tag, n),
        { AccountId: accountId(tag), Name: name, Email: `p${n}@${tag}.example` },
        { version },
      ),
      objectId: contactId(tag, n),
    },
    { salesforceAccountId: accountId(tag), salesforceContactId: contactId(tag, n) },
  );
const accountOf = (tag: string, version: number) =>
  withRefs(
    { ...account({ Id: accountId(tag), Name: `Acme ${tag}` }, { version }), objectId: accountId(tag) },
    { salesforceAccountId: accountId(tag) },
  );

/** The people kept beside a record (its hash also holds a pointer per email: people.ts's emailPointer). */
const personFields = async (id: string) => (await redisA.hkeys(storeA.peopleKey(id))).filter(isPersonField);

describe('people of one customer', () => {
  it('a customer with 160 contacts keeps its stored record bounded: MAX_INLINE_PEOPLE people in the record, the rest beside it, all read back whole', async () => {
    const { recordId } = await storeA.apply(accountOf('big', 1_000));
    const sizeAt = async () => redisA.strlen(storeA.recordKey(recordId));
    for (let n = 0; n < MAX_INLINE_PEOPLE; n++) await storeA.apply(contactOf('big', n, 2_000));
    const atBound = await sizeAt();
    // Two workers at once, as the events worker runs them: no update lost.
    const rest = Array.from({ length: 160 - MAX_INLINE_PEOPLE }, (_, i) =>
      contactOf('big', MAX_INLINE_PEOPLE + i, 2_000),
    );
    await Promise.all([
      (async () => {
        for (const e of rest.filter((_, i) => i % 2 === 0)) await storeA.apply(e);
      })(),
      (async () => {
        for (const e of rest.filter((_, i) => i % 2 === 1)) await storeB.apply(e);
      })(),
    ]);
    expect(await sizeAt()).toBe(atBound);
    const record = await storeA.get(recordId);
    expect(Object.keys(record!.salesforce.contacts)).toHaveLength(MAX_INLINE_PEOPLE);
    expect(record!.derived.links.contacts).toHaveLength(MAX_INLINE_PEOPLE);
    const full = await storeA.getFull(recordId);
    expect(Object.keys(full!.salesforce.contacts)).toHaveLength(160);
    expect(full!.salesforce.contacts[contactId('big', 159)]!.data.name).toBe('Person 159');
    // Every one of them still finds the customer.
    expect((await storeA.findByKey(`sfcontact:${contactId('big', 159)}`))?.id).toBe(recordId);
  }, 120_000);

  it('a contact kept beside the record is ordered by its source version like any other: an older update never wins', async () => {
    const id = contactId('big', 150);
    const newer = await storeA.apply(contactOf('big', 150, 9_000, 'Newest name'));
    expect(newer.changed).toBe(true);
    const older = await storeA.apply(contactOf('big', 150, 5_000, 'Older name'));
    expect(older.changed).toBe(false);
    const again = await storeA.apply(contactOf('big', 150, 9_000, 'Newest name'));
    expect(again.changed).toBe(false);
    expect((await storeA.getFull(newer.recordId))!.salesforce.contacts[id]!.data.name).toBe('Newest name');
  });

  it('a merge takes in the people the other record kept beside it', async () => {
    const { recordId: withPeople } = await storeA.apply(accountOf('mrg', 1_000));
    for (let n = 0; n < MAX_INLINE_PEOPLE + 20; n++) await storeA.apply(contactOf('mrg', n, 2_000));
    const stripe = await storeA.apply(
      withRefs(
        { ...customer({ version: 1_000, eventId: 'evt_mrg_1' }), objectId: 'cus_mrg' },
        { stripeCustomerId: 'cus_mrg' },
      ),
    );
    // The Stripe customer names the Account: the two records become one.
    const linked = await storeA.apply(
      withRefs(
        {
          ...customer(
            { version: 2_000, eventId: 'evt_mrg_2' },
            { metadata: { salesforce_account_id: accountId('mrg') } },
          ),
          objectId: 'cus_mrg',
        },
        { stripeCustomerId: 'cus_mrg', salesforceAccountId: accountId('mrg') },
      ),
    );
    expect(linked.mergedIds).toHaveLength(1);
    const kept = linked.recordId;
    const gone = kept === stripe.recordId ? withPeople : stripe.recordId;
    expect(Object.keys((await storeA.getFull(kept))!.salesforce.contacts)).toHaveLength(MAX_INLINE_PEOPLE + 20);
    expect(await redisA.exists(storeA.peopleKey(gone))).toBe(0);
  }, 120_000);

  it('a record an earlier release stored with more people than the bound moves the extra ones beside it on its next event', async () => {
    let record = applyEvent(emptyRecord('cust_legacy_people'), accountOf('old', 1_000)).record;
    for (let n = 0; n < 150; n++) record = applyEvent(record, contactOf('old', n, 2_000)).record;
    await redisA.set(storeA.recordKey(record.id), JSON.stringify(record));
    await redisA.sadd(storeA.ownedKey(record.id), `sfacct:${accountId('old')}`);
    await redisA.set(storeA.indexKey(`sfacct:${accountId('old')}`), record.id);
    await storeA.apply(accountOf('old', 3_000));
    const stored = await storeA.get(record.id);
    expect(Object.keys(stored!.salesforce.contacts)).toHaveLength(MAX_INLINE_PEOPLE);
    expect(await personFields(record.id)).toHaveLength(150 - MAX_INLINE_PEOPLE);
    expect(Object.keys((await storeA.getFull(record.id))!.salesforce.contacts)).toHaveLength(150);
  });

  it('a record the previous release stored with 60 people inline (its bound was 100) keeps every one of them after its next event moves the extra ones beside it: found, viewed, ordered', async () => {
    // Real 18-character Contact ids: the viewer's external id is looked up in that form.
    const c18 = (n: number) => {
      const checked = checkSalesforceId(contactId('sixt', n), '003');
      if (!checked.ok) throw new Error('not a Contact id');
      return checked.value;
    };
    const sixty = (n: number, version: number, name = `Person ${n}`) =>
      withRefs(
        {
          ...contact(c18(n), { AccountId: accountId('sixt'), Name: name, Email: `p${n}@sixt.example` }, { version }),
          objectId: c18(n),
        },
        { salesforceAccountId: accountId('sixt'), salesforceContactId: c18(n) },
      );
    let record = applyEvent(emptyRecord('cust_legacy_sixty'), accountOf('sixt', 1_000)).record;
    for (let n = 0; n < 60; n++) record = applyEvent(record, sixty(n, 2_000)).record;
    const keys = [`sfacct:${accountId('sixt')}`, ...Array.from({ length: 60 }, (_, n) => `sfcontact:${c18(n)}`)];
    await redisA.set(storeA.recordKey(record.id), JSON.stringify(record));
    await redisA.sadd(storeA.ownedKey(record.id), ...keys);
    for (const k of keys) await redisA.set(storeA.indexKey(k), record.id);
    const last = c18(59);
    // Before its next write, the view finds a contact past the new bound in the record itself.
    const viewer = { zendeskUserId: '999999993', externalId: last, email: null };
    expect((await resolveViewer(storeA, viewer)).kind).toBe('customer');
    await storeA.apply(accountOf('sixt', 3_000));
    const stored = await storeA.get(record.id);
    expect(Object.keys(stored!.salesforce.contacts)).toHaveLength(MAX_INLINE_PEOPLE);
    expect(stored!.salesforce.contacts[last]).toBeUndefined();
    expect(await personFields(record.id)).toHaveLength(60 - MAX_INLINE_PEOPLE);
    expect(Object.keys((await storeA.getFull(record.id))!.salesforce.contacts)).toHaveLength(60);
    const resolved = await resolveViewer(storeA, viewer);
    expect(resolved.kind === 'customer' && resolved.record.id).toBe(record.id);
    // Its own events are ordered where it now is: an older update never wins, a newer one does.
    expect((await storeA.apply(sixty(59, 1_500, 'Older'))).changed).toBe(false);
    expect((await storeA.apply(sixty(59, 4_000, 'Newer'))).changed).toBe(true);
    expect((await storeA.getFull(record.id))!.salesforce.contacts[last]!.data.name).toBe('Newer');
    expect(Object.keys((await storeA.get(record.id))!.salesforce.contacts)).toHaveLength(MAX_INLINE_PEOPLE);
  });

  it('a customer with 20 contacts changes a contact without rewriting its record: the record holds its first MAX_INLINE_PEOPLE people, and stays as small', async () => {
    const { recordId } = await storeA.apply(accountOf('twenty', 1_000));
    for (let n = 0; n < 20; n++) await storeA.apply(contactOf('twenty', n, 2_000));
    // A WATCH on a connection of its own: its EXEC fails if anything wrote the record key meanwhile (even the same bytes).
    const watcher = new Redis(redisUrl());
    try {
      await watcher.watch(storeA.recordKey(recordId));
      for (let n = MAX_INLINE_PEOPLE; n < 20; n++)
        expect((await storeA.apply(contactOf('twenty', n, 3_000, `Renamed ${n}`))).changed).toBe(true);
      expect(await watcher.multi().strlen(storeA.recordKey(recordId)).exec()).not.toBeNull();
      // The check can fail: an inline contact's change does write the record.
      await watcher.watch(storeA.recordKey(recordId));
      expect((await storeA.apply(contactOf('twenty', 0, 3_000, 'Renamed 0'))).changed).toBe(true);
      expect(await watcher.multi().strlen(storeA.recordKey(recordId)).exec()).toBeNull();
    } finally {
      watcher.disconnect();
    }
    expect(MAX_INLINE_PEOPLE).toBeLessThan(20);
    expect((await storeA.getFull(recordId))!.salesforce.contacts[contactId('twenty', 19)]!.data.name).toBe(
      'Renamed 19',
    );
  });
});
