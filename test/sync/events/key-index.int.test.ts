/**
 * A customer's events cost the same however many contacts it has: the store asks the customer's key
 * set only about the keys an event names (and reads its system keys from a small index), and a person
 * kept beside the record is written alone. The index checks itself, so records written without it
 * (an earlier release, an older worker) keep every identity rule.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordStore } from '../../../src/sync/events/store.js';
import type { CustomerRefs, SourceEvent } from '../../../src/sync/events/source-event.js';
import { uniquePrefix } from '../../support/redis.js';
import { startReplicaSet, type ReplicaSet } from '../../support/redis-ha.js';
import { account, contact, customer } from './merge-events.js';

const prefix = uniquePrefix();
// A private Redis of this file's own: MONITOR on the shared one also carries every other test file's
// traffic, which made the monitor connection fail under load.
let server: ReplicaSet;
let redis: Redis;
let store: RecordStore;

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
    { salesforceAccountId: accountId(tag), salesforceContactId: contactId(tag, n), email: `p${n}@${tag}.example` },
  );
const accountOf = (tag: string, version: number, name = `Acme ${tag}`) =>
  withRefs(
    { ...account({ Id: accountId(tag), Name: name }, { version }), objectId: accountId(tag) },
    { salesforceAccountId: accountId(tag) },
  );
const stripeCustomerOf = (id: string, tag: string, version: number) =>
  withRefs(
    {
      ...customer(
        { version, eventId: `evt_${id}_${version}` },
        { metadata: { salesforce_account_id: accountId(tag) } },
      ),
      objectId: id,
    },
    { stripeCustomerId: id, salesforceAccountId: accountId(tag) },
  );

/** The commands Redis ran on these keys while `run` ran (MONITOR: what the server saw, not a client-side count). */
async function commandsOn(
  keys: Record<string, string>,
  run: () => Promise<void>,
): Promise<Array<{ on: string; command: string }>> {
  const names = new Map(Object.entries(keys).map(([name, key]) => [key, name]));
  const seen: Array<{ on: string; command: string }> = [];
  const monitor = await redis.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    // A script call (the watch group's batches) is listed, then each command it runs on a line of its own.
    if (['evalsha', 'eval'].includes(args[0]!.toLowerCase())) return;
    for (const arg of args.slice(1))
      if (names.has(arg)) seen.push({ on: names.get(arg)!, command: args[0]!.toLowerCase() });
  });
  try {
    await run();
    // MONITOR lines arrive on their own connection: a marker command, seen last, says they all have.
    const marker = `${prefix}:monitor-marker`;
    names.set(marker, 'marker');
    await redis.exists(marker);
    for (let i = 0; i < 200 && !seen.some((s) => s.on === 'marker'); i++) await new Promise((r) => setTimeout(r, 10));
  } finally {
    monitor.disconnect();
  }
  return seen.filter((s) => s.on !== 'marker');
}

beforeAll(async () => {
  server = await startReplicaSet(0);
  redis = new Redis(server.primary.url);
  store = new RecordStore(redis, prefix);
});
afterAll(async () => {
  store?.close();
  redis?.disconnect();
  await server?.stop();
});

describe('the apply path of a growing customer', () => {
  it('reads neither the whole key set nor the people hash of a customer with 300 contacts, and writes a person kept beside the record alone', async () => {
    const { recordId } = await store.apply(accountOf('grow', 1_000));
    for (let n = 0; n < 300; n++) await store.apply(contactOf('grow', n, 2_000));
    expect(await redis.scard(store.ownedKey(recordId))).toBe(601);
    const keys = {
      keys: store.ownedKey(recordId),
      people: store.peopleKey(recordId),
      record: store.recordKey(recordId),
    };

    const inRecord = await commandsOn(keys, async () => {
      expect((await store.apply(accountOf('grow', 3_000, 'Acme renamed'))).changed).toBe(true);
      expect((await store.apply(contactOf('grow', 5, 3_000, 'Inline renamed'))).changed).toBe(true);
    });
    const beside = await commandsOn(keys, async () => {
      expect((await store.apply(contactOf('grow', 250, 3_000, 'Beside renamed'))).changed).toBe(true);
      expect((await store.apply(contactOf('grow', 300, 3_000, 'New contact'))).changed).toBe(true);
    });

    for (const seen of [inRecord, beside]) {
      expect(new Set(seen.filter((s) => s.on === 'keys').map((s) => s.command))).toEqual(
        new Set(['watch', 'scard', 'smismember', ...(seen === beside ? ['sadd'] : [])]),
      );
      expect(seen.filter((s) => s.on === 'people').every((s) => ['watch', 'hget', 'hset'].includes(s.command))).toBe(
        true,
      );
    }
    // The record is written for the two events that change it, not for the people kept beside it.
    expect(inRecord.filter((s) => s.on === 'record' && s.command === 'set')).toHaveLength(2);
    expect(beside.filter((s) => s.on === 'record' && s.command === 'set')).toHaveLength(0);
    const full = await store.getFull(recordId);
    expect(full!.salesforce.contacts[contactId('grow', 250)]!.data.name).toBe('Beside renamed');
    expect(full!.salesforce.contacts[contactId('grow', 300)]!.data.name).toBe('New contact');
    expect(full!.salesforce.account!.data.fields.Name).toBe('Acme renamed');
    expect((await store.findByKey(`email:p300@grow.example`))?.id).toBe(recordId);
    expect(await redis.scard(store.ownedKey(recordId))).toBe(603);
  }, 120_000);

  it('still refuses a second Stripe customer for a record whose key index an earlier release did not write', async () => {
    const { recordId } = await store.apply(stripeCustomerOf('cus_OldA', 'old', 1_000));
    await store.apply(accountOf('old', 1_000));
    await redis.del(store.keyIndexKey(recordId));
    const other = await store.apply(stripeCustomerOf('cus_OldB', 'old', 2_000));
    expect(other.recordId).not.toBe(recordId);
    expect(other.conflicts.map((c) => c.keys.slice().sort())).toEqual([['stripe:cus_OldA', 'stripe:cus_OldB']]);
    expect(await store.ownedKeys(recordId)).toEqual([`sfacct:${accountId('old')}`, 'stripe:cus_OldA']);
    // Its next write puts the index back.
    await store.apply(accountOf('old', 3_000, 'Old renamed'));
    expect(await redis.hgetall(store.keyIndexKey(recordId))).toEqual({
      '#keys': '2',
      '#zduser': '0',
      [`sfacct:${accountId('old')}`]: '1',
      'stripe:cus_OldA': '1',
    });
  });

  it('still refuses a second Stripe customer when a writer that does not keep the index added the first one', async () => {
    const { recordId } = await store.apply(accountOf('lag', 1_000));
    // An older worker during a rolling deploy: the key set and the identity index, not the key index.
    await redis.sadd(store.ownedKey(recordId), 'stripe:cus_LagA');
    await redis.set(store.indexKey('stripe:cus_LagA'), recordId);
    const other = await store.apply(stripeCustomerOf('cus_LagB', 'lag', 2_000));
    expect(other.recordId).not.toBe(recordId);
    expect(other.conflicts).toHaveLength(1);
    expect(await store.ownedKeys(recordId)).toEqual([`sfacct:${accountId('lag')}`, 'stripe:cus_LagA']);
  });

  it("a merge moves the merged record's keys and counts them in the index", async () => {
    const { recordId: acct } = await store.apply(accountOf('mrg', 1_000));
    for (let n = 0; n < 3; n++) await store.apply(contactOf('mrg', n, 2_000));
    const { recordId: cus } = await store.apply(
      withRefs(
        {
          ...customer({ version: 1_000, eventId: 'evt_mrg_1' }, { email: 'billing@mrg.example' }),
          objectId: 'cus_Mrg',
        },
        { stripeCustomerId: 'cus_Mrg', email: 'billing@mrg.example' },
      ),
    );
    const linked = await store.apply(stripeCustomerOf('cus_Mrg', 'mrg', 2_000));
    expect(linked.mergedIds).toHaveLength(1);
    const kept = linked.recordId;
    expect([acct, cus]).toContain(kept);
    const owned = await store.ownedKeys(kept);
    expect(owned).toHaveLength(9);
    expect(await redis.hgetall(store.keyIndexKey(kept))).toEqual({
      '#keys': '9',
      '#zduser': '0',
      [`sfacct:${accountId('mrg')}`]: '1',
      'stripe:cus_Mrg': '1',
    });
    expect(await redis.exists(store.keyIndexKey(kept === acct ? cus : acct))).toBe(0);
  });

  it("a push and a view read a customer's system keys from the index, not its key set of 300 contacts; a set the index does not match is read whole", async () => {
    const { recordId } = await store.apply(accountOf('push', 1_000));
    for (let n = 0; n < 300; n++) await store.apply(contactOf('push', n, 2_000));
    await store.apply(stripeCustomerOf('cus_PushA', 'push', 2_000));
    const record = (await store.get(recordId))!;
    const keys = { keys: store.ownedKey(recordId) };
    const seen = await commandsOn(keys, async () => {
      expect(await store.systemKeys(recordId)).toEqual([`sfacct:${accountId('push')}`, 'stripe:cus_PushA']);
      expect(await store.linkKeys(record)).toEqual([`sfacct:${accountId('push')}`, 'stripe:cus_PushA']);
    });
    expect(seen.map((s) => s.command)).toEqual(['scard', 'scard']);
    // An older writer added a key without the index: the whole set, once.
    await redis.sadd(store.ownedKey(recordId), 'zdorg:7777');
    const stale = await commandsOn(keys, async () => {
      expect(await store.systemKeys(recordId)).toEqual([
        `sfacct:${accountId('push')}`,
        'stripe:cus_PushA',
        'zdorg:7777',
      ]);
    });
    expect(stale.map((s) => s.command)).toEqual(['scard', 'smembers']);
  }, 120_000);

  it('a customer with nowhere else to write in Zendesk than a user gives the push its user keys', async () => {
    const { recordId } = await store.apply(
      withRefs(
        { ...customer({ version: 1_000, eventId: 'evt_solo_1' }), objectId: 'cus_Solo' },
        { stripeCustomerId: 'cus_Solo' },
      ),
    );
    await store.apply(
      withRefs(
        { ...customer({ version: 2_000, eventId: 'evt_solo_2' }), objectId: 'cus_Solo' },
        { stripeCustomerId: 'cus_Solo', zendeskUserId: '9100' },
      ),
    );
    expect(await store.linkKeys((await store.get(recordId))!)).toEqual(['stripe:cus_Solo', 'zduser:9100']);
  });
});
