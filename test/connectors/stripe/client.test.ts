import nock from 'nock';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { classifyStripeError, createStripeClient } from '../../../src/connectors/stripe/client.js';
import { useStrictNock } from '../../support/nock.js';

const KEY = 'sk_test_portalSyncClient0001';
const json = { 'content-type': 'application/json', 'request-id': 'req_TestClient01' };

useStrictNock();

describe('the Stripe client', () => {
  it('refuses to start without a key, and says which variable to set', () => {
    expect(() => createStripeClient({ webhookSecrets: [] })).toThrow(/STRIPE_SECRET_KEY/);
  });

  it('talks to api.stripe.com over https unless a host, port or protocol is configured', async () => {
    const stripe = createStripeClient({ secretKey: KEY, webhookSecrets: [] });
    nock('https://api.stripe.com', { reqheaders: { authorization: `Bearer ${KEY}` } })
      .get('/v1/customers/cus_TestDefault01')
      .reply(200, { id: 'cus_TestDefault01', object: 'customer', deleted: true }, json);

    await expect(stripe.customers.retrieve('cus_TestDefault01')).resolves.toMatchObject({ deleted: true });
  });

  it('a 429 is retryable and honours Retry-After', async () => {
    const stripe = createStripeClient({
      secretKey: KEY,
      webhookSecrets: [],
      host: '127.0.0.1',
      port: 12112,
      protocol: 'http',
    });
    nock('http://127.0.0.1:12112')
      .get('/v1/charges/ch_TestBusy01')
      .reply(
        429,
        { error: { code: 'rate_limit', message: 'Request rate limit exceeded.', type: 'invalid_request_error' } },
        { ...json, 'retry-after': '3' },
      );

    const err = await stripe.charges.retrieve('ch_TestBusy01').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(classifyStripeError(err)).toMatchObject({ retryable: true, status: 429, retryAfterMs: 3_000 });
  });

  it('5xx and connection failures are retryable; authentication and other 4xx are not', () => {
    const raw = (statusCode: number, type: 'api_error' | 'authentication_error') => ({
      type,
      message: 'x',
      statusCode,
      headers: {},
    });
    expect(classifyStripeError(new Stripe.errors.StripeAPIError(raw(500, 'api_error')))).toMatchObject({
      retryable: true,
      status: 500,
    });
    expect(classifyStripeError(new Stripe.errors.StripeConnectionError({ message: 'socket hang up' }))).toMatchObject({
      retryable: true,
    });
    expect(
      classifyStripeError(new Stripe.errors.StripeAuthenticationError(raw(401, 'authentication_error'))),
    ).toMatchObject({ retryable: false, status: 401 });
    expect(classifyStripeError(new Error('not from Stripe'))).toEqual({ retryable: false, message: 'not from Stripe' });
  });
});
