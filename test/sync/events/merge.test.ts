import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEvent, compareStamps, entityKeyFor, mergeRecords } from '../../../src/sync/events/merge.js';
import { project } from '../../../src/sync/events/project.js';
import { CustomerRecordSchema, emptyRecord, stableStringify } from '../../../src/sync/events/record.js';
import type { CustomerRecord } from '../../../src/sync/events/record.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import {
  ACCOUNT,
  account,
  activity,
  charge,
  contact,
  customer,
  invoice,
  replay,
  salesforceCdc,
  salesforceOutbound,
  streamArb,
  stripeFixture,
  subscription,
  ticket,
  user,
  zendeskFixture,
} from './merge-events.js';
import type { Item } from './merge-events.js';

const json = (r: CustomerRecord) => JSON.stringify(r);

describe('applying events', () => {
  it('out-of-order subscription updates keep the newest status', () => {
    const created = stripeFixture('customer.subscription.created');
    const pastDue = stripeFixture('customer.subscription.updated', (raw) => (raw.data.object.status = 'past_due'));
    expect(pastDue.version).toBeGreaterThan(created.version);

    const record = replay([pastDue, created]);
    expect(record.stripe.subscriptions['sub_TestAcme01']?.data).toMatchObject({ status: 'past_due' });
    expect(record.derived.billing?.status).toBe('past_due');
    expect(json(record)).toBe(json(replay([created, pastDue])));
  });

  it('a duplicate delivery changes nothing', () => {
    const paid = stripeFixture('invoice.paid');
    const once = applyEvent(emptyRecord('c'), paid);
    expect(once.changed).toBe(true);
    const twice = applyEvent(once.record, paid);
    expect(twice).toEqual({ record: once.record, changed: false, tie: null });
  });

  it('an older event applied after a newer one changes nothing', () => {
    const record = replay([subscription('sub_a', 'canceled', { version: 2_000 })]);
    const stale = applyEvent(record, subscription('sub_a', 'active', { version: 1_000 }));
    expect(stale.changed).toBe(false);
    expect(stale.record.stripe.subscriptions['sub_a']?.data.status).toBe('canceled');
  });

  it('a deleted customer stays deleted when an older customer.updated arrives late', () => {
    const deleted = stripeFixture('customer.deleted');
    const updated = stripeFixture('customer.updated');
    const afterDelete = replay([deleted]);
    const late = applyEvent(afterDelete, updated);
    expect(late.changed).toBe(false);
    expect(late.record.stripe.customer?.stamp.deleted).toBe(true);
    expect(late.record.derived.billing?.customerDeleted).toBe(true);
    expect(late.record.derived.links.stripeCustomerId).toBeNull();
  });

  it('a voided invoice shows status void, and a deleted draft disappears', () => {
    const voided = stripeFixture('invoice.voided');
    const record = replay([
      voided,
      invoice('in_draft', 'draft', { version: 5_000, deleted: true, type: 'invoice.deleted' }),
    ]);
    expect(record.derived.invoices).toEqual([expect.objectContaining({ id: 'in_TestAcme03', status: 'void' })]);
  });

  it('a refunded charge shows on the invoice it paid', () => {
    const paid = stripeFixture('invoice.paid');
    // API versions before 2025-03-31 name the invoice on the charge.
    const refund = stripeFixture('charge.refunded', (raw) => (raw.data.object.invoice = 'in_TestAcme01'));
    const record = replay([refund, paid]);
    expect(record.derived.invoices[0]).toMatchObject({
      id: 'in_TestAcme01',
      amountRefunded: refund.data.kind === 'stripe.charge' ? refund.data.amountRefunded : -1,
    });
    expect(record.derived.invoices[0]?.amountRefunded).toBeGreaterThan(0);
  });

  it('two different writes of one version report a tie, and the refetch wins over both in any order', () => {
    const a = subscription('sub_a', 'active', { version: 1_000, eventId: 'evt_a' });
    const b = subscription('sub_a', 'past_due', { version: 1_000, eventId: 'evt_b' });
    const refetched = subscription('sub_a', 'unpaid', { version: 1_000, eventId: 'refetch-1' });

    const first = applyEvent(emptyRecord('c'), a);
    const tied = applyEvent(first.record, b);
    expect(tied.tie).toEqual({
      path: ['stripe', 'subscriptions', 'sub_a'],
      source: 'stripe',
      objectId: 'sub_a',
      version: 1_000,
      rank: 1,
    });
    // Resolved by content hash meanwhile, so both orders already agree.
    expect(json(tied.record)).toBe(json(replay([b, a], 'c')));

    const orders: Item[][] = [
      [
        { event: a, rank: 0 },
        { event: b, rank: 0 },
        { event: refetched, rank: 1 },
      ],
      [
        { event: refetched, rank: 1 },
        { event: b, rank: 0 },
        { event: a, rank: 0 },
      ],
      [
        { event: b, rank: 0 },
        { event: refetched, rank: 1 },
        { event: a, rank: 0 },
      ],
    ];
    for (const order of orders) {
      const record = replay(order);
      expect(record.stripe.subscriptions['sub_a']?.stamp).toMatchObject({ origin: 'refetch', rank: 1 });
      expect(record.derived.billing?.status).toBe('unpaid');
    }
    // The stored content arriving again is no tie.
    const stored = tied.record.stripe.subscriptions['sub_a']?.stamp.eventId === a.eventId ? a : b;
    expect(applyEvent(tied.record, stored).tie).toBeNull();
  });

  it('a webhook of the same second after a refetch settled a tie ties again, and the next refetch outranks the first', () => {
    // Stripe sends invoice.payment_failed, customer.subscription.updated and customer.updated within one second:
    // a refetch that settled an earlier tie of that second must not silently win over a later webhook of it.
    const a = subscription('sub_a', 'active', { version: 1_000, eventId: 'evt_a' });
    const b = subscription('sub_a', 'trialing', { version: 1_000, eventId: 'evt_b' });
    const firstRefetch = subscription('sub_a', 'active', { version: 1_000, eventId: 'refetch-1' });
    const later = subscription('sub_a', 'past_due', { version: 1_000, eventId: 'evt_c' });
    const secondRefetch = subscription('sub_a', 'past_due', { version: 1_000, eventId: 'refetch-2' });

    const settled = applyEvent(applyEvent(applyEvent(emptyRecord('c'), a).record, b).record, firstRefetch, {
      rank: 1,
    }).record;
    const again = applyEvent(settled, later);
    expect(again.tie).toEqual({
      path: ['stripe', 'subscriptions', 'sub_a'],
      source: 'stripe',
      objectId: 'sub_a',
      version: 1_000,
      rank: 2,
    });
    expect(again.record.derived.billing?.status).toBe('active'); // until the source API says otherwise
    const resettled = applyEvent(again.record, secondRefetch, { rank: again.tie!.rank });
    expect(resettled.record.stripe.subscriptions['sub_a']?.stamp).toMatchObject({ origin: 'refetch', rank: 2 });
    expect(resettled.record.derived.billing?.status).toBe('past_due');
    // A refetch never ties with the webhook it settles, and the refetched content arriving again is no tie.
    expect(resettled.tie).toBeNull();
    expect(applyEvent(resettled.record, secondRefetch, { rank: 2 }).tie).toBeNull();
  });

  it('a Zendesk ticket whose version has minute resolution (the trigger) ties with another write of that minute', () => {
    const MIN = 60_000;
    const at = Date.parse('2026-11-23T10:05:00Z');
    // The trigger for the 10:05:40 update (solved) carries 10:05; a snapshot read at 10:05:20 saw the ticket open at 10:05:12.
    const trigger: SourceEvent = {
      ...ticket('5301', 'solved', { version: at, eventId: 'trigger-1' }),
      versionPrecisionMs: MIN,
    };
    const snapshot: SourceEvent = {
      ...ticket('5301', 'open', { version: at + 12_000, eventId: 'snap-5301-1' }),
      origin: 'snapshot',
      versionPrecisionMs: MIN,
    };
    for (const [first, second] of [
      [trigger, snapshot],
      [snapshot, trigger],
    ] as const) {
      const applied = applyEvent(applyEvent(emptyRecord('c'), first).record, second);
      // Neither version can be trusted to order them: the worker reads the ticket back (rank 1) to settle it, at the
      // higher of the two versions, so that what it reads wins over both.
      expect(applied.tie).toEqual({
        path: ['zendesk', 'tickets', '5301'],
        source: 'zendesk',
        objectId: '5301',
        version: at + 12_000,
        rank: 1,
      });
      const settled = applyEvent(
        applied.record,
        { ...ticket('5301', 'solved', { version: applied.tie!.version, eventId: 'refetch-5301' }) },
        { rank: 1 },
      );
      expect(settled.record.derived.support?.tickets[0]).toMatchObject({ id: '5301', status: 'solved' });
    }
    // A write of another minute orders as usual; and the same content again is no tie.
    const nextMinute: SourceEvent = {
      ...ticket('5301', 'pending', { version: at + MIN + 5_000, eventId: 'snap-5301-2' }),
      origin: 'snapshot',
      versionPrecisionMs: MIN,
    };
    expect(applyEvent(applyEvent(emptyRecord('c'), trigger).record, nextMinute).tie).toBeNull();
    expect(applyEvent(applyEvent(emptyRecord('c'), trigger).record, trigger).tie).toBeNull();
  });

  it('a Salesforce CDC update that only changes the tier keeps the account name', () => {
    const [full] = salesforceOutbound('account-outbound.xml');
    const [tierOnly] = salesforceCdc(
      (() => {
        const raw = JSON.parse(JSON.stringify(cdcUpdate));
        raw.Customer_Tier__c = 'Platinum';
        raw.LastModifiedDate = '2024-12-03T10:00:00.000Z';
        return raw;
      })(),
    );
    for (const order of [
      [full!, tierOnly!],
      [tierOnly!, full!],
    ]) {
      const record = replay(order);
      expect(record.derived.profile).toMatchObject({
        name: 'Acme Logistics & Freight B.V.',
        tier: 'Platinum',
        ownerId: '0058d000003Hn1KAAS',
      });
      expect(record.derived.links.salesforceAccountId).toBe('0018d00000QxZ7pAAF');
    }
  });

  it('a Zendesk user event without a name keeps the name an earlier name change set', () => {
    const named = user('801', 'ann@acme.example', { version: 1_000 }, 'Ann Z');
    const roleChanged = user('801', 'ann@acme.example', { version: 2_000 });
    expect(replay([named, roleChanged]).derived.links.contacts).toEqual([
      { email: 'ann@acme.example', name: 'Ann Z', salesforceContactId: null, zendeskUserId: '801' },
    ]);
  });

  it('portal activity keeps the newest time whatever the order', () => {
    const events = [activity('pa_2', 2_000), activity('pa_1', 1_000), activity('pa_3', 2_000)];
    const record = replay(events);
    expect(record.portal).toEqual({ lastActivityAt: new Date(2_000).toISOString(), lastActivityEventId: 'pa_3' });
    expect(record.derived.selfService.lastActivityAt).toBe(new Date(2_000).toISOString());
    expect(json(replay([...events].reverse()))).toBe(json(record));
  });

  it('never changes the record it was given', () => {
    const before = replay([customer({ version: 1_000 })]);
    const copy = structuredClone(before);
    applyEvent(before, customer({ version: 2_000 }, { balance: -100 }));
    expect(before).toEqual(copy);
  });

  it('refuses an event whose data belongs to another source', () => {
    const wrong = { ...subscription('sub_a', 'active', { version: 1 }), source: 'zendesk' } as SourceEvent;
    expect(() => entityKeyFor(wrong)).toThrow(/programming error/);
    expect(() => applyEvent(emptyRecord('c'), wrong)).toThrow(/programming error/);
  });

  it('orders stamps by version, then rank, then hash', () => {
    const s = (version: number, rank: 0 | 1, hash: string) => ({ version, rank, hash });
    expect(compareStamps(s(2, 0, 'a'), s(1, 1, 'b'))).toBe(1);
    expect(compareStamps(s(1, 1, 'a'), s(1, 0, 'b'))).toBe(1);
    expect(compareStamps(s(1, 0, 'a'), s(1, 0, 'b'))).toBe(-1);
    expect(compareStamps(s(1, 0, 'a'), s(1, 0, 'a'))).toBe(0);
  });
});

const cdcUpdate = {
  ChangeEventHeader: {
    entityName: 'Account',
    recordIds: ['0018d00000QxZ7pAAF'],
    changeType: 'UPDATE',
    changeOrigin: 'com/salesforce/api/rest/62.0;client=dataloader',
    transactionKey: 'tx-1',
    sequenceNumber: 1,
    commitTimestamp: 1733131533000,
    changedFields: ['Customer_Tier__c', 'LastModifiedDate'],
    nulledFields: [],
    diffFields: [],
  },
  Customer_Tier__c: 'Gold',
  LastModifiedDate: '2024-12-02T09:25:33.000Z',
};

/** A record with data from every source, for the ownership checks. */
function richRecord(): CustomerRecord {
  return replay([
    customer({ version: 1_000 }),
    subscription('sub_a', 'active', { version: 1_000 }),
    invoice('in_a', 'open', { version: 1_000 }),
    charge('ch_a', 'in_a', 0, { version: 1_000 }),
    account({ Name: 'Acme', OwnerId: '005A', Customer_Tier__c: 'Gold' }, { version: 1_000 }),
    contact('003A', { Email: 'ann@acme.example', Name: 'Ann', AccountId: ACCOUNT }, { version: 1_000 }),
    user('801', 'ann@acme.example', { version: 1_000 }),
    ticket('42', 'open', { version: 1_000 }),
    zendeskFixture('ticket.status_changed'),
    activity('pa_1', 1_000),
  ]);
}

const idsOf = (ids: Array<string | null>) => ids.filter((id) => id !== null).sort();

/** Everything an event of `source` must leave alone: the other sources' entities and the groups they own. */
function notOwnedBy(r: CustomerRecord, source: SourceEvent['source']) {
  const { derived: d } = r;
  const bySource = {
    stripe: { stripe: r.stripe, billing: d.billing, invoices: d.invoices, stripeCustomerId: d.links.stripeCustomerId },
    salesforce: {
      salesforce: r.salesforce,
      profile: d.profile && { ...d.profile, primaryEmail: null },
      salesforceAccountId: d.links.salesforceAccountId,
      contacts: idsOf(d.links.contacts.map((c) => c.salesforceContactId)),
    },
    zendesk: {
      zendesk: r.zendesk,
      support: d.support,
      zendeskOrganizationId: d.links.zendeskOrganizationId,
      contacts: idsOf(d.links.contacts.map((c) => c.zendeskUserId)),
    },
    portal: { portal: r.portal, selfService: d.selfService },
  };
  return Object.fromEntries(Object.entries(bySource).filter(([s]) => s !== source));
}

describe('ownership', () => {
  const later = 5_000;
  const cases: Array<[string, SourceEvent]> = [
    ['a Salesforce account change', account({ Name: 'Other', Customer_Tier__c: 'Bronze' }, { version: later })],
    ['a Salesforce contact change', contact('003A', { Email: 'zed@acme.example', Name: 'Zed' }, { version: later })],
    ['a Stripe subscription change', subscription('sub_a', 'canceled', { version: later, deleted: true })],
    ['a Stripe customer change', customer({ version: later }, { email: 'new@acme.example', balance: 100 })],
    ['a Zendesk ticket change', ticket('42', 'solved', { version: later })],
    ['a Zendesk user change', user('801', 'other@acme.example', { version: later }, 'Other')],
    ['portal activity', activity('pa_9', later)],
  ];
  it.each(cases)('%s changes only its own source and the groups it owns', (_name, event) => {
    const before = richRecord();
    const after = applyEvent(before, event);
    expect(after.changed).toBe(true);
    expect(notOwnedBy(after.record, event.source)).toEqual(notOwnedBy(before, event.source));
  });

  it('holds for any record and any event', () => {
    fc.assert(
      fc.property(streamArb(25), streamArb(1), (base, [last]) => {
        const before = replay(base);
        const after = applyEvent(before, last!.event, { rank: last!.rank }).record;
        expect(notOwnedBy(after, last!.event.source)).toEqual(notOwnedBy(before, last!.event.source));
      }),
      { numRuns: 200 },
    );
  });
});

describe('order independence', () => {
  /** The stream in another order, with some deliveries repeated. */
  const reorderedArb = streamArb().chain((items) =>
    fc.tuple(
      fc.constant(items),
      fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length }),
      fc.array(fc.tuple(fc.nat(items.length - 1), fc.nat()), { maxLength: 10 }),
    ),
  );

  it('any permutation of the stream, with any duplicates, gives the same record', () => {
    fc.assert(
      fc.property(reorderedArb, ([items, shuffled, dups]) => {
        const other = [...shuffled];
        for (const [which, at] of dups) other.splice(at % (other.length + 1), 0, items[which]!);
        const expected = replay(items);
        expect(json(replay(other))).toBe(json(expected));
        expect(CustomerRecordSchema.parse(expected)).toEqual(expected);
        expect(expected.derived).toEqual(project(expected));
      }),
      { numRuns: 300 },
    );
  });

  it('stores every part of a record in canonical form, holding no object of the events it was built from', () => {
    /** Every object and array reachable from a value. */
    const objectsOf = (v: unknown, into = new Set<object>()): Set<object> => {
      if (v === null || typeof v !== 'object' || into.has(v)) return into;
      into.add(v);
      for (const x of Object.values(v)) objectsOf(x, into);
      return into;
    };
    fc.assert(
      fc.property(streamArb(), (items) => {
        const record = replay(items);
        // Its groups keep emptyRecord's order; every entry, every map of entries and the views are canonical.
        const parts: unknown[] = [record.derived, record.portal];
        for (const group of [record.stripe, record.salesforce, record.zendesk])
          for (const slot of Object.values(group) as Array<Record<string, unknown> | null>)
            if (slot !== null) parts.push(slot);
        for (const part of parts) expect(JSON.stringify(part)).toBe(stableStringify(part));
        const fromEvents = new Set<object>();
        for (const { event } of items) objectsOf(event, fromEvents);
        expect([...objectsOf(record)].filter((o) => fromEvents.has(o))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('merging records built from a split of the stream gives the record of the whole stream, in either order', () => {
    fc.assert(
      fc.property(
        streamArb().chain((items) =>
          fc.tuple(fc.constant(items), fc.array(fc.boolean(), { minLength: items.length, maxLength: items.length })),
        ),
        ([items, mask]) => {
          const left = replay(
            items.filter((_, i) => mask[i]),
            'left',
          );
          const right = replay(
            items.filter((_, i) => !mask[i]),
            'right',
          );
          const whole = replay(items, 'kept');
          expect(json(mergeRecords(left, right, 'kept'))).toBe(json(whole));
          expect(json(mergeRecords(right, left, 'kept'))).toBe(json(whole));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('merging is associative and idempotent', () => {
    fc.assert(
      fc.property(streamArb(15), streamArb(15), streamArb(15), (x, y, z) => {
        const [a, b, c] = [replay(x, 'a'), replay(y, 'b'), replay(z, 'c')];
        const leftFirst = mergeRecords(mergeRecords(a, b, 'k'), c, 'k');
        const rightFirst = mergeRecords(a, mergeRecords(b, c, 'k'), 'k');
        expect(json(leftFirst)).toBe(json(rightFirst));
        expect(json(mergeRecords(leftFirst, leftFirst, 'k'))).toBe(json(leftFirst));
      }),
      { numRuns: 200 },
    );
  });
});
