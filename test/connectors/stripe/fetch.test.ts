import { readFileSync } from 'node:fs';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { classifyStripeError, createStripeClient } from '../../../src/connectors/stripe/client.js';
import { parseStripeEvent } from '../../../src/connectors/stripe/events.js';
import { fetchStripeObject } from '../../../src/connectors/stripe/fetch.js';
import type { ParseResult, SourceEvent } from '../../../src/sync/events/source-event.js';
import { useStrictNock } from '../../support/nock.js';

// Webhook fixtures carry the objects in Stripe's wire shape; the API returns the same objects.
type Json = Record<string, any>;
const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../fixtures/stripe/${name}.json`, import.meta.url), 'utf8')) as Json;

const API = 'http://127.0.0.1:12111';
const KEY = 'sk_test_portalSyncRefetch0001';
const stripe = createStripeClient({
  secretKey: KEY,
  webhookSecrets: [],
  host: '127.0.0.1',
  port: 12111,
  protocol: 'http',
});
const headers = {
  'request-id': 'req_TestRefetch01',
  'stripe-version': '2026-10-28.endive',
  'content-type': 'application/json',
};

function onlyEvent(result: ParseResult): SourceEvent {
  if (result.kind !== 'events') throw new Error(`expected events, got ${result.kind}`);
  return result.events[0]!;
}

/** What the refetch of the object in `webhook` must equal: the parser's event, re-labelled as a refetch. */
function asRefetch(webhook: Json, kind: string): SourceEvent {
  const parsed = onlyEvent(parseStripeEvent(webhook));
  const version = webhook['created'] * 1000;
  return {
    ...parsed,
    eventId: `refetch-${parsed.objectId}-${version}`,
    type: `refetch:${kind}`,
    version,
    origin: 'snapshot',
  };
}

useStrictNock();

describe('refetching Stripe objects to settle a tie', () => {
  it('a subscription is read from GET /v1/subscriptions/:id on the configured host and normalized like its webhook', async () => {
    const webhook = fixture('customer.subscription.updated');
    const sub = webhook['data']['object'];
    nock(API, { reqheaders: { authorization: `Bearer ${KEY}`, 'user-agent': /portal-sync/ } })
      .get(`/v1/subscriptions/${sub.id}`)
      .reply(200, sub, headers);

    const event = await fetchStripeObject(stripe, 'stripe.subscription', sub.id, webhook['created'] * 1000);

    expect(event).toEqual(asRefetch(webhook, 'stripe.subscription'));
    expect(event.data).toMatchObject({ kind: 'stripe.subscription', id: sub.id, status: sub.status, mrr: 34500 });
  });

  it('an ended subscription read back is a deletion, as customer.subscription.deleted is', async () => {
    const webhook = fixture('customer.subscription.deleted');
    const sub = webhook['data']['object'];
    nock(API).get(`/v1/subscriptions/${sub.id}`).reply(200, sub, headers);

    const event = await fetchStripeObject(stripe, 'stripe.subscription', sub.id, webhook['created'] * 1000);

    expect(event).toEqual(asRefetch(webhook, 'stripe.subscription'));
    expect(event.deleted).toBe(true);
  });

  it('a deleted customer (Stripe answers a {deleted: true} stub) becomes a tombstone for that customer', async () => {
    nock(API)
      .get('/v1/customers/cus_TestGone01')
      .reply(200, { id: 'cus_TestGone01', object: 'customer', deleted: true }, headers);

    const event = await fetchStripeObject(stripe, 'stripe.customer', 'cus_TestGone01', 1_799_058_800_000);

    expect(event).toMatchObject({
      source: 'stripe',
      objectId: 'cus_TestGone01',
      deleted: true,
      version: 1_799_058_800_000,
      origin: 'snapshot',
      eventId: 'refetch-cus_TestGone01-1799058800000',
      refs: { stripeCustomerId: 'cus_TestGone01' },
    });
    expect(event.data.kind).toBe('stripe.customer');
  });

  it('a live customer reads like its customer.updated webhook, cross-system ids from metadata included', async () => {
    const webhook = fixture('customer.updated');
    const customer = webhook['data']['object'];
    nock(API).get(`/v1/customers/${customer.id}`).reply(200, customer, headers);

    const event = await fetchStripeObject(stripe, 'stripe.customer', customer.id, webhook['created'] * 1000);

    expect(event).toEqual(asRefetch(webhook, 'stripe.customer'));
    expect(event.deleted).toBe(false);
  });

  it('a payment method no longer attached reads as detached', async () => {
    const pm = { ...fixture('payment_method.detached')['data']['object'], customer: null };
    nock(API).get(`/v1/payment_methods/${pm.id}`).reply(200, pm, headers);

    const event = await fetchStripeObject(stripe, 'stripe.payment_method', pm.id, 1_798_972_400_000);

    expect(event.data).toMatchObject({ kind: 'stripe.payment_method', id: pm.id, attached: false });
  });

  it('invoices and charges come back through their own endpoints', async () => {
    const invoiceHook = fixture('invoice.paid');
    const chargeHook = fixture('charge.refunded');
    const invoice = invoiceHook['data']['object'];
    const charge = chargeHook['data']['object'];
    nock(API)
      .get(`/v1/invoices/${invoice.id}`)
      .reply(200, invoice, headers)
      .get(`/v1/charges/${charge.id}`)
      .reply(200, charge, headers);

    expect(await fetchStripeObject(stripe, 'stripe.invoice', invoice.id, invoiceHook['created'] * 1000)).toEqual(
      asRefetch(invoiceHook, 'stripe.invoice'),
    );
    expect(await fetchStripeObject(stripe, 'stripe.charge', charge.id, chargeHook['created'] * 1000)).toEqual(
      asRefetch(chargeHook, 'stripe.charge'),
    );
  });

  it('a 404 resource_missing is a permanent error, asked for once', async () => {
    nock(API)
      .get('/v1/subscriptions/sub_TestMissing01')
      .once()
      .reply(
        404,
        {
          error: {
            code: 'resource_missing',
            doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
            message: "No such subscription: 'sub_TestMissing01'",
            param: 'id',
            request_log_url: 'https://dashboard.stripe.com/test/logs/req_TestRefetch01',
            type: 'invalid_request_error',
          },
        },
        headers,
      );

    const err = await fetchStripeObject(stripe, 'stripe.subscription', 'sub_TestMissing01', 1_000).catch(
      (e: unknown) => e,
    );

    expect(classifyStripeError(err)).toEqual({
      retryable: false,
      status: 404,
      message: "Stripe 404 resource_missing: No such subscription: 'sub_TestMissing01'",
    });
  });

  it('an object the parser cannot read is a permanent error, not a half-filled event', async () => {
    nock(API)
      .get('/v1/charges/ch_TestBroken01')
      .reply(200, { id: 'ch_TestBroken01', object: 'charge', amount: 'lots' }, headers);

    const err = await fetchStripeObject(stripe, 'stripe.charge', 'ch_TestBroken01', 1_000).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/shape the parser rejects/);
    expect(classifyStripeError(err).retryable).toBe(false);
  });
});
