/**
 * Stripe's list paging for resync (nock, Stripe's wire shapes): the cursor is the last object of a
 * page, and when Stripe no longer knows that object the next page is listed by its created second.
 */
import { readFileSync } from 'node:fs';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { createStripeClient } from '../../../src/connectors/stripe/client.js';
import { stripeSnapshotStreams } from '../../../src/connectors/stripe/enumerate.js';
import { useStrictNock } from '../../support/nock.js';

type Json = Record<string, any>;
const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../fixtures/stripe/${name}.json`, import.meta.url), 'utf8')) as Json;

const API = 'http://127.0.0.1:12112';
const KEY = 'sk_test_portalSyncEnumerate01';
const stripe = createStripeClient({
  secretKey: KEY,
  webhookSecrets: [],
  host: '127.0.0.1',
  port: 12112,
  protocol: 'http',
});
const headers = {
  'request-id': 'req_TestEnumerate01',
  'stripe-version': '2026-10-28.endive',
  'content-type': 'application/json',
};
const invoice = (n: number, created: number): Json => ({
  ...fixture('invoice.paid')['data']['object'],
  id: `in_TestPage${String(n).padStart(4, '0')}`,
  created,
});
const list = (data: Json[], hasMore: boolean) => ({ object: 'list', url: '/v1/invoices', has_more: hasMore, data });

useStrictNock();

describe('Stripe resync paging', () => {
  it("lists the next page by the cursor's created second when Stripe no longer knows the cursor's object", async () => {
    const invoices = () =>
      stripeSnapshotStreams(stripe, {
        pace: async () => undefined,
        now: () => Date.parse('2026-11-23T10:00:00Z'),
      }).find((s) => s.name === 'stripe.invoices')!;
    const t = 1_763_800_000;
    nock(API)
      .get('/v1/invoices')
      .query({ limit: '100' })
      .reply(200, list([invoice(3, t + 20), invoice(2, t + 10)], true), headers);
    const first = await invoices().page(null);
    expect(first.next).toBe(`in_TestPage0002|${t + 10}`);

    // The draft invoice at the end of the page was deleted before the next page was asked for (or before a --resume).
    nock(API)
      .get('/v1/invoices')
      .query({ limit: '100', starting_after: 'in_TestPage0002' })
      .reply(
        400,
        {
          error: {
            type: 'invalid_request_error',
            code: 'resource_missing',
            param: 'starting_after',
            message: "No such invoice: 'in_TestPage0002'",
          },
        },
        headers,
      )
      .get('/v1/invoices')
      .query({ limit: '100', 'created[lte]': String(t + 10) })
      .reply(200, list([invoice(1, t)], false), headers);
    const second = await invoices().page(first.next);
    expect(second.events.map((e) => e.objectId)).toEqual(['in_TestPage0001']);
    expect(second.next).toBeNull();
  });

  it('still fails on any other refusal of the cursor', async () => {
    nock(API)
      .get('/v1/invoices')
      .query({ limit: '100', starting_after: 'in_TestPage0002' })
      .reply(
        400,
        { error: { type: 'invalid_request_error', message: 'Invalid starting_after', param: 'starting_after' } },
        headers,
      );
    const stream = stripeSnapshotStreams(stripe, { pace: async () => undefined }).find(
      (s) => s.name === 'stripe.invoices',
    )!;
    await expect(stream.page('in_TestPage0002|1763800010')).rejects.toThrow(/Invalid starting_after/);
  });
});
