import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { billingLine } from '../../../src/cli/money-text.js';
import { portalProjection, project, projectionHash } from '../../../src/sync/events/project.js';
import { DerivedSchema, canonical, emptyRecord, stableStringify } from '../../../src/sync/events/record.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import {
  ACCOUNT,
  account,
  activity,
  charge,
  contact,
  customer,
  invoice,
  ORGANIZATION,
  organization,
  paymentMethod,
  replay,
  salesforceCdc,
  streamArb,
  fixture,
  stripeFixture,
  subscription,
  ticket,
  user,
  zendeskFixture,
} from './merge-events.js';

const DAY = 86_400_000;

describe('billing', () => {
  it('shows the active subscription, not a canceled one', () => {
    const record = replay([
      subscription('sub_a', 'canceled', { version: 3_000 }, { planName: 'Old plan' }),
      subscription('sub_b', 'active', { version: 1_000 }, { planName: 'Team' }),
    ]);
    expect(record.derived.billing).toMatchObject({ status: 'active', plan: 'Team' });
  });

  it('a canceled subscription reads as canceled with its end date, not as no subscription (real customer.subscription.deleted)', () => {
    const ended = new Date(1798886000 * 1000).toISOString();
    const record = replay([stripeFixture('customer.subscription.deleted')]);
    expect(record.derived.billing).toMatchObject({ status: 'canceled', endedAt: ended, mrr: 0, nextInvoiceDate: null });
    expect(record.derived.billing?.plan).not.toBeNull();
    // What the portal targets write: the status says when it ended.
    expect(portalProjection(record.derived).billing?.status).toBe(`canceled (ended on ${ended.slice(0, 10)})`);
    // And what `inspect` prints.
    expect(billingLine(record.derived.billing!)).toMatch(
      new RegExp(`^billing: canceled \\(ended on ${ended.slice(0, 10)}\\) on \\S`),
    );
  });

  it('the most relevant subscription wins: one that still bills over any that ended, then among ended ones the last to end', () => {
    const live = replay([
      subscription(
        'sub_old',
        'canceled',
        { version: 5_000, deleted: true },
        { planName: 'Old', endedAt: new Date(5_000).toISOString() },
      ),
      subscription('sub_new', 'past_due', { version: 1_000 }, { planName: 'Team' }),
    ]);
    expect(live.derived.billing).toMatchObject({ status: 'past_due', plan: 'Team', endedAt: null });
    const ended = replay([
      subscription(
        'sub_a',
        'canceled',
        { version: 9_000, deleted: true },
        { planName: 'First', endedAt: new Date(2_000).toISOString() },
      ),
      subscription(
        'sub_b',
        'incomplete_expired',
        { version: 3_000 },
        { planName: 'Second', endedAt: new Date(3_000).toISOString() },
      ),
    ]);
    expect(ended.derived.billing).toMatchObject({
      status: 'incomplete_expired',
      plan: 'Second',
      endedAt: new Date(3_000).toISOString(),
    });
  });

  it('MRR sums the subscriptions that bill: active, past due and trialing', () => {
    const record = replay([
      subscription('sub_a', 'active', { version: 1_000 }, { mrr: 4_900 }),
      subscription('sub_b', 'past_due', { version: 1_000 }, { mrr: 1_000 }),
      subscription('sub_c', 'trialing', { version: 1_000 }, { mrr: 500 }),
      subscription('sub_d', 'canceled', { version: 1_000 }, { mrr: 9_900 }),
      subscription('sub_e', 'canceled', { version: 1_000, deleted: true }, { mrr: 7_000 }),
    ]);
    expect(record.derived.billing?.mrr).toBe(6_400);
  });

  it('MRR from a real subscription event counts every item', () => {
    const record = replay([stripeFixture('customer.subscription.updated')]);
    expect(record.derived.billing?.mrr).toBeGreaterThan(0);
    expect(record.derived.billing?.nextInvoiceDate).not.toBeNull();
  });

  it('a subscription that ends at the period end has no next invoice', () => {
    const record = replay([subscription('sub_a', 'active', { version: 1_000 }, { cancelAtPeriodEnd: true })]);
    expect(record.derived.billing?.nextInvoiceDate).toBeNull();
  });

  it('is delinquent once an open invoice is past due as of the newest Stripe event', () => {
    const due = invoice('in_a', 'open', { version: 1_000 }, { dueDate: new Date(10 * DAY).toISOString() });
    expect(replay([due]).derived.billing?.delinquent).toBe(false);
    expect(replay([due, customer({ version: 11 * DAY })]).derived.billing?.delinquent).toBe(true);
    expect(replay([customer({ version: 1_000 }, { delinquent: true })]).derived.billing?.delinquent).toBe(true);
  });

  it('knows whether a payment method is on file', () => {
    expect(replay([paymentMethod('pm_a', true, { version: 1_000 })]).derived.billing?.paymentMethodOnFile).toBe(true);
    const detached = [stripeFixture('payment_method.attached'), stripeFixture('payment_method.detached')];
    expect(replay(detached).derived.billing?.paymentMethodOnFile).toBe(false);
    // A default chosen before we listened still counts, until we see that method go.
    const withDefault = customer({ version: 1_000 }, { defaultPaymentMethodId: 'pm_old' });
    expect(replay([withDefault]).derived.billing?.paymentMethodOnFile).toBe(true);
    expect(
      replay([withDefault, paymentMethod('pm_old', false, { version: 2_000 })]).derived.billing?.paymentMethodOnFile,
    ).toBe(false);
  });

  it('is absent without Stripe data', () => {
    expect(replay([ticket('1', 'open', { version: 1 })]).derived.billing).toBeNull();
  });
});

describe('invoices', () => {
  it('lists newest first with amounts, refunds and links', () => {
    const record = replay([
      invoice('in_old', 'paid', { version: 1_000 }, { createdAt: new Date(DAY).toISOString() }),
      invoice(
        'in_new',
        'open',
        { version: 1_000 },
        { createdAt: new Date(2 * DAY).toISOString(), hostedInvoiceUrl: 'https://pay.example/in_new' },
      ),
      charge('ch_1', 'in_old', 1_000, { version: 2_000 }),
    ]);
    expect(record.derived.invoices.map((i) => [i.id, i.amountRefunded])).toEqual([
      ['in_new', 0],
      ['in_old', 1_000],
    ]);
    expect(record.derived.invoices[0]?.hostedInvoiceUrl).toBe('https://pay.example/in_new');
    expect(portalProjection(record.derived).openInvoiceCount).toBe(1);
  });
});

describe('support', () => {
  it('counts new, open, pending and on-hold tickets as open, and skips deleted ones', () => {
    const record = replay([
      ticket('1', 'new', { version: 1_000 }),
      ticket('2', 'open', { version: 2_000 }),
      ticket('3', 'pending', { version: 3_000 }),
      ticket('4', 'hold', { version: 4_000 }),
      ticket('5', 'solved', { version: 5_000 }),
      ticket('6', 'closed', { version: 6_000 }),
      ticket('7', 'open', { version: 7_000, deleted: true }),
      zendeskFixture('ticket.status_changed'),
    ]);
    expect(record.derived.support?.openTicketCount).toBe(4);
    // Newest first; the fixture's ticket is solved and from 2026.
    expect(record.derived.support?.tickets.map((t) => t.id)).toEqual(['5301', '6', '5', '4', '3', '2', '1']);
    expect(record.derived.support?.tickets[0]).toEqual({
      id: '5301',
      subject: 'Cannot download invoice',
      status: 'solved',
      priority: 'high',
      category: null,
      updatedAt: '2026-03-03T12:45:20.000Z',
      brandId: '360000000001',
    });
  });

  it("keeps each ticket's brand and lists the brands the customer's tickets are on; a ticket of unknown brand adds none", () => {
    const record = replay([
      ticket('1', 'open', { version: 1_000 }, { brandId: '360000000002' }),
      ticket('2', 'open', { version: 2_000 }, { brandId: '360000000001' }),
      ticket('3', 'open', { version: 3_000 }, { brandId: '360000000002' }),
      ticket('4', 'open', { version: 4_000 }, { brandId: null }),
    ]);
    expect(record.derived.support?.tickets.map((t) => [t.id, t.brandId])).toEqual([
      ['4', undefined],
      ['3', '360000000002'],
      ['2', '360000000001'],
      ['1', '360000000002'],
    ]);
    expect(record.derived.support?.brandIds).toEqual(['360000000001', '360000000002']);
    expect(DerivedSchema.parse(record.derived)).toEqual(record.derived);
  });

  it('projects tickets without a brand as before brands were read (no brand keys, the same projection hash)', () => {
    const record = replay([ticket('1', 'open', { version: 1_000 })]);
    expect(record.derived.support).toEqual({
      openTicketCount: 1,
      tickets: [expect.not.objectContaining({ brandId: expect.anything() })],
    });
    expect(Object.keys(record.derived.support!)).toEqual(['openTicketCount', 'tickets']);
  });

  it('is absent without Zendesk data', () => {
    expect(replay([customer({ version: 1 })]).derived.support).toBeNull();
  });
});

describe('links and profile', () => {
  it('joins Salesforce contacts and Zendesk users on email, whatever its case', () => {
    const [sfContact] = salesforceCdc(fixture('salesforce/contact-cdc-create.json'));
    const record = replay([
      sfContact!,
      user('8000000000201', 'priya.raman@acme-logistics.example', { version: 1_000 }),
      user('8000000000202', null, { version: 1_000 }, 'No Email'),
      zendeskFixture('user.created'),
    ]);
    expect(record.derived.links.contacts).toEqual([
      { email: 'jane.doe@example.com', name: null, salesforceContactId: null, zendeskUserId: '8000000000201' },
      {
        email: 'priya.raman@acme-logistics.example',
        name: 'Priya Raman',
        salesforceContactId: '0038d00000Rk2LpAAJ',
        zendeskUserId: null,
      },
      { email: null, name: 'No Email', salesforceContactId: null, zendeskUserId: '8000000000202' },
    ]);
  });

  it('pairs a contact and a user with the same email in one row', () => {
    const record = replay([
      contact('003A', { Email: 'Ann@Acme.example', Name: 'Ann' }, { version: 1 }),
      user('801', 'ann@acme.example', { version: 1 }),
    ]);
    expect(record.derived.links.contacts).toEqual([
      { email: 'ann@acme.example', name: 'Ann', salesforceContactId: '003A', zendeskUserId: '801' },
    ]);
  });

  it("leaves out a contact, user or ticket that has moved to another Account or organization: never a place for this customer's data", () => {
    const record = replay(
      [
        account({ Name: 'Acme' }, { version: 1 }),
        organization({ version: 1 }),
        contact('003A', { Email: 'ann@acme.example', Name: 'Ann', AccountId: ACCOUNT }, { version: 1 }),
        // Moved to another customer's Account / organization after they joined this record.
        contact('003B', { Email: 'bob@globex.example', Name: 'Bob', AccountId: '001OTHER' }, { version: 2 }),
        user('802', 'carl@globex.example', { version: 2 }),
        { ...user('803', 'dora@acme.example', { version: 1 }) },
        ticket('5301', 'open', { version: 1 }, { organizationId: ORGANIZATION }),
        ticket('5302', 'open', { version: 2 }, { organizationId: '799' }),
        ticket('5303', 'open', { version: 1 }, { organizationId: null }),
      ].map((e) =>
        e.objectId === '802' && e.data.kind === 'zendesk.user'
          ? { ...e, data: { ...e.data, organizationId: '799' } }
          : e,
      ),
    );
    expect(record.derived.links.contacts.map((c) => c.salesforceContactId ?? c.zendeskUserId)).toEqual(['003A', '803']);
    expect(record.derived.support?.tickets.map((t) => t.id).sort()).toEqual(['5301', '5303']);
    expect(record.derived.support?.openTicketCount).toBe(2);
  });

  it('takes the profile from the CRM account, with the first CRM contact as primary email', () => {
    const record = replay([
      account({ Name: 'Acme', OwnerId: '005A', Customer_Tier__c: 'Gold' }, { version: 1 }),
      contact('003B', { Email: 'bob@acme.example' }, { version: 1 }),
      contact('003A', { Email: 'ann@acme.example' }, { version: 1 }),
      customer({ version: 1 }, { email: 'billing@acme.example' }),
    ]);
    expect(record.derived.profile).toEqual({
      name: 'Acme',
      primaryEmail: 'ann@acme.example',
      ownerId: '005A',
      tier: 'Gold',
    });
    expect(record.derived.links).toMatchObject({ salesforceAccountId: ACCOUNT, stripeCustomerId: 'cus_1' });
  });

  it("falls back to the Stripe customer's email without a CRM contact, and has no profile without an account", () => {
    const base = [
      account({ Name: 'Acme' }, { version: 1 }),
      customer({ version: 1 }, { email: 'Billing@Acme.example' }),
    ];
    expect(replay(base).derived.profile?.primaryEmail).toBe('billing@acme.example');
    expect(replay([...base, account({}, { version: 2, deleted: true })]).derived.profile).toBeNull();
  });
});

describe('projection', () => {
  it('an empty record projects to its stored empty views', () => {
    const empty = emptyRecord('x');
    expect(project(empty)).toEqual(empty.derived);
    expect(DerivedSchema.parse(empty.derived)).toEqual(empty.derived);
  });

  it('projectionHash is the same whatever the key order, and changes with the content', () => {
    const record = replay([subscription('sub_a', 'active', { version: 1 }), ticket('1', 'open', { version: 1 })]);
    const p = portalProjection(record.derived);
    const reversed = JSON.parse(
      JSON.stringify(p, (_k, v) =>
        v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
      ),
    );
    expect(JSON.stringify(reversed)).not.toBe(JSON.stringify(p));
    expect(projectionHash(reversed)).toBe(projectionHash(p));
    expect(projectionHash(canonical(p))).toBe(projectionHash(p));
    expect(projectionHash({ ...p, openInvoiceCount: p.openInvoiceCount + 1 })).not.toBe(projectionHash(p));
  });

  it('builds its views in canonical key order, so a record stores them as built (no canonical copy per event)', () => {
    fc.assert(
      fc.property(streamArb(30), (items) => {
        const record = replay(items);
        const views = project(record);
        expect(JSON.stringify(views)).toBe(stableStringify(views));
      }),
      { numRuns: 300 },
    );
    const seen = activity('pa_1', 1);
    const brands = replay([
      ticket('1', 'open', { version: 1 }, { brandId: '360001' }),
      { ...seen, data: { ...seen.data, brandId: '360002' } } as SourceEvent,
    ]);
    expect(brands.derived.support?.brandIds).toEqual(['360001']);
    expect(brands.derived.selfService.brandIds).toEqual(['360002']);
    expect(JSON.stringify(project(brands))).toBe(stableStringify(project(brands)));
  });

  it('shares no object with the record it projects (a change to one never shows in the other)', () => {
    fc.assert(
      fc.property(streamArb(30), (items) => {
        const record = replay(items);
        const inRecord = new Set<unknown>();
        const collect = (v: unknown): void => {
          if (v === null || typeof v !== 'object') return;
          inRecord.add(v);
          for (const x of Object.values(v)) collect(x);
        };
        const { derived: _stored, ...entities } = record;
        collect(entities);
        const shared: unknown[] = [];
        const find = (v: unknown): void => {
          if (v === null || typeof v !== 'object') return;
          if (inRecord.has(v)) shared.push(v);
          for (const x of Object.values(v)) find(x);
        };
        find(project(record));
        expect(shared).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('a change the portal does not show leaves the projection hash alone', () => {
    const before = replay([subscription('sub_a', 'active', { version: 1 }), account({ Name: 'Acme' }, { version: 1 })]);
    const after = replay([account({ Name: 'Acme Ltd' }, { version: 2 })], 'c', before);
    expect(after.derived.profile?.name).toBe('Acme Ltd');
    expect(projectionHash(portalProjection(after.derived))).toBe(projectionHash(portalProjection(before.derived)));
  });
});
