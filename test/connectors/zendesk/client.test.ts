import nock from 'nock';
import { describe, expect, it } from 'vitest';
import {
  ZendeskApiError,
  classifyZendeskError,
  createZendeskClient,
  zendeskRequest,
} from '../../../src/connectors/zendesk/client.js';
import { useStrictNock } from '../../support/nock.js';

const ORIGIN = 'http://127.0.0.1:4011';
const EMAIL = 'sync-agent@acme.example';
const TOKEN = 'zdTestApiToken1111111111111111111111111';
// A trailing slash, as operators paste it: it must not become `//` in request paths.
const client = createZendeskClient({ baseUrl: `${ORIGIN}/api/v2/`, email: EMAIL, apiToken: TOKEN, webhookSecrets: [] });
const auth = { authorization: `Basic ${Buffer.from(`${EMAIL}/token:${TOKEN}`).toString('base64')}` };
const json = { 'content-type': 'application/json; charset=utf-8' };
const tooMany = 'Number of allowed API requests per minute exceeded';

useStrictNock();

describe('the Zendesk client', () => {
  it('refuses to start half-configured, naming every missing variable', () => {
    expect(() => createZendeskClient({ email: EMAIL, webhookSecrets: [] })).toThrow(
      /ZENDESK_SUBDOMAIN.*ZENDESK_API_TOKEN/,
    );
  });

  it('upserts a custom object record by external id through the same client (PATCH …/records.json?external_id=)', async () => {
    const record = {
      name: 'sub_TestAcme01',
      external_id: 'sub_TestAcme01',
      custom_object_fields: { status: 'active', mrr: 34500 },
    };
    nock(ORIGIN, { reqheaders: auth })
      .patch('/api/v2/custom_objects/subscription/records.json', { custom_object_record: record })
      .query({ external_id: 'sub_TestAcme01' })
      .reply(
        200,
        { custom_object_record: { id: '01HTESTRECORD', custom_object_key: 'subscription', ...record } },
        json,
      );

    const body = await zendeskRequest(
      client,
      'PATCH',
      ['custom_objects', 'subscription', 'records', { external_id: 'sub_TestAcme01' }],
      {
        custom_object_record: record,
      },
    );

    expect(body).toMatchObject({ custom_object_record: { id: '01HTESTRECORD', external_id: 'sub_TestAcme01' } });
  });

  it('posts a user profile event and gets Zendesk\'s 202 {status: "received"}', async () => {
    const event = {
      profile: {
        source: 'portal',
        type: 'customer',
        identifiers: [{ type: 'email', value: 'dana.buyer@acme.example' }],
      },
      event: {
        source: 'portal',
        type: 'invoice_view',
        description: 'Viewed an invoice',
        properties: { invoiceId: 'in_1' },
      },
    };
    nock(ORIGIN, { reqheaders: auth })
      .post('/api/v2/user_profiles/events.json', event)
      .reply(202, { status: 'received' }, json);

    await expect(zendeskRequest(client, 'POST', ['user_profiles', 'events'], event)).resolves.toEqual({
      status: 'received',
    });
  });

  it('a 4xx from a generic request is a permanent ZendeskApiError', async () => {
    nock(ORIGIN)
      .get('/api/v2/custom_objects/nope/records.json')
      .reply(
        404,
        { errors: [{ code: 'NotFound', status: '404', title: 'Not Found', detail: 'Custom object not found' }] },
        json,
      );

    const err = await zendeskRequest(client, 'GET', ['custom_objects', 'nope', 'records']).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ZendeskApiError);
    expect(classifyZendeskError(err)).toEqual({
      retryable: false,
      status: 404,
      message: 'Zendesk 404: NotFound: Not Found: Custom object not found',
    });
  });

  it('a 502 that node-zendesk would hand back as data is an error, and retryable', async () => {
    nock(ORIGIN).get('/api/v2/tickets/1.json').reply(502, { error: 'BadGateway' }, json);

    const err = await zendeskRequest(client, 'GET', ['tickets', 1]).catch((e: unknown) => e);

    expect(classifyZendeskError(err)).toMatchObject({ retryable: true, status: 502 });
  });
});

describe('classifyZendeskError', () => {
  it('reads a 429 that node-zendesk RESOLVED (not threw), with its Retry-After', async () => {
    nock(ORIGIN).get('/api/v2/users/42.json').reply(429, tooMany, { 'content-type': 'text/plain', 'retry-after': '7' });

    const resolved = await client.users.show(42);

    expect(resolved.result).toBeInstanceOf(Error); // the quirk: no exception, an Error as the result
    expect(classifyZendeskError(resolved)).toMatchObject({ retryable: true, retryAfterMs: 7_000, status: 429 });
    // The bare Error alone no longer has the header, but is still a retryable 429.
    expect(classifyZendeskError(resolved.result)).toMatchObject({ retryable: true, status: 429 });
  });

  it('a 429 without Retry-After (node-zendesk then throws) is retryable with no delay given', async () => {
    nock(ORIGIN).get('/api/v2/users/43.json').reply(429, tooMany, { 'content-type': 'text/plain' });

    const err = await client.users.show(43).catch((e: unknown) => e);

    const verdict = classifyZendeskError(err);
    expect(verdict).toMatchObject({ retryable: true, status: 429 });
    expect(verdict.retryAfterMs).toBeUndefined();
  });

  it('5xx and network failures retry (a network failure named with its cause); 401, 403 and 422 do not', () => {
    const status = (code: number) =>
      Object.assign(new Error(`Zendesk Error (${code})`), { statusCode: code, result: {} });
    expect(classifyZendeskError(status(503)).retryable).toBe(true);
    expect(classifyZendeskError(status(401)).retryable).toBe(false);
    expect(classifyZendeskError(status(403)).retryable).toBe(false);
    expect(classifyZendeskError(status(422)).retryable).toBe(false);
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4011'), { code: 'ECONNREFUSED' }),
    });
    expect(classifyZendeskError(refused)).toEqual({
      retryable: true,
      message: 'Zendesk unreachable: fetch failed: connect ECONNREFUSED 127.0.0.1:4011',
    });
    expect(
      classifyZendeskError(new DOMException('The operation was aborted due to timeout', 'TimeoutError')).retryable,
    ).toBe(true);
    expect(classifyZendeskError(new Error('bug')).retryable).toBe(false);
  });
});
