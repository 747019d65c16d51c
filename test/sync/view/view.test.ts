/**
 * The customer view projection, over random records (any events, any order, duplicates, deletions):
 * it shows only what the record holds as this customer's, in the documented shape, and never an
 * internal figure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toMajorUnits } from '../../../src/sync/money.js';
import { customerView, holdsViewer, viewerKeys, type Viewer } from '../../../src/sync/view/view.js';
import { replay, streamArb, subscription } from '../events/merge-events.js';

const viewerArb: fc.Arbitrary<Viewer> = fc.record({
  zendeskUserId: fc.constantFrom('801', '802', '803'),
  externalId: fc.constantFrom(null, '003A', '0035e00000AnnCtAAJ'),
  email: fc.constantFrom(null, 'ann@acme.example', 'Carl@Acme.example', 'nobody@else.example'),
});
const optsArb = fc.record({
  recentPaidInvoices: fc.integer({ min: 0, max: 3 }),
  tickets: fc.constantFrom('requester' as const, 'organization' as const),
});

describe('customer view projection', () => {
  it('shows a canceled subscription as canceled with the day it ended, not as no subscription', () => {
    const endedAt = '2026-11-30T00:00:00.000Z';
    const record = replay([
      subscription('sub_a', 'active', { version: 1_000 }),
      subscription('sub_a', 'canceled', { version: 2_000 }, { endedAt }),
    ]);
    const view = customerView(
      record,
      { zendeskUserId: '801', externalId: null, email: null },
      { recentPaidInvoices: 3, tickets: 'requester' },
    );
    expect(view.billing).toMatchObject({ status: 'canceled', endedAt, plan: 'Team' });
  });

  it('gives an end date only to a subscription that ended', () => {
    fc.assert(
      fc.property(streamArb(), viewerArb, optsArb, (items, viewer, opts) => {
        const view = customerView(replay(items), viewer, opts);
        if (view.billing?.endedAt) expect(['canceled', 'incomplete_expired']).toContain(view.billing.status);
      }),
      { numRuns: 100 },
    );
  });

  it('shows the open invoices and the newest paid ones of the record only, amounts in major units', () => {
    fc.assert(
      fc.property(streamArb(), viewerArb, optsArb, (items, viewer, opts) => {
        const record = replay(items);
        const view = customerView(record, viewer, opts);
        const derived = new Map(record.derived.invoices.map((i) => [i.id, i]));
        for (const shown of view.invoices) {
          const source = derived.get(shown.id);
          expect(source).toBeDefined();
          expect(['open', 'paid']).toContain(source!.status);
          expect(shown.total).toBe(toMajorUnits(source!.total, source!.currency));
          expect(shown.amountRemaining).toBe(toMajorUnits(source!.amountRemaining, source!.currency));
          expect(shown.currency).toBe(source!.currency.toUpperCase());
        }
        const open = record.derived.invoices.filter((i) => i.status === 'open').map((i) => i.id);
        expect(view.invoices.filter((i) => i.status === 'open').map((i) => i.id)).toEqual(open);
        expect(view.invoices.filter((i) => i.status === 'paid').length).toBe(
          Math.min(opts.recentPaidInvoices, record.derived.invoices.filter((i) => i.status === 'paid').length),
        );
      }),
      { numRuns: 100 },
    );
  });

  it("shows tickets of the record only, and with the requester scope only the viewer's own", () => {
    fc.assert(
      fc.property(streamArb(), viewerArb, optsArb, (items, viewer, opts) => {
        const record = replay(items);
        const ids = new Set((record.derived.support?.tickets ?? []).map((t) => t.id));
        for (const t of customerView(record, viewer, opts).tickets) {
          expect(ids.has(t.id)).toBe(true);
          if (opts.tickets === 'requester')
            expect(record.zendesk.tickets[t.id]!.data.requesterId).toBe(viewer.zendeskUserId);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('never carries MRR, balance, owner, tier or internal ids, and keeps to the documented keys', () => {
    fc.assert(
      fc.property(streamArb(), viewerArb, optsArb, (items, viewer, opts) => {
        const record = replay(items);
        const view = customerView(record, viewer, opts);
        expect(Object.keys(view).sort()).toEqual([
          'billing',
          'brand',
          'customer',
          'invoices',
          'tickets',
          'updatedAt',
          'v',
        ]);
        if (view.billing)
          expect(Object.keys(view.billing).sort()).toEqual([
            'currency',
            'delinquent',
            'endedAt',
            'nextInvoiceDate',
            'paymentMethodOnFile',
            'plan',
            'status',
          ]);
        const text = JSON.stringify(view);
        expect(text).not.toMatch(/"(mrr|balance|ownerId|tier|links|stamp|id":"cust-)/);
        expect(text).not.toContain(record.id);
      }),
      { numRuns: 100 },
    );
  });

  it('a record holds a viewer only as a live contact of its own (or, by email, its billing email)', () => {
    fc.assert(
      fc.property(streamArb(), viewerArb, (items, viewer) => {
        const record = replay(items);
        const contacts = record.derived.links.contacts;
        for (const key of viewerKeys(viewer)) {
          const value = key.slice(key.indexOf(':') + 1);
          const holds = holdsViewer(record, key);
          if (key.startsWith('zduser:')) {
            const org =
              record.zendesk.organization?.stamp.deleted === false ? record.zendesk.organization.stamp.objectId : null;
            const member = org === null || record.zendesk.users[value]?.data.organizationId === org;
            expect(holds).toBe(contacts.some((c) => c.zendeskUserId === value) && member);
          }
          if (key.startsWith('sfcontact:')) expect(holds).toBe(contacts.some((c) => c.salesforceContactId === value));
          if (holds && key.startsWith('email:')) {
            const billing =
              record.stripe.customer && !record.stripe.customer.stamp.deleted
                ? record.stripe.customer.data.email?.toLowerCase()
                : undefined;
            expect(contacts.some((c) => c.email === value) || billing === value).toBe(true);
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('looks a viewer up by Zendesk user id, then a Salesforce Contact external id, then normalized email', () => {
    expect(viewerKeys({ zendeskUserId: '801', externalId: '0035e00000AnnCtAAJ', email: ' Ann@Acme.Example ' })).toEqual(
      ['zduser:801', 'sfcontact:0035e00000AnnCtAAJ', 'email:ann@acme.example'],
    );
    expect(viewerKeys({ zendeskUserId: '801', externalId: 'crm-42', email: null })).toEqual(['zduser:801']);
  });
});
