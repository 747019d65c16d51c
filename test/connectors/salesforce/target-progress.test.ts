/**
 * The Salesforce target keeps a push's progress (PortalPush.done / onDone), at the wire: after a push
 * that updated the Account and wrote all but one record (locked by another transaction), the next try
 * sends only that record — no Account update, no collection of records already written — and reports
 * the rest as kept; an Account whose fields changed since is updated again.
 */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { createSalesforceTarget } from '../../../src/connectors/salesforce/target.js';
import { RetryableError } from '../../../src/sync/errors.js';
import type { PortalProjection } from '../../../src/sync/events/project.js';
import type { InvoiceView, TicketView } from '../../../src/sync/events/record.js';
import type { PortalPush } from '../../../src/sync/push/portal-target.js';
import { useStrictNock } from '../../support/nock.js';
import { invoiceView, SALESFORCE_INVOICE, ticketView } from '../../support/views.js';
import { configFrom } from '../../support/config.js';

const INSTANCE = 'https://acme-logistics.my.salesforce.com';
const TOKEN = 'FAKE_salesforce_token_not_real';
const ACCOUNT_ID = '0018d00000QxZ7pAAF';
const API = '/services/data/v62.0';
const ACCOUNT_PATH = `${API}/sobjects/Account/${ACCOUNT_ID}`;
const INVOICES_PATH = `${API}/composite/sobjects/Portal_Invoice__c/Stripe_Invoice_Id__c`;
const TICKETS_PATH = `${API}/composite/sobjects/Support_Ticket__c/Zendesk_Ticket_Id__c`;
const json = { 'content-type': 'application/json;charset=UTF-8' };

const config = configFrom({
  PORTAL_TARGET: 'salesforce',
  SALESFORCE_INSTANCE_URL: INSTANCE,
  SALESFORCE_ACCESS_TOKEN: TOKEN,
});

const invoice = (id: string): InvoiceView => invoiceView(id, SALESFORCE_INVOICE);
const ticket = (id: string): TicketView => ticketView(id);
const FIRST = invoice('in_1TestProgress0001');
const LOCKED = invoice('in_1TestProgress0002');
const projection = (status: string): PortalProjection => ({
  billing: {
    status,
    plan: 'Growth (annual)',
    currency: 'usd',
    mrr: 49900,
    balance: 0,
    nextInvoiceDate: '2026-12-01T09:00:00Z',
    delinquent: false,
  },
  openInvoiceCount: 2,
  invoices: [FIRST, LOCKED],
  support: { openTicketCount: 1, tickets: [ticket('5301')] },
});
/** A push that records the calls it made in `done`, as the push worker does. */
const pushOf = (p: PortalProjection, done: Set<string>): PortalPush => ({
  customerId: 'cust_progress',
  links: { stripeCustomerId: null, salesforceAccountId: ACCOUNT_ID, zendeskOrganizationId: null, contacts: [] },
  profile: null,
  projection: p,
  previous: null,
  done,
  onDone: (...keys) => keys.forEach((k) => done.add(k)),
});
const ok = { id: 'a0B8d00000XyZ000AAA', success: true, errors: [], created: true };
const locked = {
  success: false,
  errors: [
    { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record', fields: [] },
  ],
};
const ids = (body: { records: Array<Record<string, unknown>> }) => body.records.map((r) => r['Stripe_Invoice_Id__c']);

/** The first try: the Account and the ticket written, the second invoice locked. */
async function firstTry(done: Set<string>): Promise<void> {
  nock(INSTANCE)
    .patch(ACCOUNT_PATH)
    .reply(204, '')
    .patch(INVOICES_PATH)
    .reply(200, [ok, locked], json)
    .patch(TICKETS_PATH)
    .reply(200, [ok], json);
  await expect(createSalesforceTarget(config).push(pushOf(projection('active'), done))).rejects.toBeInstanceOf(
    RetryableError,
  );
}

useStrictNock();

describe('the Salesforce target keeps the progress of a push', () => {
  it('sends only the record still missing on the next try, and reports the rest as kept', async () => {
    const done = new Set<string>();
    await firstTry(done);
    const sent: unknown[][] = [];
    nock(INSTANCE)
      .patch(INVOICES_PATH, (body: { records: Array<Record<string, unknown>> }) => sent.push(ids(body)) > 0)
      .reply(200, [ok], json);

    const result = await createSalesforceTarget(config).push(pushOf(projection('active'), done));

    expect(sent).toEqual([[LOCKED.id]]);
    expect(result).toEqual({
      calls: 1,
      wrote: [`invoice:${LOCKED.id}`],
      kept: ['account_fields', `invoice:${FIRST.id}`, 'ticket:5301'],
    });
  });

  it('updates the Account again when its fields changed between two tries', async () => {
    const done = new Set<string>();
    await firstTry(done);
    nock(INSTANCE)
      .patch(ACCOUNT_PATH, (body: Record<string, unknown>) => body['Billing_Status__c'] === 'past_due')
      .reply(204, '')
      .patch(INVOICES_PATH, (body: { records: Array<Record<string, unknown>> }) => ids(body).join() === LOCKED.id)
      .reply(200, [ok], json);

    const result = await createSalesforceTarget(config).push(pushOf(projection('past_due'), done));

    expect(result.wrote).toEqual(['account_fields', `invoice:${LOCKED.id}`]);
    expect(result.kept).toEqual([`invoice:${FIRST.id}`, 'ticket:5301']);
  });
});
