import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STRIPE_EVENT_KINDS, parseStripeEvent } from '../../../src/connectors/stripe/events.js';
import { SourceEventSchema } from '../../../src/sync/events/source-event.js';
import type { EventDataKind, EventDataOf, ParseResult, SourceEvent } from '../../../src/sync/events/source-event.js';

const FIXTURES = new URL('../../fixtures/stripe/', import.meta.url);
// Fixtures are edited per test to stand for other API versions; `any` keeps those edits short.
type Json = Record<string, any>;
const fixture = (name: string): Json => JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as Json;

function onlyEvent(result: ParseResult): SourceEvent {
  if (result.kind !== 'events') throw new Error(`expected events, got ${result.kind}: ${result.reason}`);
  expect(result.events).toHaveLength(1);
  return result.events[0]!;
}
function dataOf<K extends EventDataKind>(event: SourceEvent, kind: K): EventDataOf<K> {
  expect(event.data.kind).toBe(kind);
  return event.data as EventDataOf<K>;
}
const parsed = (name: string) => onlyEvent(parseStripeEvent(fixture(name)));

const SF_ACCOUNT = '001TestAcme0001IEA';
const ZD_ORG = '9000000001';
const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();

describe('Stripe customers', () => {
  it('a new customer carries its Stripe id, a normalized email and the CRM and helpdesk ids from metadata', () => {
    const raw = fixture('customer.created');
    const event = onlyEvent(parseStripeEvent(raw));
    expect(event).toMatchObject({
      v: 1,
      source: 'stripe',
      eventId: 'evt_TestCustomerCreated01',
      type: 'customer.created',
      objectId: 'cus_TestAcme01',
      version: raw['created'] * 1000,
      origin: 'webhook',
      deleted: false,
    });
    expect(event.refs).toEqual({
      stripeCustomerId: 'cus_TestAcme01',
      email: 'billing@example.com',
      salesforceAccountId: SF_ACCOUNT,
      zendeskOrganizationId: ZD_ORG,
    });
    expect(dataOf(event, 'stripe.customer')).toMatchObject({
      name: 'Acme Test Co',
      currency: null,
      balance: 0,
      defaultPaymentMethodId: null,
    });
  });

  it('an updated customer shows the new email, the credit balance and the default payment method', () => {
    const event = parsed('customer.updated');
    expect(event.refs.email).toBe('accounts@example.com');
    expect(dataOf(event, 'stripe.customer')).toMatchObject({
      currency: 'usd',
      balance: -500,
      defaultPaymentMethodId: 'pm_TestVisa01',
    });
  });

  it('a deleted customer is marked deleted and still names who it was', () => {
    const event = parsed('customer.deleted');
    expect(event.deleted).toBe(true);
    expect(event.refs.stripeCustomerId).toBe('cus_TestAcme01');
  });
});

describe('Stripe subscriptions', () => {
  it('MRR adds monthly seats to a yearly plan spread over twelve months', () => {
    const raw = fixture('customer.subscription.created');
    const event = onlyEvent(parseStripeEvent(raw));
    const data = dataOf(event, 'stripe.subscription');
    expect(data.mrr).toBe(3 * 4900 + 120000 / 12);
    expect(data).toMatchObject({
      id: 'sub_TestAcme01',
      status: 'active',
      planName: 'Team (monthly)',
      priceId: 'price_TestTeamMonthly',
      currency: 'usd',
      cancelAtPeriodEnd: false,
    });
    // Since API version 2025-03-31 the period end lives on the items only.
    expect(data.currentPeriodEnd).toBe(iso(raw['data'].object.items.data[0].current_period_end));
    expect(event.refs).toEqual({ stripeCustomerId: 'cus_TestAcme01', salesforceAccountId: SF_ACCOUNT });
    expect(event).toMatchObject({ objectId: 'sub_TestAcme01', version: raw['created'] * 1000, deleted: false });
  });

  it('adding seats raises MRR', () => {
    expect(dataOf(parsed('customer.subscription.updated'), 'stripe.subscription').mrr).toBe(5 * 4900 + 10000);
  });

  it('a canceled subscription is marked deleted with status canceled', () => {
    const event = parsed('customer.subscription.deleted');
    expect(event.deleted).toBe(true);
    expect(dataOf(event, 'stripe.subscription').status).toBe('canceled');
  });

  it('every subscription lifecycle event updates the subscription record', () => {
    for (const type of ['paused', 'resumed', 'trial_will_end', 'pending_update_applied', 'pending_update_expired']) {
      const raw = fixture('customer.subscription.updated');
      raw['type'] = `customer.subscription.${type}`;
      const event = onlyEvent(parseStripeEvent(raw));
      expect(event.deleted).toBe(false);
      expect(event.data.kind).toBe('stripe.subscription');
    }
  });

  it('on older API versions the period end is read from the subscription itself', () => {
    const raw = fixture('customer.subscription.updated');
    raw['data'].object.current_period_end = 1_800_000_000;
    for (const item of raw['data'].object.items.data) delete item.current_period_end;
    expect(dataOf(onlyEvent(parseStripeEvent(raw)), 'stripe.subscription').currentPeriodEnd).toBe(iso(1_800_000_000));
  });

  it('weekly, daily and multi-month prices are normalized to a month; metered and tiered items add nothing', () => {
    const raw = fixture('customer.subscription.updated');
    const [team] = raw['data'].object.items.data;
    const withPrice = (unit_amount: number | null, interval: string, interval_count: number, extra: Json = {}) => ({
      ...team,
      quantity: 1,
      price: { ...team.price, unit_amount, recurring: { ...team.price.recurring, interval, interval_count, ...extra } },
    });
    raw['data'].object.items.data = [
      withPrice(1200, 'week', 1), // 1200 * 52 / 12 = 5200
      withPrice(100, 'day', 1), // 100 * 365 / 12 = 3041.67
      withPrice(9000, 'month', 3), // 3000
      withPrice(500, 'month', 1, { usage_type: 'metered' }),
      withPrice(null, 'month', 1),
    ];
    expect(dataOf(onlyEvent(parseStripeEvent(raw)), 'stripe.subscription').mrr).toBe(
      Math.round(5200 + 36500 / 12 + 3000),
    );
  });

  it('an expanded customer object still yields the customer id', () => {
    const raw = fixture('customer.subscription.created');
    raw['data'].object.customer = { ...fixture('customer.created')['data'].object };
    expect(onlyEvent(parseStripeEvent(raw)).refs.stripeCustomerId).toBe('cus_TestAcme01');
  });

  it('a subscription without items is quarantined with a reason naming the field', () => {
    const raw = fixture('customer.subscription.updated');
    delete raw['data'].object.items;
    const result = parseStripeEvent(raw);
    expect(result).toMatchObject({ kind: 'invalid', eventId: 'evt_TestSubUpdated01' });
    expect(result.kind === 'invalid' && result.reason).toMatch(/^data\.object\.items: /);
  });
});

describe('Stripe invoices', () => {
  it('a finalized invoice carries amounts, links, the subscription and the billing email', () => {
    const raw = fixture('invoice.finalized');
    const event = onlyEvent(parseStripeEvent(raw));
    expect(event.refs).toEqual({ stripeCustomerId: 'cus_TestAcme01', email: 'accounts@example.com' });
    expect(dataOf(event, 'stripe.invoice')).toEqual({
      kind: 'stripe.invoice',
      id: 'in_TestAcme01',
      number: 'TESTACME-0001',
      status: 'open',
      currency: 'usd',
      total: 134700,
      amountDue: 134700,
      amountPaid: 0,
      amountRemaining: 134700,
      dueDate: null,
      createdAt: iso(raw['data'].object.created),
      hostedInvoiceUrl: raw['data'].object.hosted_invoice_url,
      invoicePdf: raw['data'].object.invoice_pdf,
      subscriptionId: 'sub_TestAcme01',
    });
  });

  it('a paid invoice shows nothing left to pay', () => {
    expect(dataOf(parsed('invoice.paid'), 'stripe.invoice')).toMatchObject({
      status: 'paid',
      amountPaid: 134700,
      amountRemaining: 0,
    });
  });

  it('a failed payment leaves the invoice open with the amount still due', () => {
    expect(dataOf(parsed('invoice.payment_failed'), 'stripe.invoice')).toMatchObject({
      id: 'in_TestAcme02',
      status: 'open',
      amountRemaining: 24500,
    });
  });

  it('a voided invoice stays on record with status void, its due date and the helpdesk id from its metadata', () => {
    const raw = fixture('invoice.voided');
    const event = onlyEvent(parseStripeEvent(raw));
    expect(event.deleted).toBe(false);
    expect(event.refs.zendeskOrganizationId).toBe(ZD_ORG);
    expect(dataOf(event, 'stripe.invoice')).toMatchObject({
      status: 'void',
      subscriptionId: null,
      dueDate: iso(raw['data'].object.due_date),
    });
  });

  it('a deleted draft invoice is marked deleted', () => {
    const raw = fixture('invoice.finalized');
    raw['type'] = 'invoice.deleted';
    raw['data'].object.status = 'draft';
    expect(onlyEvent(parseStripeEvent(raw)).deleted).toBe(true);
  });

  it('on older API versions the subscription is read from the invoice itself', () => {
    const raw = fixture('invoice.paid');
    raw['data'].object.parent = undefined;
    raw['data'].object.subscription = 'sub_TestLegacy01';
    expect(dataOf(onlyEvent(parseStripeEvent(raw)), 'stripe.invoice').subscriptionId).toBe('sub_TestLegacy01');
  });

  it('invoice.upcoming is ignored, not quarantined, although it has no id', () => {
    expect(parseStripeEvent(fixture('invoice.upcoming'))).toMatchObject({
      kind: 'ignored',
      eventId: 'evt_TestInvoiceUpcoming01',
    });
  });
});

describe('Stripe payment methods and refunds', () => {
  it('an attached card shows its brand and last four digits', () => {
    const event = parsed('payment_method.attached');
    expect(event.refs).toEqual({ stripeCustomerId: 'cus_TestAcme01' });
    expect(dataOf(event, 'stripe.payment_method')).toEqual({
      kind: 'stripe.payment_method',
      id: 'pm_TestVisa01',
      type: 'card',
      attached: true,
      brand: 'visa',
      last4: '4242',
    });
  });

  it('a detached card is kept as detached, for the customer it used to belong to', () => {
    const event = parsed('payment_method.detached');
    expect(event.deleted).toBe(false);
    expect(event.refs.stripeCustomerId).toBe('cus_TestAcme01');
    expect(dataOf(event, 'stripe.payment_method').attached).toBe(false);
  });

  it('a refunded charge reports the refund; the invoice link is read where the API version still sends it', () => {
    const raw = fixture('charge.refunded');
    expect(dataOf(onlyEvent(parseStripeEvent(raw)), 'stripe.charge')).toEqual({
      kind: 'stripe.charge',
      id: 'ch_TestAcme01',
      invoiceId: null,
      amount: 134700,
      amountRefunded: 134700,
      refunded: true,
      currency: 'usd',
    });
    raw['data'].object.invoice = 'in_TestAcme01';
    expect(dataOf(onlyEvent(parseStripeEvent(raw)), 'stripe.charge').invoiceId).toBe('in_TestAcme01');
    raw['data'].object.invoice = { id: 'in_TestAcme01', object: 'invoice' };
    expect(dataOf(onlyEvent(parseStripeEvent(raw)), 'stripe.charge').invoiceId).toBe('in_TestAcme01');
  });
});

describe('what Stripe events are kept', () => {
  const fixtureNames = readdirSync(FIXTURES).map((f) => f.replace(/\.json$/, ''));

  it('every event produced from a fixture is accepted by the queue schema', () => {
    for (const name of fixtureNames) {
      const result = parseStripeEvent(fixture(name));
      if (result.kind === 'events')
        for (const event of result.events) expect(() => SourceEventSchema.parse(event), name).not.toThrow();
      else expect(result.kind, name).toBe('ignored');
    }
  });

  it('event types we do not use are ignored with their type named', () => {
    expect(parseStripeEvent(fixture('unhandled.product.created'))).toEqual({
      kind: 'ignored',
      reason: 'unhandled event type product.created',
      eventId: 'evt_TestProductCreated01',
    });
    const raw = fixture('customer.created');
    raw['type'] = 'constructor';
    expect(parseStripeEvent(raw).kind).toBe('ignored');
  });

  it('a body that is not a Stripe event is quarantined without an event id', () => {
    for (const body of [{}, [], null, 'evt_x', { id: 'evt_TestNoType01', object: 'event', created: 1 }]) {
      const result = parseStripeEvent(body);
      expect(result.kind).toBe('invalid');
      expect(result.kind === 'invalid' && result.eventId).toBeUndefined();
    }
  });

  it('never throws, whatever the JSON', () => {
    const kinds = ['events', 'ignored', 'invalid'];
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(kinds).toContain(parseStripeEvent(value).kind);
      }),
    );
  });

  it('never throws for a known event type whatever its object', () => {
    const types = [...STRIPE_EVENT_KINDS.keys()];
    const known = fc.record({
      id: fc.string({ minLength: 1 }),
      object: fc.constant('event'),
      type: fc.constantFrom(...types),
      created: fc.nat(),
      data: fc.record({ object: fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())) }),
    });
    fc.assert(
      fc.property(known, (value) => {
        const result = parseStripeEvent(value);
        if (result.kind === 'events') for (const event of result.events) SourceEventSchema.parse(event);
      }),
    );
  });

  it('never throws when any field of a real fixture is replaced by arbitrary JSON', () => {
    const names = fixtureNames;
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.nat(), fc.jsonValue(), (name, pick, replacement) => {
        const raw = fixture(name);
        const object = raw['data'].object as Json;
        const keys = Object.keys(object);
        object[keys[pick % keys.length]!] = replacement;
        const result = parseStripeEvent(raw);
        if (result.kind === 'events') for (const event of result.events) SourceEventSchema.parse(event);
      }),
      { numRuns: 300 },
    );
  });
});
