import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { createSalesforceConnection } from '../../../src/connectors/salesforce/client.js';
import {
  toMajorUnits,
  toSalesforceDate,
  toSalesforceDateTime,
} from '../../../src/connectors/salesforce/target-records.js';
import { createSalesforceTarget, recordSalesforceDeflection } from '../../../src/connectors/salesforce/target.js';
import { PermanentError, RateLimitedError, RetryableError } from '../../../src/sync/errors.js';
import type { PortalPush } from '../../../src/sync/push/portal-target.js';
import type { PortalProjection } from '../../../src/sync/events/project.js';
import type { InvoiceView } from '../../../src/sync/events/record.js';
import { useStrictNock } from '../../support/nock.js';
import { invoiceView, SALESFORCE_INVOICE, ticketView } from '../../support/views.js';
import { configFrom } from '../../support/config.js';

const INSTANCE = 'https://acme-logistics.my.salesforce.com';
const TOKEN = '00D8d000004PqRs!AQ0AQTestAccessToken';
const ACCOUNT_ID = '0018d00000QxZ7pAAF';
const API = '/services/data/v62.0';
const INVOICES_PATH = `${API}/composite/sobjects/Portal_Invoice__c/Stripe_Invoice_Id__c`;
const TICKETS_PATH = `${API}/composite/sobjects/Support_Ticket__c/Zendesk_Ticket_Id__c`;
/** Every write is ours: CDC tells its echo apart by this call option. */
const ourWrite = { authorization: `Bearer ${TOKEN}`, 'sforce-call-options': 'client=portal-sync' };
const json = { 'content-type': 'application/json;charset=UTF-8', 'sforce-limit-info': 'api-usage=10018/100000' };
const limitOnly = { 'sforce-limit-info': 'api-usage=10019/100000' };

const config = configFrom({
  PORTAL_TARGET: 'salesforce',
  SALESFORCE_INSTANCE_URL: INSTANCE,
  SALESFORCE_ACCESS_TOKEN: TOKEN,
});

const invoice = (id: string, over: Partial<InvoiceView> = {}): InvoiceView =>
  invoiceView(id, {
    ...SALESFORCE_INVOICE,
    hostedInvoiceUrl: `https://invoice.stripe.com/i/acct_1Nv0FGQ9RKHgCVdK/test_${id}`,
    invoicePdf: `https://pay.stripe.com/invoice/acct_1Nv0FGQ9RKHgCVdK/test_${id}/pdf`,
    ...over,
  });
const ticket = ticketView;

const OPEN = invoice('in_1QKp2xLkdIwHu7ixOpen0001');
const PAID = invoice('in_1PZc8nLkdIwHu7ixPaid0002', {
  status: 'paid',
  amountDue: 0,
  amountPaid: 49900,
  amountRemaining: 0,
  createdAt: '2026-09-30T09:00:00Z',
});
const PROJECTION: PortalProjection = {
  billing: {
    status: 'active',
    plan: 'Growth (annual)',
    currency: 'usd',
    mrr: 49900,
    balance: -2550,
    nextInvoiceDate: '2026-12-01T09:00:00Z',
    delinquent: false,
  },
  openInvoiceCount: 1,
  invoices: [OPEN, PAID],
  support: {
    openTicketCount: 1,
    tickets: [
      ticket('5301'),
      ticket('5288', { subject: 'SSO login loops', status: 'solved', priority: 'normal', category: null }),
    ],
  },
};
const links = (salesforceAccountId: string | null): PortalPush['links'] => ({
  stripeCustomerId: 'cus_Q8xLm2VbN4rT7a',
  salesforceAccountId,
  zendeskOrganizationId: '361023384911',
  contacts: [],
});
const push = (
  projection: PortalProjection,
  previous: PortalProjection | null,
  accountId: string | null = ACCOUNT_ID,
): PortalPush => ({
  customerId: 'cust_7f3a9c',
  links: links(accountId),
  profile: null,
  projection,
  previous,
});

const invoiceRecord = (i: InvoiceView, total: number, due: number, paid: number, dueDate: string) => ({
  Stripe_Invoice_Id__c: i.id,
  attributes: { type: 'Portal_Invoice__c' },
  Account__c: ACCOUNT_ID,
  Invoice_Number__c: i.number,
  Status__c: i.status,
  Total__c: total,
  Amount_Due__c: due,
  Amount_Paid__c: paid,
  Currency__c: 'USD',
  Due_Date__c: dueDate,
  Hosted_Url__c: i.hostedInvoiceUrl,
  Pdf_Url__c: i.invoicePdf,
});
const saved = (n: number, prefix = 'a0B8d00000XyZ') =>
  Array.from({ length: n }, (_, k) => ({
    id: `${prefix}${String(k).padStart(3, '0')}AAA`,
    success: true,
    errors: [],
    created: true,
  }));

useStrictNock();

describe('pushing the portal view to Salesforce', () => {
  it('first push: the Account fields in Salesforce formats, then one collection upsert each for invoices and tickets', async () => {
    nock(INSTANCE, { reqheaders: ourWrite })
      .patch(`${API}/sobjects/Account/${ACCOUNT_ID}`, {
        Billing_Status__c: 'active',
        Billing_Plan__c: 'Growth (annual)',
        Billing_MRR__c: 499,
        Billing_Balance__c: -25.5,
        Next_Invoice_Date__c: '2026-12-01',
        Billing_Delinquent__c: false,
        Open_Support_Tickets__c: 1,
      })
      .reply(204, '', limitOnly)
      .patch(INVOICES_PATH, {
        allOrNone: false,
        records: [invoiceRecord(OPEN, 499, 499, 0, '2026-11-30'), invoiceRecord(PAID, 499, 0, 499, '2026-11-30')],
      })
      .reply(200, saved(2), json)
      .patch(TICKETS_PATH, {
        allOrNone: false,
        records: [
          {
            Zendesk_Ticket_Id__c: '5301',
            attributes: { type: 'Support_Ticket__c' },
            Account__c: ACCOUNT_ID,
            Subject__c: 'Invoice PDF is missing our VAT number',
            Status__c: 'open',
            Priority__c: 'high',
            Category__c: 'billing',
            Zendesk_Updated_At__c: '2026-11-20T14:02:11.000Z',
          },
          {
            Zendesk_Ticket_Id__c: '5288',
            attributes: { type: 'Support_Ticket__c' },
            Account__c: ACCOUNT_ID,
            Subject__c: 'SSO login loops',
            Status__c: 'solved',
            Priority__c: 'normal',
            Category__c: null,
            Zendesk_Updated_At__c: '2026-11-20T14:02:11.000Z',
          },
        ],
      })
      .reply(200, saved(2, 'a0C8d00000TkT'), json);

    const result = await createSalesforceTarget(config).push(push(PROJECTION, null));

    expect(result).toEqual({
      calls: 3,
      wrote: ['account_fields', `invoice:${OPEN.id}`, `invoice:${PAID.id}`, 'ticket:5301', 'ticket:5288'],
    });
  });

  it('second push with one invoice paid: only that invoice is written', async () => {
    const paidNow = { ...OPEN, status: 'paid', amountDue: 0, amountPaid: 49900, amountRemaining: 0 };
    nock(INSTANCE, { reqheaders: ourWrite })
      .patch(INVOICES_PATH, { allOrNone: false, records: [invoiceRecord(paidNow, 499, 0, 499, '2026-11-30')] })
      .reply(200, [{ id: 'a0B8d00000XyZ000AAA', success: true, errors: [], created: false }], json);

    const result = await createSalesforceTarget(config).push(
      push({ ...PROJECTION, openInvoiceCount: 0, invoices: [paidNow, PAID] }, PROJECTION),
    );

    expect(result).toEqual({ calls: 1, wrote: [`invoice:${OPEN.id}`] });
  });

  it('only the Account fields that changed are sent', async () => {
    nock(INSTANCE, { reqheaders: ourWrite })
      .patch(`${API}/sobjects/Account/${ACCOUNT_ID}`, { Billing_Status__c: 'past_due', Billing_Delinquent__c: true })
      .reply(204, '', limitOnly);
    const pastDue = { ...PROJECTION, billing: { ...PROJECTION.billing!, status: 'past_due', delinquent: true } };

    await expect(createSalesforceTarget(config).push(push(pastDue, PROJECTION))).resolves.toEqual({
      calls: 1,
      wrote: ['account_fields'],
    });
  });

  it('nothing changed since the last accepted push: no call at all', async () => {
    // A refunded amount or a creation date is not shown in the portal: no write either.
    const invisible = {
      ...PROJECTION,
      invoices: [{ ...OPEN, amountRefunded: 100, createdAt: '2026-10-31T09:00:01Z' }, PAID],
    };
    await expect(createSalesforceTarget(config).push(push(invisible, PROJECTION))).resolves.toEqual({
      calls: 0,
      wrote: [],
    });
  });

  it('250 changed invoices go in two collection calls, 200 then 50, and all are reported', async () => {
    const many = Array.from({ length: 250 }, (_, k) => invoice(`in_1Bulk${String(k).padStart(4, '0')}LkdIwHu7ix`));
    const sent: string[][] = [];
    const take = (body: {
      allOrNone: boolean;
      records: Array<{ Stripe_Invoice_Id__c: string; Account__c: string; attributes: { type: string } }>;
    }) => {
      sent.push(body.records.map((r) => r.Stripe_Invoice_Id__c));
      return (
        body.allOrNone === false &&
        body.records.every((r) => r.Account__c === ACCOUNT_ID && r.attributes.type === 'Portal_Invoice__c')
      );
    };
    nock(INSTANCE, { reqheaders: ourWrite })
      .patch(INVOICES_PATH, take)
      .reply(200, saved(200), json)
      .patch(INVOICES_PATH, take)
      .reply(200, saved(50), json);

    const result = await createSalesforceTarget(config).push(
      push({ ...PROJECTION, invoices: many }, { ...PROJECTION, invoices: [] }),
    );

    expect(sent.map((ids) => ids.length)).toEqual([200, 50]);
    expect(sent.flat()).toEqual(many.map((i) => i.id));
    expect(result.calls).toBe(2);
    expect(result.wrote).toEqual(many.map((i) => `invoice:${i.id}`));
  });
});

describe('writing only where the customer lives', () => {
  it('a customer without a Salesforce Account is skipped, with no request', async () => {
    await expect(createSalesforceTarget(config).push(push(PROJECTION, null, null))).resolves.toEqual({
      calls: 0,
      wrote: [],
      skipped: 'no Salesforce Account for this customer yet',
    });
  });

  it('a link that is not an Account id (a Contact, a path) is refused before any request', async () => {
    const target = createSalesforceTarget(config);
    await expect(target.push(push(PROJECTION, null, '0038d00000RkT2vAAF'))).rejects.toBeInstanceOf(PermanentError);
    await expect(target.push(push(PROJECTION, null, '001/../../limits'))).rejects.toBeInstanceOf(PermanentError);
  });

  it('every write names the linked Account and no other', async () => {
    const other = '0018d00000OtHeRAAV';
    const seen: string[] = [];
    nock(INSTANCE, { reqheaders: ourWrite })
      .patch(`${API}/sobjects/Account/${other}`)
      .reply(204, '', limitOnly)
      .patch(
        INVOICES_PATH,
        (body: { records: Array<{ Account__c: string }> }) => (
          seen.push(...body.records.map((r) => r.Account__c)),
          true
        ),
      )
      .reply(200, saved(2), json)
      .patch(
        TICKETS_PATH,
        (body: { records: Array<{ Account__c: string }> }) => (
          seen.push(...body.records.map((r) => r.Account__c)),
          true
        ),
      )
      .reply(200, saved(2), json);

    await createSalesforceTarget(config).push(push(PROJECTION, null, other));

    expect(seen).toEqual([other, other, other, other]);
  });

  it('connects once and reuses the connection', async () => {
    const viaClientCredentials = configFrom({
      PORTAL_TARGET: 'salesforce',
      SALESFORCE_LOGIN_URL: INSTANCE,
      SALESFORCE_CLIENT_ID: '3MVG9TestConsumerKey',
      SALESFORCE_CLIENT_SECRET: 'TestConsumerSecret0123456789',
    });
    nock(INSTANCE).post('/services/oauth2/token').once().reply(
      200,
      {
        access_token: TOKEN,
        instance_url: INSTANCE,
        id: 'https://login.salesforce.com/id/00D8d000004PqRsEAK/0058d000003Hn1KAAS',
        token_type: 'Bearer',
        issued_at: '1733131533000',
        signature: 'c2ln',
      },
      json,
    );
    nock(INSTANCE, { reqheaders: ourWrite })
      .patch(`${API}/sobjects/Account/${ACCOUNT_ID}`, { Billing_Plan__c: 'Scale (annual)' })
      .reply(204, '', limitOnly)
      .patch(`${API}/sobjects/Account/${ACCOUNT_ID}`, { Billing_Plan__c: 'Enterprise' })
      .reply(204, '', limitOnly);
    const target = createSalesforceTarget(viaClientCredentials);
    const scale = { ...PROJECTION, billing: { ...PROJECTION.billing!, plan: 'Scale (annual)' } };

    await target.push(push(scale, PROJECTION));
    await target.push(push({ ...scale, billing: { ...scale.billing, plan: 'Enterprise' } }, scale));
  });
});

describe('what a failed push tells the push worker', () => {
  const onlyInvoices = (): PortalPush => push(PROJECTION, { ...PROJECTION, invoices: [] });

  it('REQUEST_LIMIT_EXCEEDED pauses the queue for a minute (Salesforce sends no Retry-After)', async () => {
    nock(INSTANCE)
      .patch(`${API}/sobjects/Account/${ACCOUNT_ID}`)
      .reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], json);

    const err = await createSalesforceTarget(config)
      .push(push(PROJECTION, null))
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err).toMatchObject({
      retryAfterMs: 60_000,
      message: 'Salesforce REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.',
    });
  });

  it("pauses while the org's API usage is over the share portal-sync may use, then looks again", async () => {
    let now = Date.parse('2026-11-23T10:00:00Z');
    const reported: Array<[number, number]> = [];
    const target = createSalesforceTarget(config, {
      now: () => now,
      onApiUsage: (used, limit) => void reported.push([used, limit]),
    });
    const nearlySpent = {
      'content-type': 'application/json;charset=UTF-8',
      'sforce-limit-info': 'api-usage=91500/100000',
    };
    nock(INSTANCE).patch(INVOICES_PATH).reply(200, saved(2), nearlySpent);
    await target.push(onlyInvoices()); // written: the usage is read from its answer
    expect(reported).toEqual([[91_500, 100_000]]);

    // 91.5% of the org's daily limit: no request at all (strict nock), the queue pauses for apiBudget.pauseMs.
    const err = await target.push(onlyInvoices()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err).toMatchObject({ retryAfterMs: 300_000 });
    expect((err as Error).message).toBe(
      'Salesforce org API usage 91500/100000 is at or over the 90% portal-sync may use (targets.salesforce.apiBudget.maxUsage)',
    );
    now += 120_000;
    expect(await target.push(onlyInvoices()).catch((e: unknown) => e)).toMatchObject({ retryAfterMs: 180_000 });

    // The pause is over: the next push goes out and reads the usage again, which has fallen.
    now += 180_000;
    nock(INSTANCE).patch(INVOICES_PATH).reply(200, saved(2), json);
    await expect(target.push(onlyInvoices())).resolves.toMatchObject({ calls: 1 });
    nock(INSTANCE).patch(INVOICES_PATH).reply(200, saved(2), json);
    await expect(target.push(onlyInvoices())).resolves.toMatchObject({ calls: 1 });
  });

  const once = { callRetry: { retries: 0, baseMs: 1, maxWaitMs: 5_000 } };

  it('a 503 is retryable once the call has no tries left', async () => {
    nock(INSTANCE)
      .patch(INVOICES_PATH)
      .reply(503, '<html><body>Service Unavailable</body></html>', { 'content-type': 'text/html' });

    await expect(createSalesforceTarget(config, once).push(onlyInvoices())).rejects.toBeInstanceOf(RetryableError);
  });

  it('a connection reset is retryable once the call has no tries left', async () => {
    nock(INSTANCE)
      .patch(INVOICES_PATH)
      .replyWithError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));

    await expect(createSalesforceTarget(config, once).push(onlyInvoices())).rejects.toBeInstanceOf(RetryableError);
  });

  it('a 503 and a reset are tried again within the push, which then goes through', async () => {
    nock(INSTANCE)
      .patch(INVOICES_PATH)
      .reply(503, '<html><body>Service Unavailable</body></html>', { 'content-type': 'text/html' })
      .patch(INVOICES_PATH)
      .replyWithError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
      .patch(INVOICES_PATH)
      .reply(200, saved(2), json);

    const result = await createSalesforceTarget(config, {
      callRetry: { retries: 3, baseMs: 1, maxWaitMs: 5_000 },
    }).push(onlyInvoices());

    expect(result.wrote).toHaveLength(2);
  });

  it('a 429 pauses for its Retry-After (2 s), not the minute of the daily limit', async () => {
    nock(INSTANCE)
      .patch(INVOICES_PATH)
      .reply(429, [{ message: 'Too many requests', errorCode: 'REQUEST_LIMIT' }], { ...json, 'retry-after': '2' });

    const err = await createSalesforceTarget(config, once)
      .push(onlyInvoices())
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(2_000);
  });

  it('INVALID_FIELD (400) is permanent and carries Salesforce message', async () => {
    nock(INSTANCE)
      .patch(`${API}/sobjects/Account/${ACCOUNT_ID}`)
      .reply(
        400,
        [
          {
            message: "No such column 'Billing_MRR__c' on sobject of type Account",
            errorCode: 'INVALID_FIELD',
            fields: [],
          },
        ],
        json,
      );

    const err = await createSalesforceTarget(config)
      .push(push(PROJECTION, null))
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe(
      "Salesforce INVALID_FIELD: No such column 'Billing_MRR__c' on sobject of type Account",
    );
  });

  it('a record refused inside a 200 collection answer fails the push after the others are written, naming it', async () => {
    nock(INSTANCE, { reqheaders: ourWrite })
      .patch(INVOICES_PATH)
      .reply(
        200,
        [
          {
            success: false,
            errors: [
              {
                statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
                message: 'Status: bad value for restricted picklist field: open',
                fields: ['Status__c'],
              },
            ],
          },
          { id: 'a0B8d00000XyZ001AAA', success: true, errors: [], created: false },
        ],
        json,
      )
      .patch(TICKETS_PATH)
      .reply(200, saved(2), json);
    const changed = push(PROJECTION, { ...PROJECTION, invoices: [], support: { openTicketCount: 1, tickets: [] } });

    const err = await createSalesforceTarget(config)
      .push(changed)
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toBe(
      `Salesforce refused 1 record(s): invoice:${OPEN.id} (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Status: bad value for restricted picklist field: open [Status__c]); ` +
        `wrote invoice:${PAID.id}, ticket:5301, ticket:5288`,
    );
  });

  it('a record only locked by another transaction (UNABLE_TO_LOCK_ROW) is retried', async () => {
    nock(INSTANCE)
      .patch(INVOICES_PATH)
      .reply(
        200,
        [
          { id: 'a0B8d00000XyZ000AAA', success: true, errors: [], created: false },
          {
            success: false,
            errors: [
              {
                statusCode: 'UNABLE_TO_LOCK_ROW',
                message: 'unable to obtain exclusive access to this record or 1 records: a0B8d00000XyZ001AAA',
                fields: [],
              },
            ],
          },
        ],
        json,
      );

    await expect(createSalesforceTarget(config).push(onlyInvoices())).rejects.toBeInstanceOf(RetryableError);
  });
});

describe('deflection events', () => {
  const event = {
    id: 'pev_01JD3X9W7K2M',
    accountId: ACCOUNT_ID,
    type: 'case_deflection',
    category: 'billing',
    occurredAt: '2026-11-23T10:15:00+01:00',
  };
  const DEFLECTIONS_PATH = `${API}/composite/sobjects/Portal_Deflection_Event__c/Event_Id__c`;

  it('are upserted by event id, so a replayed event writes the same record', async () => {
    nock(INSTANCE, { reqheaders: ourWrite })
      .patch(DEFLECTIONS_PATH, {
        allOrNone: false,
        records: [
          {
            Event_Id__c: event.id,
            attributes: { type: 'Portal_Deflection_Event__c' },
            Account__c: ACCOUNT_ID,
            Event_Type__c: 'case_deflection',
            Category__c: 'billing',
            Occurred_At__c: '2026-11-23T09:15:00.000Z',
          },
        ],
      })
      .reply(200, [{ id: 'a0D8d00000DfL001AAA', success: true, errors: [], created: true }], json);
    const conn = await createSalesforceConnection(config.salesforceAuth, config.salesforce.apiVersion);

    await expect(recordSalesforceDeflection(conn, config, event)).resolves.toEqual({
      calls: 1,
      wrote: [`deflection:${event.id}`],
    });
  });

  it('a refused event is a permanent error with Salesforce message', async () => {
    nock(INSTANCE)
      .patch(DEFLECTIONS_PATH)
      .reply(
        200,
        [
          {
            success: false,
            errors: [
              {
                statusCode: 'FIELD_INTEGRITY_EXCEPTION',
                message: 'Account: id value of incorrect type',
                fields: ['Account__c'],
              },
            ],
          },
        ],
        json,
      );
    const conn = await createSalesforceConnection(config.salesforceAuth, config.salesforce.apiVersion);

    await expect(recordSalesforceDeflection(conn, config, event)).rejects.toThrow(PermanentError);
  });
});

describe('value formats', () => {
  it('amounts in major units by the currency exponent; dates in UTC', () => {
    expect(toMajorUnits(1999, 'usd')).toBe(19.99);
    expect(toMajorUnits(500, 'JPY')).toBe(500);
    expect(toMajorUnits(12340, 'kwd')).toBe(12.34);
    expect(toMajorUnits(-2550, null)).toBe(-25.5);
    expect(toSalesforceDate('2026-11-30T23:30:00-02:00')).toBe('2026-12-01');
    expect(toSalesforceDateTime('2026-11-23T10:15:00+01:00')).toBe('2026-11-23T09:15:00.000Z');
  });
});
