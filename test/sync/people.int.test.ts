/**
 * One customer with thousands of contacts must not grow one record without bound: past the first
 * MAX_INLINE_PEOPLE the people are kept beside the record, ordered like any entity, and read back whole.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEvent } from '../../src/sync/merge.js';
import { MAX_INLINE_PEOPLE } from '../../src/sync/people.js';
import { emptyRecord } from '../../src/sync/record.js';
import { RecordStore } from '../../src/sync/store.js';
import type { CustomerRefs, SourceEvent } from '../../src/sync/source-event.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { account, contact, customer } from './merge-events.js';

const prefix = uniquePrefix();
let redisA: Redis;
let redisB: Redis;
let storeA: RecordStore;
let storeB: RecordStore;

const withRefs = (e: SourceEvent, refs: CustomerRefs): SourceEvent => ({ ...e, refs });
const accountId = (tag: string) => `001000000${tag.padStart(6, '0')}`;
const contactId = (tag: string, n: number) => `003${tag.padStart(4, '0')}${String(n).padStart(8, '0')}`;
const contactOf = (tag: string, n: number, version: number, name = `Person ${n}`) =>
  withRefs({ ...contact(contactId(tag, n), { AccountId: accountId(tag), Name: name, Email: `p${n}@${tag}.example` }, { version }), objectId: contactId(tag, n) }, { salesforceAccountId: accountId(tag), salesforceContactId: contactId(tag, n) });
const accountOf = (tag: string, version: number) =>
  withRefs({ ...account({ Id: accountId(tag), Name: `Acme ${tag}` }, { version }), objectId: accountId(tag) }, { salesforceAccountId: accountId(tag) });

beforeAll(() => {
  redisA = new Redis(redisUrl());
  redisB = new Redis(redisUrl());
  storeA = new RecordStore(redisA, prefix);
  storeB = new RecordStore(redisB, prefix);
});
afterAll(async () => {
  storeA.close();
  storeB.close();
  redisA.disconnect();
  redisB.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('people of one customer', () => {
  it('a customer with 160 contacts keeps its stored record bounded: 100 people in the record, the rest beside it, all read back whole', async () => {
    const { recordId } = await storeA.apply(accountOf('big', 1_000));
    const sizeAt = async () => redisA.strlen(storeA.recordKey(recordId));
    for (let n = 0; n < MAX_INLINE_PEOPLE; n++) await storeA.apply(contactOf('big', n, 2_000));
    const atBound = await sizeAt();
    // Two workers at once, as the events worker runs them: no update lost.
    const rest = Array.from({ length: 60 }, (_, i) => contactOf('big', MAX_INLINE_PEOPLE + i, 2_000));
    await Promise.all([(async () => { for (const e of rest.filter((_, i) => i % 2 === 0)) await storeA.apply(e); })(), (async () => { for (const e of rest.filter((_, i) => i % 2 === 1)) await storeB.apply(e); })()]);
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
    const stripe = await storeA.apply(withRefs({ ...customer({ version: 1_000, eventId: 'evt_mrg_1' }), objectId: 'cus_mrg' }, { stripeCustomerId: 'cus_mrg' }));
    // The Stripe customer names the Account: the two records become one.
    const linked = await storeA.apply(withRefs({ ...customer({ version: 2_000, eventId: 'evt_mrg_2' }, { metadata: { salesforce_account_id: accountId('mrg') } }), objectId: 'cus_mrg' }, { stripeCustomerId: 'cus_mrg', salesforceAccountId: accountId('mrg') }));
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
    expect(await redisA.hlen(storeA.peopleKey(record.id))).toBe(50);
    expect(Object.keys((await storeA.getFull(record.id))!.salesforce.contacts)).toHaveLength(150);
  });
});
