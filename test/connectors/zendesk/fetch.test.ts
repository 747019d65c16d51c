import { readFileSync } from 'node:fs';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { ZendeskApiError, classifyZendeskError, createZendeskClient } from '../../../src/connectors/zendesk/client.js';
import { parseZendeskWebhook } from '../../../src/connectors/zendesk/events.js';
import { fetchZendeskObject } from '../../../src/connectors/zendesk/fetch.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { useStrictNock } from '../../support/nock.js';

const ORIGIN = 'http://127.0.0.1:4010';
const EMAIL = 'sync-agent@acme.example';
const TOKEN = 'zdTestApiToken0000000000000000000000000';
const client = createZendeskClient({ baseUrl: `${ORIGIN}/api/v2`, email: EMAIL, apiToken: TOKEN, webhookSecrets: [] });
const auth = { authorization: `Basic ${Buffer.from(`${EMAIL}/token:${TOKEN}`).toString('base64')}` };
const json = {
  'content-type': 'application/json; charset=utf-8',
  'x-rate-limit': '700',
  'x-rate-limit-remaining': '699',
};
const VERSION = Date.parse('2026-03-03T12:45:00Z');

// GET /api/v2/tickets/5301 as Zendesk answers it: the same ticket as fixtures/zendesk/ticket.status_changed.json.
const TICKET = {
  url: `${ORIGIN}/api/v2/tickets/5301.json`,
  id: 5301,
  external_id: null,
  via: { channel: 'web', source: { from: {}, to: {}, rel: null } },
  created_at: '2026-03-01T07:12:07Z',
  updated_at: '2026-03-03T12:45:20Z',
  generated_timestamp: 1772541920,
  type: 'incident',
  subject: 'Cannot download invoice',
  raw_subject: 'Cannot download invoice',
  description: 'The invoice PDF for March won\'t download.\nIt says "not found".',
  priority: 'high',
  status: 'solved',
  recipient: null,
  requester_id: 8000000000201,
  submitter_id: 8000000000201,
  assignee_id: 8000000000301,
  organization_id: 7000000000101,
  group_id: 360000000601,
  collaborator_ids: [],
  follower_ids: [],
  email_cc_ids: [],
  forum_topic_id: null,
  problem_id: null,
  has_incidents: false,
  is_public: true,
  due_at: null,
  tags: ['billing', 'invoice_pdf'],
  custom_fields: [],
  satisfaction_rating: null,
  sharing_agreement_ids: [],
  custom_status_id: 17000000001,
  fields: [],
  followup_ids: [],
  ticket_form_id: 360000000501,
  brand_id: 360000000001,
  allow_channelback: false,
  allow_attachments: true,
  from_messaging_channel: false,
};
const USER = {
  id: 8000000000201,
  url: `${ORIGIN}/api/v2/users/8000000000201.json`,
  name: 'Dana Buyer',
  email: 'Dana.Buyer@Acme.example',
  created_at: '2026-01-10T09:00:00Z',
  updated_at: '2026-03-02T10:00:00Z',
  time_zone: 'Eastern Time (US & Canada)',
  iana_time_zone: 'America/New_York',
  phone: null,
  shared_phone_number: null,
  photo: null,
  locale_id: 1,
  locale: 'en-US',
  organization_id: 7000000000101,
  role: 'end-user',
  verified: true,
  external_id: null,
  tags: [],
  alias: '',
  active: true,
  shared: false,
  shared_agent: false,
  last_login_at: null,
  two_factor_auth_enabled: null,
  signature: null,
  details: '',
  notes: '',
  role_type: null,
  custom_role_id: null,
  moderator: false,
  ticket_restriction: 'requested',
  only_private_comments: false,
  restricted_agent: true,
  suspended: false,
  default_group_id: null,
  report_csv: false,
  user_fields: {},
};
const ORGANIZATION = {
  url: `${ORIGIN}/api/v2/organizations/7000000000101.json`,
  id: 7000000000101,
  name: 'Acme Inc',
  shared_tickets: false,
  shared_comments: false,
  external_id: '001TestAcme0001IEA',
  created_at: '2026-01-05T08:00:00Z',
  updated_at: '2026-03-01T08:00:00Z',
  domain_names: ['acme.example'],
  details: '',
  notes: '',
  group_id: null,
  tags: ['enterprise', 'priority_support'],
  organization_fields: {},
};

useStrictNock();

describe('refetching Zendesk objects to settle a tie', () => {
  it('a ticket is read from GET /api/v2/tickets/{id}.json on the configured base URL and normalized like its webhook', async () => {
    nock(ORIGIN, { reqheaders: auth }).get('/api/v2/tickets/5301.json').reply(200, { ticket: TICKET }, json);

    const event = await fetchZendeskObject(client, 'zendesk.ticket', '5301', VERSION);

    const fixture = JSON.parse(
      readFileSync(new URL('../../fixtures/zendesk/ticket.status_changed.json', import.meta.url), 'utf8'),
    ) as unknown;
    const webhook = parseZendeskWebhook(fixture, {});
    if (webhook.kind !== 'events') throw new Error('fixture did not parse');
    expect(event).toEqual<SourceEvent>({
      ...webhook.events[0]!,
      // At the ticket's own updated_at (12:45:20), later than the tied minute (12:45): what was read is newer than both writes.
      eventId: `refetch-5301-${VERSION}`,
      type: 'refetch:zendesk.ticket',
      version: Date.parse(TICKET.updated_at),
      origin: 'snapshot',
    });
    expect(event.data).toMatchObject({
      status: 'solved',
      priority: 'high',
      formId: '360000000501',
      organizationId: '7000000000101',
      brandId: '360000000001',
    });
  });

  it('a user comes back with the name event details never carry, and a normalized email', async () => {
    nock(ORIGIN, { reqheaders: auth }).get('/api/v2/users/8000000000201.json').reply(200, { user: USER }, json);

    const event = await fetchZendeskObject(client, 'zendesk.user', '8000000000201', VERSION);

    expect(event).toMatchObject({
      source: 'zendesk',
      objectId: '8000000000201',
      deleted: false,
      refs: {
        zendeskUserId: '8000000000201',
        zendeskOrganizationId: '7000000000101',
        email: 'dana.buyer@acme.example',
      },
      data: {
        kind: 'zendesk.user',
        name: 'Dana Buyer',
        email: 'dana.buyer@acme.example',
        role: 'end-user',
        organizationId: '7000000000101',
      },
    });
  });

  it('a deactivated user reads as deleted, as the active_changed webhook does', async () => {
    nock(ORIGIN)
      .get('/api/v2/users/8000000000201.json')
      .reply(200, { user: { ...USER, active: false } }, json);

    await expect(fetchZendeskObject(client, 'zendesk.user', '8000000000201', VERSION)).resolves.toMatchObject({
      deleted: true,
    });
  });

  it('an organization comes back with its tags and its Salesforce Account Id from external_id', async () => {
    nock(ORIGIN).get('/api/v2/organizations/7000000000101.json').reply(200, { organization: ORGANIZATION }, json);

    const event = await fetchZendeskObject(client, 'zendesk.organization', '7000000000101', VERSION);

    expect(event).toMatchObject({
      refs: { zendeskOrganizationId: '7000000000101', salesforceAccountId: '001TestAcme0001IEA' },
      data: {
        kind: 'zendesk.organization',
        name: 'Acme Inc',
        externalId: '001TestAcme0001IEA',
        tags: ['enterprise', 'priority_support'],
      },
    });
  });

  it('a 429 with Retry-After is a retryable error to come back to in 7 s, never a fetched ticket', async () => {
    // Zendesk's own rate-limit answer: plain text, Retry-After in seconds.
    nock(ORIGIN).get('/api/v2/tickets/5301.json').reply(429, 'Number of allowed API requests per minute exceeded', {
      'content-type': 'text/plain',
      'retry-after': '7',
      'x-rate-limit': '700',
      'x-rate-limit-remaining': '0',
    });

    const err = await fetchZendeskObject(client, 'zendesk.ticket', '5301', VERSION).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ZendeskApiError);
    expect(classifyZendeskError(err)).toMatchObject({ retryable: true, retryAfterMs: 7_000, status: 429 });
  });

  it('a 502, which node-zendesk resolves as if its body were the ticket, is a retryable error', async () => {
    nock(ORIGIN).get('/api/v2/tickets/5301.json').reply(502, { error: 'BadGateway' }, json);

    const err = await fetchZendeskObject(client, 'zendesk.ticket', '5301', VERSION).catch((e: unknown) => e);

    expect(classifyZendeskError(err)).toMatchObject({ retryable: true, status: 502 });
  });

  it("a 404 is a permanent error carrying Zendesk's message", async () => {
    nock(ORIGIN)
      .get('/api/v2/tickets/404404.json')
      .reply(404, { error: 'RecordNotFound', description: 'Not found' }, json);

    const err = await fetchZendeskObject(client, 'zendesk.ticket', '404404', VERSION).catch((e: unknown) => e);

    expect(classifyZendeskError(err)).toEqual({
      retryable: false,
      status: 404,
      message: 'Zendesk 404: RecordNotFound: Not found',
    });
  });

  it('an id that is not a Zendesk id is refused before any request', async () => {
    await expect(fetchZendeskObject(client, 'zendesk.ticket', '../users/1', VERSION)).rejects.toThrow(
      /not a Zendesk id/,
    );
  });
});
