/**
 * Companies as the record store sees them, for the customer-view tests: a Zendesk organization
 * with its users and tickets, and a Stripe customer (linked to the organization by metadata,
 * as the Stripe parser reads it) with a subscription and invoices — SourceEvents with the refs
 * the real parsers give, applied through the real RecordStore.
 */
import type { CustomerRefs, SourceEvent } from '../../src/sync/events/source-event.js';
import type { RecordStore } from '../../src/sync/events/store.js';
import type { Viewer } from '../../src/sync/view/view.js';
import { event } from '../sync/events/merge-events.js';

export interface Company {
  org: string;
  name: string;
  stripe: string;
  status: string;
  users: Array<{ id: string; email: string; externalId?: string | null }>;
  invoices: Array<{
    id: string;
    status: 'open' | 'paid' | 'void' | 'draft';
    total: number;
    currency?: string;
    dueDate?: string | null;
  }>;
  /** requester: a user id */
  tickets: Array<{ id: string; requester: string; status: string; subject?: string; brandId?: string }>;
}

const withRefs = (e: SourceEvent, refs: CustomerRefs): SourceEvent => ({ ...e, refs });
const iso = (ms: number) => new Date(ms).toISOString();

export function userEvent(org: string | null, u: Company['users'][number], version: number): SourceEvent {
  return withRefs(
    event(
      u.id,
      {
        kind: 'zendesk.user',
        id: u.id,
        name: null,
        email: u.email,
        externalId: u.externalId ?? null,
        organizationId: org,
        role: 'end-user',
      },
      { version },
    ),
    {
      zendeskUserId: u.id,
      email: u.email,
      ...(org ? { zendeskOrganizationId: org } : {}),
      ...(u.externalId ? { salesforceContactId: u.externalId } : {}),
    },
  );
}

/** The Zendesk side of a company: its organization, users and tickets. */
export function zendeskSide(c: Company, version = 1_000): SourceEvent[] {
  return [
    withRefs(
      event(
        c.org,
        { kind: 'zendesk.organization', id: c.org, name: c.name, externalId: null, tags: null },
        { version },
      ),
      { zendeskOrganizationId: c.org },
    ),
    ...c.users.map((u) => userEvent(c.org, u, version)),
    ...c.tickets.map((t) =>
      withRefs(
        event(
          t.id,
          {
            kind: 'zendesk.ticket',
            id: t.id,
            subject: t.subject ?? `Ticket ${t.id}`,
            description: null,
            status: t.status,
            priority: 'normal',
            formId: null,
            tags: [],
            requesterId: t.requester,
            organizationId: c.org,
            createdAt: iso(version),
            updatedAt: iso(version),
            ...(t.brandId ? { brandId: t.brandId } : {}),
          },
          { version },
        ),
        { zendeskOrganizationId: c.org, zendeskUserId: t.requester },
      ),
    ),
  ];
}

/** The Stripe side: the customer (metadata naming the organization), a subscription, the invoices. */
export function stripeSide(c: Company, version = 1_000, opts: { linkOrg?: boolean } = {}): SourceEvent[] {
  const linkOrg = opts.linkOrg ?? true;
  return [
    withRefs(
      event(
        c.stripe,
        {
          kind: 'stripe.customer',
          name: c.name,
          email: `billing@${c.stripe}.example`,
          currency: 'usd',
          balance: -500,
          delinquent: false,
          defaultPaymentMethodId: null,
          metadata: linkOrg ? { zendesk_organization_id: c.org } : {},
        },
        { version },
      ),
      { stripeCustomerId: c.stripe, ...(linkOrg ? { zendeskOrganizationId: c.org } : {}) },
    ),
    withRefs(
      event(
        `sub_${c.stripe}`,
        {
          kind: 'stripe.subscription',
          id: `sub_${c.stripe}`,
          status: c.status,
          planName: `${c.name} Team`,
          priceId: 'price_team',
          currency: 'usd',
          mrr: 4900,
          currentPeriodEnd: iso(version + 30 * 86_400_000),
          cancelAtPeriodEnd: false,
        },
        { version },
      ),
      { stripeCustomerId: c.stripe },
    ),
    withRefs(
      event(
        `pm_${c.stripe}`,
        {
          kind: 'stripe.payment_method',
          id: `pm_${c.stripe}`,
          type: 'card',
          attached: true,
          brand: 'visa',
          last4: '4242',
        },
        { version },
      ),
      { stripeCustomerId: c.stripe },
    ),
    ...c.invoices.map((i, n) =>
      withRefs(
        event(
          i.id,
          {
            kind: 'stripe.invoice',
            id: i.id,
            number: `${c.name.toUpperCase().slice(0, 4)}-${n + 1}`,
            status: i.status,
            currency: i.currency ?? 'usd',
            total: i.total,
            amountDue: i.total,
            amountPaid: i.status === 'paid' ? i.total : 0,
            amountRemaining: i.status === 'open' ? i.total : 0,
            dueDate: i.dueDate ?? null,
            createdAt: iso(version - (c.invoices.length - n) * 86_400_000),
            hostedInvoiceUrl: `https://invoice.stripe.test/${i.id}`,
            invoicePdf: `https://invoice.stripe.test/${i.id}.pdf`,
            subscriptionId: `sub_${c.stripe}`,
          },
          { version },
        ),
        { stripeCustomerId: c.stripe },
      ),
    ),
  ];
}

export async function applyAll(store: RecordStore, events: SourceEvent[]): Promise<void> {
  for (const e of events) await store.apply(e);
}

/** Two companies the customer-view tests share: Acme (Ann, an open invoice, a ticket) and Bobco (Bob, a paid invoice). */
export const acme: Company = {
  org: '7001',
  name: 'Acme',
  stripe: 'cus_acme',
  status: 'past_due',
  users: [{ id: '8001', email: 'ann@acme.example' }],
  invoices: [{ id: 'in_acme_1', status: 'open', total: 4900 }],
  tickets: [{ id: '5001', requester: '8001', status: 'open' }],
};
export const bobco: Company = {
  org: '9001',
  name: 'Bobco',
  stripe: 'cus_bob',
  status: 'active',
  users: [{ id: '8002', email: 'bob@bobco.example' }],
  invoices: [{ id: 'in_bob_1', status: 'paid', total: 1200 }],
  tickets: [],
};
/** Acme's Help Center user, as a verified token names her. */
export const ann: Viewer = { zendeskUserId: '8001', externalId: null, email: 'ann@acme.example' };
/** Bobco's Help Center user. */
export const bob: Viewer = { zendeskUserId: '8002', externalId: null, email: 'bob@bobco.example' };
