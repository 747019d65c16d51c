/**
 * Linked synthetic customers in the three platform stand-ins, for the resync
 * benchmark and the bulk push tests: per customer a Salesforce Account and
 * Contact, a Zendesk organization (external_id = the Account), user
 * (external_id = the Contact, same email) and ticket, and — with a Stripe
 * stand-in — a Stripe customer (metadata naming the Account) with an active
 * subscription and one invoice. The portal side is provisioned the way
 * `portal-sync setup` leaves it (the deflection event object included). Seeding is silent (no events, no webhooks).
 */
import type { Config } from '../../src/config.js';
import { DEFLECTION_FIELDS } from '../../src/connectors/salesforce/target-records.js';
import type { SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import type { StripeStandIn } from '../../src/demo/standins/stripe/index.js';
import type { ZendeskStandIn, ZendeskTicketStatus } from '../../src/demo/standins/zendesk/index.js';
import { ORGANIZATION_FIELD_TYPES } from './zendesk-stand-in.js';

type Targets = Config['targets'];

export interface SeededCustomer {
  i: number;
  accountId: string;
  contactId: string;
  orgId: number;
  userId: number;
  ticketId: number;
  email: string;
  stripeCustomerId: string | null;
  invoiceId: string | null;
}

/** The Zendesk organization and user fields and invoice object, and the Salesforce fields and objects, the targets write. */
export function provisionPortals(zd: ZendeskStandIn | null, sf: SalesforceStandIn | null, targets: Targets): void {
  if (zd) {
    for (const [name, key] of Object.entries(targets.zendesk.fields) as Array<
      [keyof Targets['zendesk']['fields'], string]
    >) {
      zd.seedField('organization', { key, type: ORGANIZATION_FIELD_TYPES[name] });
      zd.seedField('user', { key, type: ORGANIZATION_FIELD_TYPES[name] });
    }
    zd.seedCustomObject(targets.zendesk.invoiceObject.key, {
      fields: Object.values(targets.zendesk.invoiceObject.fields).map((key) => ({ key, type: 'text' })),
    });
  }
  if (sf) {
    const a = targets.salesforce.accountFields;
    for (const spec of [
      { name: a.status },
      { name: a.plan },
      { name: a.mrr, type: 'currency' as const },
      { name: a.balance, type: 'currency' as const },
      { name: a.nextInvoiceDate, type: 'date' as const },
      { name: a.delinquent, type: 'boolean' as const },
      { name: a.openTickets, type: 'double' as const },
    ]) {
      sf.state.defineField('Account', spec);
    }
    // What the Salesforce DX package deploys: unique, case-sensitive external ids.
    for (const o of [targets.salesforce.invoice, targets.salesforce.ticket]) {
      sf.state.defineField(o.object, { name: o.externalId, externalId: true, unique: true, caseSensitive: true });
      for (const [role, name] of Object.entries(o.fields)) {
        sf.state.defineField(
          o.object,
          role === 'account'
            ? { name, type: 'reference', referenceTo: ['Account'], relationshipName: name.replace(/__c$/, '__r') }
            : { name },
        );
      }
    }
    const d = targets.salesforce.deflection;
    sf.state.defineField(d.object, { name: d.externalId, externalId: true, unique: true, caseSensitive: true });
    for (const [role, name] of Object.entries(DEFLECTION_FIELDS)) {
      sf.state.defineField(
        d.object,
        role === 'account'
          ? { name, type: 'reference', referenceTo: ['Account'], relationshipName: name.replace(/__c$/, '__r') }
          : role === 'occurredAt'
            ? { name, type: 'datetime' }
            : { name },
      );
    }
  }
}

export interface SeedOptions {
  /** Customers `from` … `from + count - 1`. */
  from?: number;
  count: number;
  /** Zendesk `updated_at` (ISO, whole seconds) of customer i's objects: older than the export lag. */
  updatedAt: (i: number) => string;
}

/** Zendesk ids are explicit, so that twin stand-ins seeded alike hold the same ids. */
const ORG_ID = (i: number) => 9_100_000_000 + i;
const USER_ID = (i: number) => 8_100_000_000 + i;
const TICKET_ID = (i: number) => 500_000 + i;

export function seedLinkedCustomers(
  zd: ZendeskStandIn,
  sf: SalesforceStandIn,
  stripe: StripeStandIn | null,
  opts: SeedOptions,
): SeededCustomer[] {
  const from = opts.from ?? 0;
  const out: SeededCustomer[] = [];
  for (let i = from; i < from + opts.count; i++) {
    const email = `billing@customer-${i}.example`;
    const account = sf.state.seedAccount({ Name: `Customer ${i} Ltd` });
    const contact = sf.state.seedContact({ AccountId: account.Id, LastName: `Buyer ${i}`, Email: email });
    const at = opts.updatedAt(i);
    const org = zd.seedOrganization({
      id: ORG_ID(i),
      name: `Customer ${i} Ltd`,
      external_id: account.Id,
      created_at: at,
      updated_at: at,
    });
    const user = zd.seedUser({
      id: USER_ID(i),
      name: `Buyer ${i}`,
      email,
      external_id: contact.Id,
      organization_id: org.id,
      created_at: at,
      updated_at: at,
    });
    const status: ZendeskTicketStatus = i % 3 === 0 ? 'solved' : 'open';
    const ticket = zd.seedTicket({
      id: TICKET_ID(i),
      subject: `Where is invoice ${i}?`,
      status,
      requester_id: user.id,
      organization_id: org.id,
      created_at: at,
      updated_at: at,
    });
    out.push({
      i,
      accountId: account.Id,
      contactId: contact.Id,
      orgId: org.id,
      userId: user.id,
      ticketId: ticket.id,
      email,
      stripeCustomerId: null,
      invoiceId: null,
    });
  }
  if (stripe) {
    const ids = stripe.seedCustomers(opts.count, (n) => {
      const c = out[n]!;
      return {
        email: c.email,
        name: `Customer ${c.i} Ltd`,
        metadata: { salesforce_account_id: c.accountId },
        subscriptions: [
          {
            items: [
              { price: { unit_amount: 4_900 + (c.i % 7) * 1_000, currency: 'usd', nickname: `Plan ${c.i % 7}` } },
            ],
          },
        ],
        // Most invoices are paid; every fifth customer still owes one.
        invoices: [{ subscription: true, status: c.i % 5 === 0 ? 'open' : 'paid' }],
      };
    });
    ids.forEach((id, n) => {
      const c = out[n]!;
      c.stripeCustomerId = id;
      c.invoiceId = stripe.state.customers.get(id)?.owned?.invoices?.[0]?.id ?? null;
    });
  }
  return out;
}

export interface DriftedCustomer {
  customer: SeededCustomer;
  /** The Stripe balance now (minor units; negative: a credit). */
  balance: number;
  /** The Zendesk ticket's status now. */
  ticketStatus: ZendeskTicketStatus;
}

/**
 * Changes `fraction` of the customers (every 1/fraction-th) in the sources the way missed webhooks
 * leave them: a new Stripe balance, and the Zendesk ticket moved on (two minutes ago). Silent: no
 * webhook reaches anyone, so only a resync can bring the portal back in line.
 */
export function driftCustomers(
  zd: ZendeskStandIn,
  stripe: StripeStandIn | null,
  customers: readonly SeededCustomer[],
  fraction: number,
  now = Date.now(),
): DriftedCustomer[] {
  if (fraction <= 0) return [];
  const step = Math.max(1, Math.round(1 / fraction));
  const at = now - 120_000;
  const out: DriftedCustomer[] = [];
  for (const customer of customers.filter((c) => c.i % step === 0)) {
    const balance = -1_000 - (customer.i % 50) * 10;
    if (stripe && customer.stripeCustomerId) stripe.updateCustomer(customer.stripeCustomerId, { balance });
    const ticket = zd.state.tickets.get(customer.ticketId)!;
    ticket.status = ticket.status === 'open' ? 'pending' : 'open';
    ticket.updated_at = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
    ticket.generated_timestamp = Math.floor(at / 1000);
    out.push({ customer, balance, ticketStatus: ticket.status });
  }
  return out;
}
