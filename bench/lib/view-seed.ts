/**
 * Customers for bench/read: per company a Zendesk organization with its users and tickets, and a
 * Stripe customer (metadata naming the organization) with a subscription and a year of invoices,
 * applied through the real RecordStore, as the events worker would.
 */
import {
  SourceEventSchema,
  type CustomerRefs,
  type EventData,
  type SourceEvent,
} from '../../src/sync/events/source-event.js';
import type { RecordStore } from '../../src/sync/events/store.js';

const iso = (ms: number) => new Date(ms).toISOString();

function event(objectId: string, data: EventData, refs: CustomerRefs, version: number): SourceEvent {
  const source = data.kind.slice(0, data.kind.indexOf('.'));
  return SourceEventSchema.parse({
    v: 1,
    source,
    objectId,
    version,
    origin: 'webhook',
    deleted: false,
    eventId: `${data.kind}-${objectId}`,
    type: `${data.kind}.updated`,
    refs,
    data,
  });
}

export interface SeededUser {
  id: number;
  email: string;
}

/** Company k: organization 7000k, users 8000k0j, Stripe cus_bench_k with 12 invoices, 5 tickets. */
export async function seedCompany(
  store: RecordStore,
  k: number,
  usersPerCompany: number,
  now = Date.now(),
): Promise<SeededUser[]> {
  const org = String(700_000 + k);
  const stripe = `cus_bench_${k}`;
  const users = Array.from({ length: usersPerCompany }, (_, j) => ({
    id: 800_000_000 + k * 100 + j,
    email: `u${j}@company${k}.example`,
  }));
  const events: SourceEvent[] = [
    event(
      org,
      { kind: 'zendesk.organization', id: org, name: `Company ${k}`, externalId: null, tags: null },
      { zendeskOrganizationId: org },
      now,
    ),
    ...users.map((u) =>
      event(
        String(u.id),
        {
          kind: 'zendesk.user',
          id: String(u.id),
          name: null,
          email: u.email,
          externalId: null,
          organizationId: org,
          role: 'end-user',
        },
        { zendeskUserId: String(u.id), zendeskOrganizationId: org, email: u.email },
        now,
      ),
    ),
    event(
      stripe,
      {
        kind: 'stripe.customer',
        name: `Company ${k}`,
        email: `billing@company${k}.example`,
        currency: 'usd',
        balance: 0,
        delinquent: false,
        defaultPaymentMethodId: null,
        metadata: { zendesk_organization_id: org },
      },
      { stripeCustomerId: stripe, zendeskOrganizationId: org },
      now,
    ),
    event(
      `sub_${stripe}`,
      {
        kind: 'stripe.subscription',
        id: `sub_${stripe}`,
        status: k % 5 === 0 ? 'past_due' : 'active',
        planName: 'Team',
        priceId: 'price_team',
        currency: 'usd',
        mrr: 4900,
        currentPeriodEnd: iso(now + 20 * 86_400_000),
        cancelAtPeriodEnd: false,
      },
      { stripeCustomerId: stripe },
      now,
    ),
    ...Array.from({ length: 12 }, (_, m) =>
      event(
        `in_${k}_${m}`,
        {
          kind: 'stripe.invoice',
          id: `in_${k}_${m}`,
          number: `C${k}-${m + 1}`,
          status: m === 11 ? 'open' : 'paid',
          currency: 'usd',
          total: 4900,
          amountDue: 4900,
          amountPaid: m === 11 ? 0 : 4900,
          amountRemaining: m === 11 ? 4900 : 0,
          dueDate: iso(now - (11 - m) * 30 * 86_400_000),
          createdAt: iso(now - (12 - m) * 30 * 86_400_000),
          hostedInvoiceUrl: `https://invoice.stripe.test/in_${k}_${m}`,
          invoicePdf: `https://invoice.stripe.test/in_${k}_${m}.pdf`,
          subscriptionId: `sub_${stripe}`,
        },
        { stripeCustomerId: stripe },
        now,
      ),
    ),
    ...Array.from({ length: 5 }, (_, t) =>
      event(
        String(900_000 + k * 10 + t),
        {
          kind: 'zendesk.ticket',
          id: String(900_000 + k * 10 + t),
          subject: `Question ${t}`,
          description: null,
          status: t === 0 ? 'open' : 'solved',
          priority: 'normal',
          formId: null,
          tags: [],
          requesterId: String(users[t % users.length]!.id),
          organizationId: org,
          createdAt: iso(now),
          updatedAt: iso(now),
        },
        { zendeskOrganizationId: org, zendeskUserId: String(users[t % users.length]!.id) },
        now,
      ),
    ),
  ];
  for (const e of events) await store.apply(e);
  return users;
}
