import { readFileSync } from 'node:fs';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { RefetchError, createRefetcher } from '../../src/connectors/refetch.js';
import type { RefetchTie } from '../../src/connectors/refetch.js';
import { useStrictNock } from '../support/nock.js';
import { configFrom } from '../support/config.js';

const STRIPE_API = 'http://127.0.0.1:12113';
const ZENDESK = 'http://127.0.0.1:4012';
const MY_DOMAIN = 'https://acme-logistics.my.salesforce.com';
const configured = configFrom({
  STRIPE_SECRET_KEY: 'sk_test_portalSyncRefetcher01',
  STRIPE_API_HOST: '127.0.0.1',
  STRIPE_API_PORT: '12113',
  STRIPE_API_PROTOCOL: 'http',
  ZENDESK_BASE_URL: `${ZENDESK}/api/v2`,
  ZENDESK_EMAIL: 'sync-agent@acme.example',
  ZENDESK_API_TOKEN: 'zdTestApiToken2222222222222222222222222',
  SALESFORCE_LOGIN_URL: MY_DOMAIN,
  SALESFORCE_CLIENT_ID: '3MVG9TestConsumerKey',
  SALESFORCE_CLIENT_SECRET: 'TestConsumerSecret0123456789',
});
const json = { 'content-type': 'application/json' };

const tie = (
  source: RefetchTie['source'],
  kind: RefetchTie['kind'],
  objectId: string,
  version = 1_795_689_200_000,
): RefetchTie => ({ source, kind, objectId, version });

useStrictNock();

describe('settling a tie by refetching from the source API', () => {
  it('a source whose API credentials are not configured settles nothing: null, no request, no throw', async () => {
    const refetch = createRefetcher(configFrom({}));

    await expect(refetch(tie('stripe', 'stripe.subscription', 'sub_TestAcme01'))).resolves.toBeNull();
    await expect(refetch(tie('zendesk', 'zendesk.ticket', '5301'))).resolves.toBeNull();
    await expect(refetch(tie('salesforce', 'salesforce.account', '0018d00000QxZ7pAAF'))).resolves.toBeNull();
  });

  it('portal activity and kinds a source cannot read are not refetched', async () => {
    const refetch = createRefetcher(configured);

    await expect(refetch(tie('portal', 'portal.activity', 'sess_1'))).resolves.toBeNull();
    await expect(refetch(tie('stripe', 'zendesk.ticket', '5301'))).resolves.toBeNull();
  });

  it('a configured source answers with the object as an event at the tied version', async () => {
    const webhook = JSON.parse(
      readFileSync(new URL('../fixtures/stripe/customer.subscription.updated.json', import.meta.url), 'utf8'),
    ) as {
      created: number;
      data: { object: { id: string } };
    };
    const sub = webhook.data.object;
    nock(STRIPE_API).get(`/v1/subscriptions/${sub.id}`).reply(200, sub, json);

    const event = await createRefetcher(configured)(
      tie('stripe', 'stripe.subscription', sub.id, webhook.created * 1000),
    );

    expect(event).toMatchObject({
      source: 'stripe',
      objectId: sub.id,
      version: webhook.created * 1000,
      origin: 'snapshot',
    });
  });

  it('a failed refetch throws a RefetchError saying whether a retry can help, and when', async () => {
    nock(STRIPE_API)
      .get('/v1/invoices/in_TestMissing01')
      .reply(
        404,
        {
          error: {
            code: 'resource_missing',
            message: "No such invoice: 'in_TestMissing01'",
            param: 'id',
            type: 'invalid_request_error',
          },
        },
        json,
      );
    nock(ZENDESK).get('/api/v2/tickets/5301.json').reply(429, 'Number of allowed API requests per minute exceeded', {
      'content-type': 'text/plain',
      'retry-after': '7',
    });
    const refetch = createRefetcher(configured);

    const missing = await refetch(tie('stripe', 'stripe.invoice', 'in_TestMissing01')).catch((e: unknown) => e);
    const limited = await refetch(tie('zendesk', 'zendesk.ticket', '5301')).catch((e: unknown) => e);

    expect(missing).toBeInstanceOf(RefetchError);
    expect(missing).toMatchObject({ source: 'stripe', retryable: false, status: 404 });
    expect(limited).toBeInstanceOf(RefetchError);
    expect(limited).toMatchObject({ source: 'zendesk', retryable: true, retryAfterMs: 7_000, status: 429 });
  });

  it('connects lazily and once; a connection that failed is tried again on the next tie', async () => {
    const account = (id: string) => ({
      attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${id}` },
      Id: id,
      Name: 'Acme Logistics',
      IsDeleted: false,
      SystemModstamp: '2025-11-27T10:33:20.000+0000',
    });
    nock(MY_DOMAIN)
      .post('/services/oauth2/token')
      .reply(503, 'Service Unavailable', { 'content-type': 'text/plain' })
      .post('/services/oauth2/token')
      .once()
      .reply(
        200,
        {
          access_token: '00D!Token',
          instance_url: MY_DOMAIN,
          id: 'https://login.salesforce.com/id/00D8d000004PqRsEAK/0058d000003Hn1KAAS',
          token_type: 'Bearer',
          issued_at: '1',
        },
        json,
      )
      .get('/services/data/v62.0/sobjects/Account/0018d00000QxZ7pAAF')
      .reply(200, account('0018d00000QxZ7pAAF'), json)
      .get('/services/data/v62.0/sobjects/Account/0018d00000QxZ7qAAF')
      .reply(200, account('0018d00000QxZ7qAAF'), json);
    const refetch = createRefetcher(configured);

    const down = await refetch(tie('salesforce', 'salesforce.account', '0018d00000QxZ7pAAF')).catch((e: unknown) => e);
    expect(down).toMatchObject({ source: 'salesforce', retryable: true });

    // Only one more token request is faked: a second connection would fail the test.
    await expect(refetch(tie('salesforce', 'salesforce.account', '0018d00000QxZ7pAAF'))).resolves.toMatchObject({
      objectId: '0018d00000QxZ7pAAF',
    });
    await expect(refetch(tie('salesforce', 'salesforce.account', '0018d00000QxZ7qAAF'))).resolves.toMatchObject({
      objectId: '0018d00000QxZ7qAAF',
    });
  });
});
