/**
 * The Stripe stand-in, driven the way the daemon drives Stripe: through the real stripe SDK
 * (configured by src/connectors/stripe/client.ts), its auto-pagination, its error classes and
 * retries, and its webhook verification; delivered webhooks go through the daemon's own parser.
 */
import type { IncomingHttpHeaders } from 'node:http';
import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyStripeError, createStripeClient } from '../../src/connectors/stripe/client.js';
import { parseStripeEvent } from '../../src/connectors/stripe/events.js';
import { listenOnLoopback } from '../../src/demo/standins/common.js';
import {
  startStripeStandIn,
  STRIPE_STANDIN_API_VERSION,
  type StripeStandIn,
  type StripeStandInOptions,
  type StripePriceInput,
} from '../../src/demo/standins/stripe/index.js';
import { salesforceId18 } from '../../src/sync/events/ids.js';
import type { SourceEvent } from '../../src/sync/events/source-event.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function standIn(opts?: StripeStandInOptions): Promise<StripeStandIn> {
  const s = await startStripeStandIn(opts);
  open.push(s);
  return s;
}

const sdk = (s: StripeStandIn) => createStripeClient(s.clientConfig);
const TEAM: StripePriceInput = {
  id: 'price_TeamMonthly',
  nickname: 'Team (monthly)',
  product: 'prod_Team',
  unit_amount: 4900,
  interval: 'month',
};
const SUPPORT: StripePriceInput = {
  id: 'price_SupportYearly',
  nickname: 'Support (yearly)',
  product: 'prod_Support',
  unit_amount: 120_000,
  interval: 'year',
};
const caught = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

/** A clock the test moves; starts at a fixed instant. */
function manualClock(startMs = Date.UTC(2026, 10, 23, 9, 0, 0)) {
  let t = startMs;
  return { now: () => t, advance: (ms: number) => void (t += ms), seconds: () => Math.floor(t / 1000) };
}

interface Received {
  body: string;
  headers: IncomingHttpHeaders;
}

/** A webhook endpoint on loopback that records raw bodies and answers with `statuses` in turn (then 200). */
async function receiver(statuses: number[] = []) {
  const received: Received[] = [];
  const server = await listenOnLoopback((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.statusCode = statuses.shift() ?? 200;
      res.end('{"received":true}');
    });
  });
  open.push(server);
  return { url: `${server.origin}/webhooks/stripe`, received };
}

const SECRET = 'whsec_test_fake_standin_secret';

function parsedEvents(body: string): SourceEvent[] {
  const result = parseStripeEvent(JSON.parse(body));
  if (result.kind !== 'events')
    throw new Error(`expected events, got ${result.kind}: ${'reason' in result ? result.reason : ''}`);
  return result.events;
}

describe('Stripe stand-in: shapes', () => {
  it('renders objects in the API version the stripe SDK pins', async () => {
    const s = await standIn();
    expect(STRIPE_STANDIN_API_VERSION).toBe(Stripe.API_VERSION);
    s.createCustomer({ email: 'ann@example.com' });
    const res = await fetch(`${s.baseUrl}/v1/events`, { headers: { authorization: `Bearer ${s.secretKey}` } });
    expect(res.headers.get('stripe-version')).toBe(Stripe.API_VERSION);
    const body = (await res.json()) as { data: { api_version: string }[] };
    expect(body.data[0]?.api_version).toBe(Stripe.API_VERSION);
  });

  it('puts the billing period on subscription items and the subscription under the invoice parent, as this API version does', async () => {
    const s = await standIn();
    const stripe = sdk(s);
    const customer = s.createCustomer({
      email: 'ops@acme.example',
      metadata: { salesforce_account_id: '001Acme000000001AAA' },
    });
    const sub = s.createSubscription(customer.id, { items: [{ price: TEAM, quantity: 3 }, { price: SUPPORT }] });
    const invoice = s.createInvoice(customer.id, { subscription: sub.id });

    const gotSub = await stripe.subscriptions.retrieve(sub.id);
    expect(gotSub).not.toHaveProperty('current_period_end');
    expect(gotSub.items.data.map((i) => [i.price.id, i.quantity, i.current_period_end > gotSub.created])).toEqual([
      ['price_TeamMonthly', 3, true],
      ['price_SupportYearly', 1, true],
    ]);
    const gotInvoice = await stripe.invoices.retrieve(invoice.id);
    expect(gotInvoice.parent?.subscription_details?.subscription).toBe(sub.id);
    expect(gotInvoice).toMatchObject({
      status: 'open',
      total: 3 * 4900 + 120_000,
      amount_due: 3 * 4900 + 120_000,
      amount_paid: 0,
      customer: customer.id,
    });
    expect(gotInvoice.number).toMatch(/^[A-Z0-9]{8}-0001$/);
    expect(gotInvoice.hosted_invoice_url).toMatch(new RegExp(`^${s.baseUrl}/i/acct_`));
  });

  it("retrieves every kind the daemon refetches, and a deleted customer as Stripe's stub", async () => {
    const s = await standIn();
    const stripe = sdk(s);
    const customer = s.createCustomer({ email: 'bo@example.com', name: 'Bo' });
    const pm = s.attachPaymentMethod(customer.id, { brand: 'mastercard', last4: '4444', makeDefault: true });
    const sub = s.createSubscription(customer.id, { items: [{ price: TEAM }] });
    const invoice = s.payInvoice(s.createInvoice(customer.id, { subscription: sub.id }).id);
    const charge = [...s.state.charges.values()][0]!;

    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({
      id: customer.id,
      invoice_settings: { default_payment_method: pm.id },
    });
    expect(await stripe.paymentMethods.retrieve(pm.id)).toMatchObject({
      customer: customer.id,
      card: { brand: 'mastercard', last4: '4444' },
    });
    expect(await stripe.invoices.retrieve(invoice.id)).toMatchObject({
      status: 'paid',
      amount_paid: 4900,
      amount_remaining: 0,
    });
    expect(await stripe.charges.retrieve(charge.id)).toMatchObject({
      status: 'succeeded',
      amount: 4900,
      customer: customer.id,
      paid: true,
    });

    s.deleteCustomer(customer.id);
    expect(await stripe.customers.retrieve(customer.id)).toEqual({
      id: customer.id,
      object: 'customer',
      deleted: true,
    });
    // Deleting a customer ends its subscriptions at once.
    expect(await stripe.subscriptions.retrieve(sub.id)).toMatchObject({ status: 'canceled' });
  });

  it('serves the hosted invoice page and its PDF', async () => {
    const s = await standIn();
    const customer = s.createCustomer();
    const invoice = s.createInvoice(customer.id, { lines: [{ amount: 2500, description: 'Setup' }] });
    const page = await fetch(invoice.hosted_invoice_url!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(invoice.number!);
    const pdf = await fetch(invoice.invoice_pdf!);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(
      Buffer.from(await pdf.arrayBuffer())
        .subarray(0, 5)
        .toString(),
    ).toBe('%PDF-');
  });
});

describe('Stripe stand-in: lists', () => {
  it('auto-pagination over 250 customers yields each once, newest first', async () => {
    const s = await standIn();
    const ids = s.seedCustomers(250, (i) => ({ email: `c${i}@example.com` }));
    const seen: string[] = [];
    for await (const c of sdk(s).customers.list({ limit: 100 })) seen.push(c.id);
    expect(seen).toEqual([...ids].reverse());
    expect(s.calls.filter((c) => c.path === '/v1/customers').map((c) => c.status)).toEqual([200, 200, 200]);
  });

  it('pages backwards with ending_before, as the SDK iterates it', async () => {
    const s = await standIn();
    const ids = s.seedCustomers(25);
    const seen: string[] = [];
    for await (const c of sdk(s).customers.list({ limit: 7, ending_before: ids[3]! })) seen.push(c.id);
    expect(seen).toEqual(ids.slice(4));
    const page = await sdk(s).customers.list({ limit: 3, ending_before: ids[10]! });
    expect(page.data.map((c) => c.id)).toEqual([ids[13], ids[12], ids[11]]);
    expect(page.has_more).toBe(true);
  });

  it('filters by created range, email, customer and status; the default subscription list leaves out canceled ones', async () => {
    const clock = manualClock();
    const s = await standIn({ now: clock.now });
    const stripe = sdk(s);
    const early = s.createCustomer({ email: 'early@example.com' });
    clock.advance(60_000);
    const middle = s.createCustomer({ email: 'Middle@example.com' });
    clock.advance(60_000);
    const late = s.createCustomer({ email: 'late@example.com' });

    const range = await stripe.customers.list({ created: { gte: clock.seconds() - 60, lt: clock.seconds() } });
    expect(range.data.map((c) => c.id)).toEqual([middle.id]);
    expect((await stripe.customers.list({ created: { gt: clock.seconds() - 120 } })).data.map((c) => c.id)).toEqual([
      late.id,
      middle.id,
    ]);
    expect((await stripe.customers.list({ email: 'Middle@example.com' })).data.map((c) => c.id)).toEqual([middle.id]);
    expect((await stripe.customers.list({ email: 'middle@example.com' })).data).toEqual([]); // case-sensitive, as Stripe's

    const kept = s.createSubscription(early.id, { items: [{ price: TEAM }] });
    const ended = s.createSubscription(early.id, { items: [{ price: SUPPORT }] });
    s.cancelSubscription(ended.id);
    s.createSubscription(late.id, { items: [{ price: TEAM }] });
    s.updateSubscription(kept.id, { status: 'past_due' });

    expect((await stripe.subscriptions.list({ customer: early.id })).data.map((x) => x.id)).toEqual([kept.id]);
    expect((await stripe.subscriptions.list({ customer: early.id, status: 'all' })).data.map((x) => x.id)).toEqual([
      ended.id,
      kept.id,
    ]);
    expect((await stripe.subscriptions.list({ status: 'past_due' })).data.map((x) => x.id)).toEqual([kept.id]);
    expect((await stripe.subscriptions.list({ status: 'canceled' })).data.map((x) => x.id)).toEqual([ended.id]);

    const inv1 = s.createInvoice(early.id, { subscription: kept.id });
    const inv2 = s.createInvoice(late.id, { lines: [{ amount: 100 }] });
    s.payInvoice(inv2.id);
    expect((await stripe.invoices.list({ customer: early.id })).data.map((x) => x.id)).toEqual([inv1.id]);
    expect((await stripe.invoices.list({ subscription: kept.id })).data.map((x) => x.id)).toEqual([inv1.id]);
    expect((await stripe.invoices.list({ status: 'paid' })).data.map((x) => x.id)).toEqual([inv2.id]);
  });

  it('expands ids into objects with expand[]', async () => {
    const s = await standIn();
    const customer = s.createCustomer({ email: 'x@example.com' });
    s.createSubscription(customer.id, { items: [{ price: TEAM }] });
    const page = await sdk(s).subscriptions.list({ expand: ['data.customer'] });
    expect(page.data[0]?.customer).toMatchObject({ id: customer.id, object: 'customer', email: 'x@example.com' });
    const err = await caught(sdk(s).subscriptions.list({ expand: ['customer'] }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });

  it('refuses a limit outside 1..100, unknown parameters and two cursors at once, with 400 and the parameter named', async () => {
    const s = await standIn();
    const stripe = sdk(s);
    const [a, b] = s.seedCustomers(2);
    for (const limit of [0, 101]) {
      const err = await caught(stripe.customers.list({ limit }));
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(err).toMatchObject({ statusCode: 400, param: 'limit' });
      expect(classifyStripeError(err)).toMatchObject({ retryable: false, status: 400 });
    }
    const unknown = await caught(stripe.customers.list({ colour: 'blue' } as Stripe.CustomerListParams));
    expect(unknown).toMatchObject({ statusCode: 400, param: 'colour', message: 'Received unknown parameter: colour' });
    const both = await caught(stripe.customers.list({ starting_after: a!, ending_before: b! }));
    expect(both).toMatchObject({ statusCode: 400 });
    const missing = await caught(stripe.customers.list({ starting_after: 'cus_Gone' }));
    expect(missing).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'starting_after' });
  });

  it('pages deep into 100,000 seeded customers by cursor without walking the collection', async () => {
    const s = await standIn();
    const ids = s.seedCustomers(100_000, (i) => ({
      email: `c${i}@example.com`,
      metadata: { salesforce_account_id: `001A${String(i).padStart(11, '0')}AAA` },
    }));
    expect(s.state.customers.size).toBe(100_000);
    const page = await sdk(s).customers.list({ limit: 5, starting_after: ids[50_000]! });
    expect(page.data.map((c) => c.id)).toEqual(ids.slice(49_995, 50_000).reverse());
    expect(page.data[0]?.metadata).toEqual({ salesforce_account_id: '001A00000049999AAA' });
  });
});

describe('Stripe stand-in: errors, rate limits and faults', () => {
  it('answers a missing object with 404 resource_missing, which the SDK raises as an invalid-request error that no retry fixes', async () => {
    const s = await standIn();
    const err = await caught(sdk(s).subscriptions.retrieve('sub_Missing01'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      message: "No such subscription: 'sub_Missing01'",
    });
    expect((err as Stripe.errors.StripeError).requestId).toMatch(/^req_/);
    expect(classifyStripeError(err)).toMatchObject({ retryable: false, status: 404 });
  });

  it("answers 401 with Stripe's error body unless the request carries the secret key", async () => {
    const s = await standIn();
    const wrong = createStripeClient({ ...s.clientConfig, secretKey: 'sk_test_notTheRightKey00001234' });
    const err = await caught(wrong.customers.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect((err as Error).message).toBe(`Invalid API Key provided: sk_test_${'*'.repeat(18)}1234`);
    expect(classifyStripeError(err)).toMatchObject({ retryable: false, status: 401 });

    const bare = await fetch(`${s.baseUrl}/v1/customers`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('request-id')).toMatch(/^req_/);
    expect(await bare.json()).toEqual({
      error: { type: 'invalid_request_error', message: expect.stringMatching(/^You did not provide an API key/) },
    });
  });

  it('a rate-limited read answers 429 rate_limit, which stripe-node does not retry by itself; it passes once the second is over', async () => {
    const clock = manualClock();
    const s = await standIn({ rate: { reads: 3 }, now: clock.now });
    const stripe = sdk(s);
    for (let i = 0; i < 3; i++) await stripe.customers.list();
    const err = await caught(stripe.customers.list());
    expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(err).toMatchObject({ statusCode: 429, code: 'rate_limit', type: 'StripeRateLimitError' });
    expect((err as Stripe.errors.StripeError).headers?.['stripe-should-retry']).toBeUndefined();
    expect(classifyStripeError(err)).toMatchObject({ retryable: true, status: 429 });
    expect(s.calls.map((c) => c.status)).toEqual([200, 200, 200, 429]); // one 429, no SDK retry

    clock.advance(1000);
    await expect(stripe.customers.list()).resolves.toMatchObject({ object: 'list' });
  });

  it('reads and writes are limited apart, as Stripe counts them', async () => {
    const s = await standIn({ rate: { reads: 1, writes: 1 }, now: () => 0 });
    const stripe = sdk(s);
    await stripe.customers.list();
    await expect(stripe.customers.create({ email: 'w@example.com' })).resolves.toMatchObject({ object: 'customer' });
    await expect(caught(stripe.customers.create({ email: 'w2@example.com' }))).resolves.toBeInstanceOf(
      Stripe.errors.StripeRateLimitError,
    );
  });

  it('a lock_timeout 429 says Stripe-Should-Retry: true, and the SDK retries it into a success', async () => {
    const s = await standIn();
    const customer = s.createCustomer({ email: 'lock@example.com' });
    s.failNext(1, 'lock_timeout');
    await expect(sdk(s).customers.retrieve(customer.id)).resolves.toMatchObject({ id: customer.id });
    expect(s.calls.map((c) => [c.status, c.fault])).toEqual([
      [429, 'failNext'],
      [200, undefined],
    ]);
  });

  it('503s and reset connections are retried by the SDK; when they persist the error is classified retryable', async () => {
    const s = await standIn();
    const customer = s.createCustomer();
    s.failNext(2, 503);
    await expect(sdk(s).customers.retrieve(customer.id)).resolves.toMatchObject({ id: customer.id });
    expect(s.calls.map((c) => c.status)).toEqual([503, 503, 200]);

    s.setFaults({ rate: 1, kinds: ['reset'] });
    const err = await caught(sdk(s).customers.retrieve(customer.id));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(classifyStripeError(err)).toMatchObject({ retryable: true });
    s.setFaults(null);

    // A hung call ends in the SDK's own timeout, which is a connection error: retryable.
    s.failNext(1, 'timeout');
    const patient = new Stripe(s.secretKey, {
      host: s.host,
      port: s.port,
      protocol: 'http',
      timeout: 300,
      maxNetworkRetries: 0,
    });
    const timedOut = await caught(patient.customers.retrieve(customer.id));
    expect(timedOut).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect((timedOut as Error).message).toMatch(/timeout/);
    expect(classifyStripeError(timedOut)).toMatchObject({ retryable: true });

    s.failNext(3, 500, /^\/v1\/invoices/);
    await expect(sdk(s).customers.retrieve(customer.id)).resolves.toMatchObject({ id: customer.id }); // not that path
    const apiErr = await caught(sdk(s).invoices.list());
    expect(apiErr).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(classifyStripeError(apiErr)).toMatchObject({ retryable: true, status: 500 });
  });

  it('replays a POST with the same Idempotency-Key instead of creating twice', async () => {
    const s = await standIn();
    const stripe = sdk(s);
    const first = await stripe.customers.create({ email: 'once@example.com' }, { idempotencyKey: 'create-once-1' });
    const again = await stripe.customers.create({ email: 'once@example.com' }, { idempotencyKey: 'create-once-1' });
    expect(again.id).toBe(first.id);
    expect(s.state.customers.size).toBe(1);
    const created = s.events().filter((e) => e.type === 'customer.created');
    expect(created).toHaveLength(1);
    expect(created[0]?.request).toEqual({ id: expect.stringMatching(/^req_/), idempotency_key: 'create-once-1' });
  });
});

describe('Stripe stand-in: events', () => {
  it('lists events since a time, by type, each with the object as it was then', async () => {
    const clock = manualClock();
    const s = await standIn({ now: clock.now });
    const stripe = sdk(s);
    const customer = s.createCustomer({ email: 'ev@example.com' });
    const sub = s.createSubscription(customer.id, { items: [{ price: TEAM, quantity: 2 }] });
    clock.advance(5_000);
    const since = clock.seconds() - 1;
    s.updateSubscription(sub.id, { status: 'past_due' });
    s.updateCustomer(customer.id, { name: 'Eve Ltd', metadata: { salesforce_account_id: '001Eve000000001AAA' } });

    const recent: Stripe.Event[] = [];
    for await (const e of stripe.events.list({ created: { gt: since } })) recent.push(e);
    expect(recent.map((e) => e.type)).toEqual(['customer.updated', 'customer.subscription.updated']);
    const subUpdated = recent[1] as Stripe.CustomerSubscriptionUpdatedEvent;
    expect(subUpdated.data.object.status).toBe('past_due');
    expect(subUpdated.data.previous_attributes).toEqual({ status: 'active' });
    expect(recent[0]?.data.previous_attributes).toEqual({ name: null, metadata: { salesforce_account_id: null } });

    const created = (await stripe.events.list({ types: ['customer.subscription.created'] })).data;
    expect(created).toHaveLength(1);
    expect((created[0] as Stripe.CustomerSubscriptionCreatedEvent).data.object.status).toBe('active'); // the snapshot, not today's state
    // A wildcard matches every type under the prefix.
    expect((await stripe.events.list({ type: 'customer.subscription.*' })).data.map((e) => e.type)).toEqual([
      'customer.subscription.updated',
      'customer.subscription.created',
    ]);
    await expect(stripe.events.retrieve(created[0]!.id)).resolves.toMatchObject({ id: created[0]!.id });
  });

  it('keeps events 30 days, as Stripe does', async () => {
    const clock = manualClock();
    const s = await standIn({ now: clock.now });
    const stripe = sdk(s);
    s.createCustomer();
    const [event] = (await stripe.events.list()).data;
    clock.advance(31 * 86_400_000);
    expect((await stripe.events.list()).data).toEqual([]);
    await expect(caught(stripe.events.retrieve(event!.id))).resolves.toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
    });
  });

  it('a failed payment makes the subscription past_due and the customer delinquent, each with its event; paying clears both', async () => {
    const s = await standIn();
    const customer = s.createCustomer({ email: 'late@example.com' });
    const sub = s.createSubscription(customer.id, { items: [{ price: TEAM }] });
    s.payInvoice(s.createInvoice(customer.id, { subscription: sub.id }).id);
    const renewal = s.createInvoice(customer.id, { subscription: sub.id, billing_reason: 'subscription_cycle' });
    const mark = s.events().length;
    s.failInvoicePayment(renewal.id);
    expect(
      s
        .events()
        .slice(mark)
        .map((e) => e.type),
    ).toEqual(['charge.failed', 'invoice.payment_failed', 'customer.subscription.updated', 'customer.updated']);
    expect(s.render(sub.id)).toMatchObject({ status: 'past_due' });
    expect(s.render(customer.id)).toMatchObject({ delinquent: true });
    expect(s.render(renewal.id)).toMatchObject({
      status: 'open',
      attempt_count: 1,
      attempted: true,
      next_payment_attempt: expect.any(Number),
    });

    s.payInvoice(renewal.id);
    expect(s.render(sub.id)).toMatchObject({ status: 'active' });
    expect(s.render(customer.id)).toMatchObject({ delinquent: false });
  });
});

describe('Stripe stand-in: webhooks', () => {
  it('delivers each event signed like Stripe: the SDK verifies it and the daemon parses it into SourceEvents', async () => {
    const hook = await receiver();
    const s = await standIn({ webhookUrl: hook.url, webhookSecret: SECRET });
    const acmeAccount = salesforceId18('001Acme00000001');
    const customer = s.createCustomer({
      email: 'Ann@Acme.example',
      name: 'Acme',
      metadata: { salesforce_account_id: acmeAccount },
    });
    const sub = s.createSubscription(customer.id, { items: [{ price: TEAM, quantity: 2 }] });
    const invoice = s.createInvoice(customer.id, { subscription: sub.id });
    s.payInvoice(invoice.id);
    await s.flushWebhooks();

    const types = s.events().map((e) => e.type);
    expect(hook.received).toHaveLength(types.length);
    const events = hook.received.map((r) => {
      const header = String(r.headers['stripe-signature']);
      expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64},v0=[0-9a-f]{64}$/); // test mode adds a v0 that receivers ignore
      return Stripe.webhooks.constructEvent(r.body, header, SECRET);
    });
    expect(events.map((e) => e.type)).toEqual(types);
    expect(hook.received[0]?.body).toContain('\n  "id": "evt_'); // Stripe's bodies are pretty-printed: verify the raw bytes
    expect(() =>
      Stripe.webhooks.constructEvent(
        hook.received[0]!.body,
        String(hook.received[0]!.headers['stripe-signature']),
        'whsec_other',
      ),
    ).toThrow(Stripe.errors.StripeSignatureVerificationError);

    const byType = new Map(hook.received.map((r) => [JSON.parse(r.body).type as string, r.body]));
    expect(parsedEvents(byType.get('customer.created')!)[0]).toMatchObject({
      source: 'stripe',
      objectId: customer.id,
      refs: { stripeCustomerId: customer.id, email: 'ann@acme.example', salesforceAccountId: acmeAccount },
      data: { kind: 'stripe.customer', name: 'Acme' },
    });
    expect(parsedEvents(byType.get('customer.subscription.created')!)[0]?.data).toMatchObject({
      kind: 'stripe.subscription',
      status: 'active',
      planName: 'Team (monthly)',
      mrr: 9800,
      currentPeriodEnd: expect.any(String),
    });
    expect(parsedEvents(byType.get('invoice.paid')!)[0]?.data).toMatchObject({
      kind: 'stripe.invoice',
      status: 'paid',
      total: 9800,
      amountPaid: 9800,
      subscriptionId: sub.id,
      hostedInvoiceUrl: expect.stringContaining('/i/acct_'),
    });
    expect(parseStripeEvent(JSON.parse(byType.get('charge.succeeded')!))).toMatchObject({ kind: 'ignored' });
    for (const e of s.events()) expect(e.pending_webhooks).toBe(0);
  });

  it('retries a delivery the endpoint refused, with backoff, until it is acknowledged', async () => {
    const hook = await receiver([500, 503]);
    const s = await standIn({ webhookUrl: hook.url, webhookSecret: SECRET, webhookRetry: { initialDelayMs: 20 } });
    s.createCustomer({ email: 'retry@example.com' });
    await s.flushWebhooks();
    expect(s.webhookDeliveries.map((d) => [d.attempt, d.status])).toEqual([
      [1, 500],
      [2, 503],
      [3, 200],
    ]);
    expect(new Set(hook.received.map((r) => JSON.parse(r.body).id)).size).toBe(1);
    const [event] = (await sdk(s).events.list({ delivery_success: true })).data;
    expect(event).toMatchObject({ type: 'customer.created', pending_webhooks: 0 });
  });

  it('gives up after the last attempt and lists the event as undelivered', async () => {
    const hook = await receiver([500, 500]);
    const s = await standIn({
      webhookUrl: hook.url,
      webhookSecret: SECRET,
      webhookRetry: { attempts: 2, initialDelayMs: 10 },
    });
    s.createCustomer();
    await s.flushWebhooks();
    expect(hook.received).toHaveLength(2);
    const undelivered = (await sdk(s).events.list({ delivery_success: false })).data;
    expect(undelivered.map((e) => [e.type, e.pending_webhooks])).toEqual([['customer.created', 1]]);
  });

  it('dropped webhooks are never sent, yet stay listed in /v1/events for a reconciler to find', async () => {
    const hook = await receiver();
    const s = await standIn({ webhookUrl: hook.url, webhookSecret: SECRET, dropWebhooks: 0.5, seed: 7 });
    for (let i = 0; i < 20; i++) s.createCustomer({ email: `d${i}@example.com` });
    await s.flushWebhooks();

    const all: string[] = [];
    for await (const e of sdk(s).events.list({ limit: 100 })) all.push(e.id);
    const delivered = hook.received.map((r) => JSON.parse(r.body).id as string);
    expect(all).toHaveLength(20);
    expect(s.droppedWebhooks.length).toBeGreaterThan(0);
    expect(delivered.length + s.droppedWebhooks.length).toBe(20);
    expect(new Set([...delivered, ...s.droppedWebhooks])).toEqual(new Set(all));
    expect(delivered.some((id) => s.droppedWebhooks.includes(id))).toBe(false);
  });

  it('signs with every secret during a roll, and only sends the events the endpoint subscribes to', async () => {
    const hook = await receiver();
    const s = await standIn({
      webhookUrl: hook.url,
      webhookSecret: [SECRET, 'whsec_test_fake_after_roll'],
      enabledEvents: ['invoice.*'],
    });
    const customer = s.createCustomer();
    s.createInvoice(customer.id, { lines: [{ amount: 1000 }] });
    await s.flushWebhooks();
    expect(hook.received.map((r) => JSON.parse(r.body).type)).toEqual(['invoice.created', 'invoice.finalized']);
    for (const secret of [SECRET, 'whsec_test_fake_after_roll']) {
      expect(
        Stripe.webhooks.constructEvent(
          hook.received[0]!.body,
          String(hook.received[0]!.headers['stripe-signature']),
          secret,
        ),
      ).toMatchObject({ type: 'invoice.created' });
    }
  });
});
