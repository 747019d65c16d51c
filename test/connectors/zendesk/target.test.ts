import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createZendeskClient } from '../../../src/connectors/zendesk/client.js';
import {
  NO_ZENDESK_OWNER,
  createZendeskTarget,
  recordZendeskDeflection,
} from '../../../src/connectors/zendesk/target.js';
import { toMajorUnits, toZendeskDate } from '../../../src/connectors/zendesk/target-format.js';
import { PermanentError, RateLimitedError, RetryableError } from '../../../src/sync/errors.js';
import type { PortalPush } from '../../../src/sync/push/portal-target.js';
import type { PortalProjection } from '../../../src/sync/events/project.js';
import type { InvoiceView } from '../../../src/sync/events/record.js';
import { useStrictNock } from '../../support/nock.js';
import { invoiceView } from '../../support/views.js';
import { configFrom } from '../../support/config.js';

const ORIGIN = 'http://127.0.0.1:4013';
const EMAIL = 'sync-agent@acme.example';
const TOKEN = 'zdTestApiToken3333333333333333333333333';
const auth = { authorization: `Basic ${Buffer.from(`${EMAIL}/token:${TOKEN}`).toString('base64')}` };
const json = {
  'content-type': 'application/json; charset=utf-8',
  'x-rate-limit': '700',
  'x-rate-limit-remaining': '698',
};

const config = configFrom({
  ZENDESK_BASE_URL: `${ORIGIN}/api/v2`,
  ZENDESK_EMAIL: EMAIL,
  ZENDESK_API_TOKEN: TOKEN,
  PORTAL_TARGET: 'zendesk',
});
const target = createZendeskTarget(config, { jobPolling: { intervalMs: 1, maxPolls: 3 } });

const ORG = '7000000000101';
const USER = '8000000000201';
const OTHER_USER = '8000000000999';

const invoice = invoiceView;
const INVOICE = invoice('in_1TestAcme0001');

const PROJECTION: PortalProjection = {
  billing: {
    status: 'active',
    plan: 'Team',
    currency: 'usd',
    mrr: 14_700,
    balance: -2_550,
    nextInvoiceDate: '2026-04-01T00:00:00.000Z',
    delinquent: false,
  },
  openInvoiceCount: 1,
  invoices: [INVOICE],
  support: null,
};
/** The same customer with its one invoice paid: status, amounts and open count change. */
const PAID: PortalProjection = {
  ...PROJECTION,
  openInvoiceCount: 0,
  invoices: [{ ...INVOICE, status: 'paid', amountDue: 14_700, amountPaid: 14_700, amountRemaining: 0 }],
};

const links = (over: Partial<PortalPush['links']> = {}): PortalPush['links'] => ({
  stripeCustomerId: 'cus_TestAcme01',
  salesforceAccountId: '001TestAcme0001IEA',
  zendeskOrganizationId: ORG,
  contacts: [
    {
      email: 'dana.buyer@acme.example',
      name: 'Dana Buyer',
      salesforceContactId: '003TestDana0001IEA',
      zendeskUserId: USER,
    },
  ],
  ...over,
});
const push = (projection: PortalProjection, previous: PortalProjection | null, l = links()): PortalPush => ({
  customerId: 'cust_01TESTACME',
  links: l,
  profile: null,
  projection,
  previous,
});

const FIELDS = {
  billing_status: 'active',
  billing_plan: 'Team',
  billing_mrr: 147,
  billing_balance: -25.5,
  billing_next_invoice_date: '2026-04-01',
  billing_delinquent: false,
  portal_open_invoices: 1,
};
const organization = (fields: Record<string, unknown>) => ({
  organization: {
    url: `${ORIGIN}/api/v2/organizations/${ORG}.json`,
    id: Number(ORG),
    name: 'Acme Inc',
    shared_tickets: false,
    shared_comments: false,
    external_id: '001TestAcme0001IEA',
    created_at: '2026-01-05T08:00:00Z',
    updated_at: '2026-03-15T09:00:02Z',
    domain_names: ['acme.example'],
    details: '',
    notes: '',
    group_id: null,
    tags: ['enterprise'],
    organization_fields: fields,
  },
});
const recordFields = (i: InvoiceView, lookup: Record<string, string>) => ({
  invoice_number: i.number,
  invoice_status: i.status,
  total: i.total / 100,
  amount_due: i.amountDue / 100,
  amount_paid: i.amountPaid / 100,
  currency: 'USD',
  due_date: i.dueDate?.slice(0, 10) ?? null,
  hosted_invoice_url: i.hostedInvoiceUrl,
  invoice_pdf_url: i.invoicePdf,
  ...lookup,
});
const storedRecord = (body: { custom_object_record: Record<string, unknown> }) => ({
  custom_object_record: {
    url: `${ORIGIN}/api/v2/custom_objects/portal_invoice/records/01JTESTRECORD0000000000001.json`,
    id: '01JTESTRECORD0000000000001',
    custom_object_key: 'portal_invoice',
    ...body.custom_object_record,
    created_by_user_id: '8000000000001',
    updated_by_user_id: '8000000000001',
    created_at: '2026-03-15T09:00:03Z',
    updated_at: '2026-03-15T09:00:03Z',
  },
});

/** Every request that reached the fake but matched no interceptor: a write to somewhere we did not expect. */
let unexpected: string[] = [];
/** nock hands listeners the fetch Request. */
const describeRequest = (req: { method: string; url: string }) =>
  `${req.method} ${new URL(req.url).pathname}${new URL(req.url).search}`;
const onNoMatch = (req: { method: string; url: string }) => void unexpected.push(describeRequest(req));
beforeEach(() => {
  unexpected = [];
  nock.emitter.on('no match', onNoMatch);
});
afterEach(() => {
  nock.emitter.removeListener('no match', onNoMatch);
  expect(unexpected).toEqual([]);
});
useStrictNock();

describe("billing fields on the customer's Zendesk organization", () => {
  it("a first push writes every configured field, values in Zendesk's forms, and the invoice record", async () => {
    const upsert = {
      custom_object_record: {
        name: INVOICE.number,
        external_id: INVOICE.id,
        custom_object_fields: recordFields(INVOICE, { organization_id: ORG }),
      },
    };
    nock(ORIGIN, { reqheaders: auth })
      .put(`/api/v2/organizations/${ORG}.json`, { organization: { organization_fields: FIELDS } })
      .reply(200, organization(FIELDS), json)
      .patch('/api/v2/custom_objects/portal_invoice/records.json', upsert)
      .query({ external_id: INVOICE.id })
      .reply(201, storedRecord(upsert), json);

    const result = await target.push(push(PROJECTION, null));

    expect(result).toEqual({ calls: 2, wrote: ['organization_fields', `invoice:${INVOICE.id}`] });
  });

  it('a later push sends only the keys whose value changed', async () => {
    nock(ORIGIN, { reqheaders: auth })
      .put(`/api/v2/organizations/${ORG}.json`, { organization: { organization_fields: { billing_plan: 'Business' } } })
      .reply(200, organization({ ...FIELDS, billing_plan: 'Business' }), json);

    const result = await target.push(
      push({ ...PROJECTION, billing: { ...PROJECTION.billing!, plan: 'Business' } }, PROJECTION),
    );

    expect(result).toEqual({ calls: 1, wrote: ['organization_fields'] });
  });

  it('nothing that Zendesk shows changed: no call at all', async () => {
    // amountRemaining and the ticket list are not written to Zendesk, so a change there writes nothing.
    const changedElsewhere: PortalProjection = {
      ...PROJECTION,
      invoices: [{ ...INVOICE, amountRemaining: 100 }],
      support: { openTicketCount: 1, tickets: [] },
    };
    await expect(target.push(push(changedElsewhere, PROJECTION))).resolves.toEqual({ calls: 0, wrote: [] });
  });

  it('billing data that disappears is cleared, but a customer that never had any gets no empty fields', async () => {
    const gone: PortalProjection = { billing: null, openInvoiceCount: 0, invoices: [], support: null };
    const cleared = Object.fromEntries(Object.keys(FIELDS).map((k) => [k, null]));
    nock(ORIGIN, { reqheaders: auth })
      .put(`/api/v2/organizations/${ORG}.json`, { organization: { organization_fields: cleared } })
      .reply(200, organization(cleared), json);

    await expect(target.push(push(gone, PROJECTION))).resolves.toEqual({ calls: 1, wrote: ['organization_fields'] });
    await expect(target.push(push(gone, null))).resolves.toEqual({ calls: 0, wrote: [] });
  });
});

describe('where the push writes', () => {
  it("without an organization, the fields go to the customer's Zendesk user and the invoice points at that user", async () => {
    const userLinks = links({
      zendeskOrganizationId: null,
      contacts: [
        {
          email: 'ap@acme.example',
          name: 'Accounts Payable',
          salesforceContactId: '003TestAp000001IEA',
          zendeskUserId: null,
        },
        { email: 'dana.buyer@acme.example', name: 'Dana Buyer', salesforceContactId: null, zendeskUserId: USER },
      ],
    });
    const upsert = {
      custom_object_record: {
        name: INVOICE.number,
        external_id: INVOICE.id,
        custom_object_fields: recordFields(INVOICE, { user_id: USER }),
      },
    };
    nock(ORIGIN, { reqheaders: auth })
      .put(`/api/v2/users/${USER}.json`, { user: { user_fields: FIELDS } })
      .reply(
        200,
        {
          user: {
            id: Number(USER),
            name: 'Dana Buyer',
            email: 'dana.buyer@acme.example',
            role: 'end-user',
            user_fields: FIELDS,
          },
        },
        json,
      )
      .patch('/api/v2/custom_objects/portal_invoice/records.json', upsert)
      .query({ external_id: INVOICE.id })
      .reply(200, storedRecord(upsert), json);

    await expect(target.push(push(PROJECTION, null, userLinks))).resolves.toEqual({
      calls: 2,
      wrote: ['user_fields', `invoice:${INVOICE.id}`],
    });
  });

  it('a customer with neither an organization nor a user in Zendesk is skipped, with no request', async () => {
    const none = links({
      zendeskOrganizationId: null,
      contacts: [
        { email: 'ap@acme.example', name: null, salesforceContactId: '003TestAp000001IEA', zendeskUserId: null },
      ],
    });

    await expect(target.push(push(PROJECTION, null, none))).resolves.toEqual({
      calls: 0,
      wrote: [],
      skipped: NO_ZENDESK_OWNER,
    });
  });

  it('writes only to the linked organization: no other user, organization or lookup id is ever touched', async () => {
    // Two users are linked too; with an organization, neither is written, and the lookup names the organization.
    const l = links({
      contacts: [
        ...links().contacts,
        { email: 'ops@acme.example', name: null, salesforceContactId: null, zendeskUserId: OTHER_USER },
      ],
    });
    const seen: string[] = [];
    const scope = nock(ORIGIN, { reqheaders: auth })
      .put(`/api/v2/organizations/${ORG}.json`, { organization: { organization_fields: FIELDS } })
      .reply(200, organization(FIELDS), json)
      .patch(
        '/api/v2/custom_objects/portal_invoice/records.json',
        (body: { custom_object_record: { custom_object_fields: Record<string, unknown> } }) => {
          const f = body.custom_object_record.custom_object_fields;
          return f['organization_id'] === ORG && !('user_id' in f);
        },
      )
      .query({ external_id: INVOICE.id })
      .reply(201, { custom_object_record: { id: '01JTESTRECORD0000000000001' } }, json);
    scope.on('request', (req: { method: string; url: string }) => void seen.push(describeRequest(req)));

    await target.push(push(PROJECTION, null, l));

    expect(seen).toEqual([
      `PUT /api/v2/organizations/${ORG}.json`,
      `PATCH /api/v2/custom_objects/portal_invoice/records.json?external_id=${INVOICE.id}`,
    ]);
  });

  it('a malformed Zendesk id in the links is refused before any request', async () => {
    const err = await target
      .push(push(PROJECTION, null, links({ zendeskOrganizationId: '7000000000101/../../users/1' })))
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PermanentError);
  });
});

describe('invoices as custom object records', () => {
  it('a changed invoice is upserted by its Stripe id, with hosted and PDF URLs and the organization lookup', async () => {
    const paid = PAID.invoices[0]!;
    const upsert = {
      custom_object_record: {
        name: paid.number,
        external_id: paid.id,
        custom_object_fields: recordFields(paid, { organization_id: ORG }),
      },
    };
    expect(upsert.custom_object_record.custom_object_fields).toMatchObject({
      invoice_status: 'paid',
      amount_paid: 147,
      hosted_invoice_url: paid.hostedInvoiceUrl,
      invoice_pdf_url: paid.invoicePdf,
      due_date: '2026-04-15',
    });
    nock(ORIGIN, { reqheaders: auth })
      .put(`/api/v2/organizations/${ORG}.json`, { organization: { organization_fields: { portal_open_invoices: 0 } } })
      .reply(200, organization({ ...FIELDS, portal_open_invoices: 0 }), json)
      .patch('/api/v2/custom_objects/portal_invoice/records.json', upsert)
      .query({ external_id: paid.id })
      .reply(200, storedRecord(upsert), json);

    await expect(target.push(push(PAID, PROJECTION))).resolves.toEqual({
      calls: 2,
      wrote: ['organization_fields', `invoice:${paid.id}`],
    });
  });

  it('an invoice without a number is named by its id', async () => {
    const draft = invoice('in_1TestAcmeDraft', {
      number: null,
      status: 'draft',
      dueDate: null,
      hostedInvoiceUrl: null,
      invoicePdf: null,
    });
    nock(ORIGIN)
      .patch('/api/v2/custom_objects/portal_invoice/records.json', {
        custom_object_record: {
          name: draft.id,
          external_id: draft.id,
          custom_object_fields: recordFields(draft, { organization_id: ORG }),
        },
      })
      .query({ external_id: draft.id })
      .reply(201, { custom_object_record: { id: '01JTESTRECORD0000000000002' } }, json);

    await expect(target.push(push({ ...PROJECTION, invoices: [draft, INVOICE] }, PROJECTION))).resolves.toEqual({
      calls: 1,
      wrote: [`invoice:${draft.id}`],
    });
  });

  const FIVE = ['in_1TestBulk0001', 'in_1TestBulk0002', 'in_1TestBulk0003', 'in_1TestBulk0004', 'in_1TestBulk0005'].map(
    (id) => invoice(id),
  );
  const bulk: PortalProjection = { ...PROJECTION, openInvoiceCount: 5, invoices: FIVE };
  const JOB = 'V3-2c1b9f0e7a6d4e3fb0a1c2d3e4f5a6b7';
  const jobStatus = (status: string, results: unknown = null, message: string | null = null) => ({
    job_status: {
      id: JOB,
      job_type: 'Custom Object Record Bulk Job',
      url: `${ORIGIN}/api/v2/job_statuses/${JOB}.json`,
      total: 5,
      progress: results ? 5 : 0,
      status,
      message,
      results,
    },
  });
  const items = FIVE.map((i) => ({
    name: i.number,
    external_id: i.id,
    custom_object_fields: recordFields(i, { organization_id: ORG }),
  }));

  it('five changed invoices go as one bulk job, polled until it completes', async () => {
    const results = FIVE.map((i, index) => ({
      id: `01JTESTBULK00000000000000${index}`,
      index,
      success: true,
      external_id: i.id,
    }));
    nock(ORIGIN, { reqheaders: auth })
      .put(`/api/v2/organizations/${ORG}.json`, { organization: { organization_fields: { portal_open_invoices: 5 } } })
      .reply(200, organization({ ...FIELDS, portal_open_invoices: 5 }), json)
      .post('/api/v2/custom_objects/portal_invoice/jobs.json', {
        job: { action: 'create_or_update_by_external_id', items },
      })
      .reply(200, jobStatus('queued'), json)
      .get(`/api/v2/job_statuses/${JOB}.json`)
      .reply(200, jobStatus('working'), json)
      .get(`/api/v2/job_statuses/${JOB}.json`)
      .reply(200, jobStatus('completed', results, 'Completed at 2026-03-15 09:00:05 +0000'), json);

    const result = await target.push(push(bulk, PROJECTION));

    expect(result).toEqual({ calls: 4, wrote: ['organization_fields', ...FIVE.map((i) => `invoice:${i.id}`)] });
  });

  it("items the job refused dead-letter the push with Zendesk's message for each", async () => {
    const results = FIVE.map((i, index) =>
      index === 3
        ? { index, success: false, error: 'RecordInvalid', details: 'Due date: is not a valid date' }
        : { id: `01JTESTBULK00000000000000${index}`, index, success: true },
    );
    nock(ORIGIN)
      .put(`/api/v2/organizations/${ORG}.json`)
      .reply(200, organization(FIELDS), json)
      .post('/api/v2/custom_objects/portal_invoice/jobs.json')
      .reply(200, jobStatus('queued'), json)
      .get(`/api/v2/job_statuses/${JOB}.json`)
      .reply(200, jobStatus('completed', results), json);

    const err = await target.push(push(bulk, PROJECTION)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toContain('in_1TestBulk0004: RecordInvalid: Due date: is not a valid date');
  });

  it('a job still running after the last poll is retried later, not waited on forever', async () => {
    nock(ORIGIN)
      .put(`/api/v2/organizations/${ORG}.json`)
      .reply(200, organization(FIELDS), json)
      .post('/api/v2/custom_objects/portal_invoice/jobs.json')
      .reply(200, jobStatus('queued'), json)
      .get(`/api/v2/job_statuses/${JOB}.json`)
      .times(3)
      .reply(200, jobStatus('working'), json);

    await expect(target.push(push(bulk, PROJECTION))).rejects.toBeInstanceOf(RetryableError);
  });
});

describe('failures become the error the push worker acts on', () => {
  const tooMany = 'Number of allowed API requests per minute exceeded';

  it('429 with Retry-After: 7 is RateLimitedError(7000), never a success (node-zendesk resolves it)', async () => {
    nock(ORIGIN).put(`/api/v2/organizations/${ORG}.json`).reply(429, tooMany, {
      'content-type': 'text/plain',
      'retry-after': '7',
      'x-rate-limit': '700',
      'x-rate-limit-remaining': '0',
    });

    const err = await target.push(push(PROJECTION, null)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(7_000);
  });

  it('429 on a custom object upsert, and 429 without Retry-After (60 s by default)', async () => {
    nock(ORIGIN)
      .patch('/api/v2/custom_objects/portal_invoice/records.json')
      .query(true)
      .reply(
        429,
        { errors: [{ code: 'TooManyRequests', title: 'Too Many Requests', detail: tooMany }] },
        { ...json, 'retry-after': '7' },
      )
      .put(`/api/v2/organizations/${ORG}.json`)
      .reply(429, tooMany, { 'content-type': 'text/plain' });

    const onlyInvoice = await target.push(push(PAID, { ...PAID, invoices: [] })).catch((e: unknown) => e);
    const noHeader = await target.push(push(PROJECTION, null)).catch((e: unknown) => e);

    expect(onlyInvoice).toMatchObject({ name: 'RateLimitedError', retryAfterMs: 7_000 });
    expect(noHeader).toMatchObject({ name: 'RateLimitedError', retryAfterMs: 60_000 });
  });

  it('500 and a dropped connection are retryable once the call has no tries left', async () => {
    const once = createZendeskTarget(config, {
      jobPolling: { intervalMs: 1, maxPolls: 3 },
      callRetry: { retries: 0, baseMs: 1, maxWaitMs: 5_000 },
    });
    nock(ORIGIN)
      .put(`/api/v2/organizations/${ORG}.json`)
      .reply(500, { error: 'InternalServerError', description: 'Something went wrong' }, json)
      .put(`/api/v2/organizations/${ORG}.json`)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));

    await expect(once.push(push(PROJECTION, null))).rejects.toBeInstanceOf(RetryableError);
    await expect(once.push(push(PROJECTION, null))).rejects.toBeInstanceOf(RetryableError);
  });

  it('a call failing with 503, a reset and a 429 of Retry-After: 1 s is tried again within the push, and the calls before it are not repeated', async () => {
    const patient = createZendeskTarget(config, {
      jobPolling: { intervalMs: 1, maxPolls: 3 },
      callRetry: { retries: 3, baseMs: 1, maxWaitMs: 5_000 },
    });
    const records = '/api/v2/custom_objects/portal_invoice/records.json';
    const [OPEN, PAID] = [INVOICE, invoice('in_1TestAcme0002')];
    const two: PortalProjection = { ...PROJECTION, invoices: [OPEN, PAID] };
    const scope = nock(ORIGIN)
      .patch(records)
      .query({ external_id: OPEN.id })
      .reply(200, { custom_object_record: { id: 'r1' } }, json)
      .patch(records)
      .query({ external_id: PAID.id })
      .reply(503, { error: 'ServiceUnavailable', description: 'Service Unavailable' }, json)
      .patch(records)
      .query({ external_id: PAID.id })
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
      .patch(records)
      .query({ external_id: PAID.id })
      .reply(429, tooMany, { 'content-type': 'text/plain', 'retry-after': '0' })
      .patch(records)
      .query({ external_id: PAID.id })
      .reply(200, { custom_object_record: { id: 'r2' } }, json);

    const result = await patient.push(push(two, { ...two, invoices: [] }));

    expect(result.wrote).toEqual([`invoice:${OPEN.id}`, `invoice:${PAID.id}`]);
    // Every answer was used once, in order: the first invoice was not written again (strict nock refuses a sixth call).
    expect(scope.isDone()).toBe(true);
    expect(result.calls).toBe(5);
  });

  it("422 RecordInvalid is permanent and carries Zendesk's own description and details", async () => {
    const body = {
      error: 'RecordInvalid',
      description: 'Record validation errors',
      details: {
        billing_next_invoice_date: [
          { description: 'Billing next invoice date: is not a valid date', error: 'InvalidValue' },
        ],
      },
    };
    nock(ORIGIN).put(`/api/v2/organizations/${ORG}.json`).reply(422, body, json);

    const err = await target.push(push(PROJECTION, null)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ status: 422 });
    expect((err as Error).message).toBe(
      'Zendesk 422: RecordInvalid: Record validation errors (billing_next_invoice_date: Billing next invoice date: is not a valid date)',
    );
  });

  it('a 4xx from the custom objects API keeps its code and detail', async () => {
    nock(ORIGIN)
      .patch('/api/v2/custom_objects/portal_invoice/records.json')
      .query({ external_id: INVOICE.id })
      .reply(
        404,
        { errors: [{ code: 'NotFound', status: '404', title: 'Not Found', detail: 'Custom object not found' }] },
        json,
      );

    const err = await target.push(push(PAID, { ...PAID, invoices: [] })).catch((e: unknown) => e);

    expect(err).toMatchObject({
      name: 'PermanentError',
      status: 404,
      message: 'Zendesk 404: NotFound: Not Found: Custom object not found',
    });
  });
});

describe('value formats', () => {
  it("money in major units by the currency's minor unit; dates as the UTC day", () => {
    expect(toMajorUnits(14_700, 'usd')).toBe(147);
    expect(toMajorUnits(14_999, 'eur')).toBe(149.99);
    expect(toMajorUnits(5_000, 'jpy')).toBe(5_000);
    expect(toMajorUnits(5_124, 'KWD')).toBe(5.124);
    expect(toMajorUnits(-2_550, null)).toBe(-25.5);
    expect(toZendeskDate('2026-04-01T23:30:00-02:00')).toBe('2026-04-02');
    expect(toZendeskDate(null)).toBeNull();
  });
});

describe("deflection events on the customer's profile", () => {
  it("posts one user_profiles event with our source and the customer's email, and reads Zendesk's 202", async () => {
    const client = createZendeskClient(config.zendesk);
    nock(ORIGIN, { reqheaders: auth })
      .post('/api/v2/user_profiles/events.json', {
        profile: {
          source: 'portal_sync',
          type: 'customer',
          identifiers: [{ type: 'email', value: 'dana.buyer@acme.example' }],
        },
        event: {
          source: 'portal_sync',
          type: 'invoice_downloaded',
          description: 'Downloaded an invoice PDF from the portal instead of asking support',
          properties: { invoiceId: INVOICE.id },
          created_at: '2026-03-15T09:05:00Z',
        },
      })
      .reply(202, { status: 'received' }, json);

    const result = await recordZendeskDeflection(client, config, {
      email: ' Dana.Buyer@Acme.example ',
      type: 'invoice_downloaded',
      description: 'Downloaded an invoice PDF from the portal instead of asking support',
      properties: { invoiceId: INVOICE.id },
      occurredAt: '2026-03-15T09:05:00Z',
    });

    expect(result).toEqual({ status: 'received' });
  });

  it('a rate-limited event is a RateLimitedError too', async () => {
    nock(ORIGIN)
      .post('/api/v2/user_profiles/events.json')
      .reply(
        429,
        { errors: [{ code: 'TooManyRequests', title: 'Too Many Requests' }] },
        { ...json, 'retry-after': '3' },
      );

    const err = await recordZendeskDeflection(createZendeskClient(config.zendesk), config, {
      email: 'dana.buyer@acme.example',
      type: 'article_viewed',
      description: 'Read an article',
      properties: {},
      occurredAt: '2026-03-15T09:05:00Z',
    }).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'RateLimitedError', retryAfterMs: 3_000 });
  });
});
