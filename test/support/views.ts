/**
 * What the portal shows, as the targets' tests push it: an invoice and a ticket view with realistic values
 * (Stripe's invoice URLs, a billing ticket), any attribute overridden, a Team customer's projection with its
 * open invoices, and a push of it that records its calls as the push worker does. Each test file names what
 * it relies on.
 */
import type { PortalProjection } from '../../src/sync/events/project.js';
import type { InvoiceView, TicketView } from '../../src/sync/events/record.js';
import type { PortalPush } from '../../src/sync/push/portal-target.js';

export const invoiceView = (id: string, over: Partial<InvoiceView> = {}): InvoiceView => ({
  id,
  number: `ACME-${id.slice(-4)}`,
  status: 'open',
  currency: 'usd',
  total: 14_700,
  amountDue: 14_700,
  amountPaid: 0,
  amountRemaining: 14_700,
  amountRefunded: 0,
  dueDate: '2026-04-15T00:00:00.000Z',
  createdAt: '2026-03-15T09:00:00.000Z',
  hostedInvoiceUrl: `https://invoice.stripe.com/i/acct_1TestAcme/test_${id}`,
  invoicePdf: `https://pay.stripe.com/invoice/acct_1TestAcme/test_${id}/pdf`,
  ...over,
});

/** The amounts and dates the Salesforce target's tests push (a 499.00 invoice of 31 October). */
export const SALESFORCE_INVOICE: Partial<InvoiceView> = {
  total: 49900,
  amountDue: 49900,
  amountRemaining: 49900,
  dueDate: '2026-11-30T09:00:00Z',
  createdAt: '2026-10-31T09:00:00Z',
};

export const ticketView = (id: string, over: Partial<TicketView> = {}): TicketView => ({
  id,
  subject: 'Invoice PDF is missing our VAT number',
  status: 'open',
  priority: 'high',
  category: 'billing',
  updatedAt: '2026-11-20T14:02:11Z',
  ...over,
});

/** An active Team subscription (147.00 a month) whose open invoices are `invoices`: what a push of a paying customer carries. */
export const teamProjection = (invoices: InvoiceView[], status = 'active'): PortalProjection => ({
  billing: {
    status,
    plan: 'Team',
    currency: 'usd',
    mrr: 14_700,
    balance: 0,
    nextInvoiceDate: '2026-04-01T00:00:00.000Z',
    delinquent: false,
  },
  openInvoiceCount: invoices.length,
  invoices,
  support: null,
});

/** A first push of `projection` to these links that records the calls it made in `done`, as the push worker does. */
export const recordingPush = (
  customerId: string,
  links: Partial<PortalPush['links']>,
  projection: PortalProjection,
  done: Set<string>,
): PortalPush => ({
  customerId,
  links: { stripeCustomerId: null, salesforceAccountId: null, zendeskOrganizationId: null, contacts: [], ...links },
  profile: null,
  projection,
  previous: null,
  done,
  onDone: (...keys) => keys.forEach((k) => done.add(k)),
});
