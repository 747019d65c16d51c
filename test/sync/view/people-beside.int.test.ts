/**
 * A signed-in contact kept beside the record (past its first MAX_INLINE_PEOPLE people, people.ts) is
 * the customer's own like any other: the view finds them by their Zendesk user id or Salesforce
 * Contact id, through resolveViewer and through the one-round-trip reader (first read and repeat
 * read), and judges them by the same rules — deleted, or no longer in the organization or Account,
 * and they see nothing; found by email, only while they still have it.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSalesforceId } from '../../../src/sync/events/ids.js';
import { MAX_INLINE_PEOPLE } from '../../../src/sync/events/people.js';
import type { CustomerRefs, SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { ViewRateLimiter } from '../../../src/sync/view/rate-limit.js';
import { ViewReader, type ViewRead } from '../../../src/sync/view/read.js';
import { resolveViewer } from '../../../src/sync/view/resolve.js';
import type { CustomerView, Viewer } from '../../../src/sync/view/view.js';
import { event } from '../events/merge-events.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { applyAll, stripeSide, userEvent, zendeskSide, type Company } from '../../support/view.js';

const OPTIONS = { recentPaidInvoices: 12, tickets: 'organization' } as const;
const PEOPLE = MAX_INLINE_PEOPLE + 6;
const userId = (n: number) => String(8_100_000 + n);
const sfId = (id15: string) => {
  const checked = checkSalesforceId(id15, '003');
  if (!checked.ok) throw new Error('not a Contact id');
  return checked.value;
};
const withRefs = (e: SourceEvent, refs: CustomerRefs): SourceEvent => ({ ...e, refs });
const big: Company = {
  org: '7301',
  name: 'Bigco',
  stripe: 'cus_big',
  status: 'active',
  users: Array.from({ length: PEOPLE }, (_, n) => ({ id: userId(n), email: `u${n}@bigco.example` })),
  invoices: [{ id: 'in_big_1', status: 'open', total: 4900 }],
  tickets: [],
};
const other: Company = {
  org: '7302',
  name: 'Otherco',
  stripe: 'cus_other',
  status: 'active',
  users: [{ id: '8200001', email: 'o@otherco.example' }],
  invoices: [{ id: 'in_other_1', status: 'open', total: 100 }],
  tickets: [],
};
/** A user added after the record held MAX_INLINE_PEOPLE people: kept beside it. */
const late = (n: number): Viewer => ({ zendeskUserId: userId(n), externalId: null, email: `u${n}@bigco.example` });

let redis: Redis;
let prefix: string;
let store: RecordStore;
let recordId: string;

const viewOf = (read: ViewRead): CustomerView => {
  if (read.kind !== 'customer') throw new Error(`expected a customer, got ${JSON.stringify(read)}`);
  return JSON.parse(read.body) as CustomerView;
};
const reader = () => new ViewReader(redis, store, new ViewRateLimiter(prefix, 1000), OPTIONS);

beforeAll(async () => {
  redis = new Redis(redisUrl());
  prefix = uniquePrefix();
  store = new RecordStore(new Redis(redisUrl()), prefix);
  await applyAll(store, [...zendeskSide(big), ...stripeSide(big), ...zendeskSide(other), ...stripeSide(other)]);
  recordId = (await store.findByKey(`zdorg:${big.org}`))!.id;
}, 60_000);
afterAll(async () => {
  store.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('a signed-in contact kept beside the record', () => {
  it('is beside the record, not in it', async () => {
    const record = await store.get(recordId);
    expect(Object.keys(record!.zendesk.users)).toHaveLength(MAX_INLINE_PEOPLE);
    expect(record!.zendesk.users[userId(PEOPLE - 1)]).toBeUndefined();
    expect(await redis.hexists(store.peopleKey(recordId), `zduser:${userId(PEOPLE - 1)}`)).toBe(1);
  });

  it("finds their customer by their Zendesk user id: resolveViewer, the reader's first read and its one-command repeat read", async () => {
    const viewer = late(PEOPLE - 1);
    const resolved = await resolveViewer(store, viewer);
    expect(resolved.kind === 'customer' && resolved.record.id).toBe(recordId);
    const r = reader();
    expect(viewOf(await r.read(viewer)).invoices.map((i) => i.id)).toEqual(['in_big_1']);
    const again = await r.read(viewer);
    expect(viewOf(again).customer.name).toBe('Bigco');
  });

  it('finds their customer by their Salesforce Contact id when their Zendesk user is unknown', async () => {
    // A Salesforce contact joined by its email (no Account named), after the record is full: kept beside it.
    const id = sfId('0035e0000000501');
    const email = `u${PEOPLE - 2}@bigco.example`;
    await store.apply(
      withRefs(
        event(
          id,
          {
            kind: 'salesforce.contact',
            accountId: null,
            email,
            name: 'Late Contact',
            fields: { Id: id, Email: email, Name: 'Late Contact' },
          },
          { version: 2_000 },
        ),
        { salesforceContactId: id, email },
      ),
    );
    expect(await redis.hexists(store.peopleKey(recordId), `sfcontact:${id}`)).toBe(1);
    const viewer: Viewer = { zendeskUserId: '999999991', externalId: id, email: null };
    const resolved = await resolveViewer(store, viewer);
    expect(resolved.kind === 'customer' && resolved.record.id).toBe(recordId);
    const r = reader();
    expect(viewOf(await r.read(viewer)).customer.name).toBe('Bigco');
    expect(viewOf(await r.read(viewer)).customer.name).toBe('Bigco');
  });

  it('sees nothing once deleted, on a first read and on a repeat read', async () => {
    const viewer = late(PEOPLE - 3);
    const r = reader();
    expect(viewOf(await r.read(viewer)).customer.name).toBe('Bigco');
    const u = big.users[PEOPLE - 3]!;
    await store.apply({ ...userEvent(big.org, u, 9_000), ...{ deleted: true, eventId: 'zd-user-deleted' } });
    expect(await resolveViewer(store, viewer)).toEqual({ kind: 'none', reason: 'not_a_contact' });
    const now = await r.read(viewer);
    expect(now).toEqual({ kind: 'none', reason: 'not_a_contact' });
    expect(await reader().read(viewer)).toEqual({ kind: 'none', reason: 'not_a_contact' });
  });

  it('sees nothing once out of the organization (the user event names none)', async () => {
    const viewer = late(PEOPLE - 4);
    const r = reader();
    expect(viewOf(await r.read(viewer)).customer.name).toBe('Bigco');
    await store.apply(userEvent(null, big.users[PEOPLE - 4]!, 9_000));
    expect(await resolveViewer(store, viewer)).toEqual({ kind: 'none', reason: 'not_a_contact' });
    expect(JSON.stringify(await r.read(viewer))).not.toMatch(/Bigco|in_big/);
  });

  it('finds their customer by their email when their Zendesk user is unknown, while the person kept beside still has it', async () => {
    const email = `u${PEOPLE - 5}@bigco.example`;
    const viewer: Viewer = { zendeskUserId: '999999992', externalId: null, email };
    expect((await store.findByKey(`email:${email}`))?.id).toBe(recordId);
    const resolved = await resolveViewer(store, viewer);
    expect(resolved.kind === 'customer' && resolved.record.id).toBe(recordId);
    const r = reader();
    expect(viewOf(await r.read(viewer)).customer.name).toBe('Bigco');
    expect(viewOf(await r.read(viewer)).customer.name).toBe('Bigco');
    // The person's email changes: the old one holds no one any more (the email key still names the record).
    await store.apply(
      userEvent(big.org, { id: userId(PEOPLE - 5), email: `renamed${PEOPLE - 5}@bigco.example` }, 9_000),
    );
    expect((await store.findByKey(`email:${email}`))?.id).toBe(recordId);
    expect(await resolveViewer(store, viewer)).toEqual({ kind: 'none', reason: 'not_a_contact' });
    expect(await r.read(viewer)).toEqual({ kind: 'none', reason: 'not_a_contact' });
    expect(await reader().read(viewer)).toEqual({ kind: 'none', reason: 'not_a_contact' });
    const renamed: Viewer = {
      zendeskUserId: '999999994',
      externalId: null,
      email: `renamed${PEOPLE - 5}@bigco.example`,
    };
    expect(viewOf(await reader().read(renamed)).customer.name).toBe('Bigco');
  });

  it("never finds another customer's person kept beside its record", async () => {
    // Otherco's viewer with Bigco's late user id in the token is Bigco's user: the id decides, as for anyone.
    const o: Viewer = { zendeskUserId: '8200001', externalId: null, email: 'o@otherco.example' };
    expect(viewOf(await reader().read(o)).invoices.map((i) => i.id)).toEqual(['in_other_1']);
    // A late user's id read against Otherco's record (as a stale guess would) is not held there.
    const otherId = (await store.findByKey(`zdorg:${other.org}`))!.id;
    expect(await redis.hexists(store.peopleKey(otherId), `zduser:${userId(PEOPLE - 1)}`)).toBe(0);
  });
});
