/**
 * Realistic wire payloads for benchmarks: the test fixtures, re-keyed to a
 * synthetic customer (ids, email, cross-system metadata) and re-versioned,
 * so that identity lookups, attaches and merges happen the way they do with
 * real traffic. SourceEvents are made by the real parsers, never by hand.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSalesforceJson } from '../../src/connectors/salesforce/cdc.js';
import { parseStripeEvent } from '../../src/connectors/stripe/events.js';
import { parseZendeskWebhook } from '../../src/connectors/zendesk/events.js';
import { salesforceId18 } from '../../src/sync/events/ids.js';
import type { ParseResult, SourceEvent } from '../../src/sync/events/source-event.js';
import { seededRandom } from '../../src/demo/standins/common.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const texts = new Map<string, string>();
function fixtureText(path: string): string {
  let text = texts.get(path);
  if (text === undefined) {
    text = readFileSync(`${FIXTURES}${path}`, 'utf8');
    texts.set(path, text);
  }
  return text;
}

type Obj = Record<string, unknown>;
/** Sets a value at a dotted path of a parsed fixture (the path must exist up to its parent). */
function set(root: Obj, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = root;
  for (const p of parts.slice(0, -1)) node = node[p] as Obj;
  node[parts[parts.length - 1]!] = value;
}

/** Stripe `created` / Salesforce and Zendesk modstamps: one hour per step, customers a second apart. */
const BASE_SECONDS = 1_780_000_000;
const versionSeconds = (c: number, step: number) => BASE_SECONDS + step * 3600 + c;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

export interface Customer {
  n: number;
  stripeCustomerId: string;
  salesforceAccountId: string;
  salesforceContactId: string;
  zendeskOrganizationId: string;
  zendeskUserId: string;
  email: string;
  name: string;
}

export function customer(n: number): Customer {
  const seven = String(n).padStart(7, '0');
  return {
    n,
    stripeCustomerId: `cus_bench${n}`,
    salesforceAccountId: salesforceId18(`001Bench${seven}`),
    salesforceContactId: salesforceId18(`003Bench${seven}`),
    zendeskOrganizationId: String(9_100_000_000 + n),
    zendeskUserId: String(8_100_000_000 + n),
    email: `billing@customer-${n}.example`,
    name: `Customer ${n} Ltd`,
  };
}

export type Wire = { source: 'stripe' | 'salesforce' | 'zendesk'; body: Obj };

// ---- Stripe ------------------------------------------------------------------

const STRIPE_KINDS = [
  'customer.created',
  'customer.updated',
  'customer.subscription.updated',
  'invoice.finalized',
  'invoice.paid',
  'payment_method.attached',
  'charge.refunded',
] as const;
export type StripeKind = (typeof STRIPE_KINDS)[number];
interface StripeOptions {
  /** false: a customer not yet linked to the other systems (no cross-id metadata). */
  crossIds?: boolean;
  /** Names this Zendesk organization in the metadata instead of the customer's own. */
  zendeskOrganizationId?: string;
  /** Seconds after the step's time (a burst's later events). */
  createdOffset?: number;
}

/**
 * A Stripe event of `kind` about customer `c`, as Stripe would post it. `step`
 * orders the customer's events (it sets `created`, hence the version) and
 * names per-step objects (invoices, charges, payment methods).
 */
export function stripePayload(
  kind: StripeKind,
  c: Customer,
  step: number,
  eventId: string,
  opts: StripeOptions = {},
): Obj {
  const text = fixtureText(`stripe/${kind}.json`)
    .replaceAll('cus_TestAcme01', c.stripeCustomerId)
    .replaceAll('001TestAcme0001IEA', c.salesforceAccountId)
    .replaceAll('"9000000001"', JSON.stringify(opts.zendeskOrganizationId ?? c.zendeskOrganizationId))
    .replaceAll('in_TestAcme', `in_bench${c.n}s${step}n`)
    .replaceAll('pm_TestVisa01', `pm_bench${c.n}s${step}`)
    .replaceAll('TestAcme', `bench${c.n}`)
    .replaceAll('Acme Test Co', c.name)
    // The fixtures spell the email several ways (case, blanks): normalization stays exercised.
    .replace(/[A-Za-z]+@Example\.com/gi, c.email);
  const body = JSON.parse(text) as Obj;
  body['id'] = eventId;
  body['created'] = versionSeconds(c.n, step) + (opts.createdOffset ?? 0);
  if (kind === 'customer.created' && opts.crossIds === false) set(body, 'data.object.metadata', {});
  if (kind === 'customer.subscription.updated') set(body, 'data.object.status', step % 5 === 0 ? 'past_due' : 'active');
  return body;
}

/**
 * A Stripe `invoice.paid` for a new invoice `invoiceId` of a customer, created at `createdSeconds`
 * (so it is the customer's newest), naming no other system: what bench/freshness sends, as Stripe posts it.
 */
export function stripeInvoicePaid(
  customer: { id: string; email: string },
  invoiceId: string,
  createdSeconds: number,
  eventId: string,
): string {
  const body = JSON.parse(
    fixtureText('stripe/invoice.paid.json')
      .replaceAll('in_TestAcme01', invoiceId)
      .replaceAll('cus_TestAcme01', customer.id),
  ) as Obj;
  body['id'] = eventId;
  body['created'] = createdSeconds;
  set(body, 'data.object.created', createdSeconds);
  // The customer's own billing email (the fixture's is one address: every customer would claim it).
  set(body, 'data.object.customer_email', customer.email);
  set(body, 'data.object.parent.subscription_details.metadata', {});
  return JSON.stringify(body);
}

// ---- Salesforce (CDC JSON) -----------------------------------------------------

function salesforceAccount(c: Customer, step: number): Obj {
  const body = JSON.parse(fixtureText('salesforce/account-cdc-update.json')) as Obj;
  const seconds = versionSeconds(c.n, step);
  set(body, 'ChangeEventHeader.recordIds', [c.salesforceAccountId]);
  set(body, 'ChangeEventHeader.changeType', step < 3 ? 'CREATE' : 'UPDATE');
  set(body, 'ChangeEventHeader.transactionKey', `bench-acct-${c.n}-${step}`);
  set(body, 'ChangeEventHeader.commitTimestamp', seconds * 1000);
  set(body, 'ChangeEventHeader.nulledFields', []);
  body['Name'] = c.name;
  body['Industry'] = ['Logistics', 'Retail', 'Software'][c.n % 3];
  body['Customer_Tier__c'] = ['Gold', 'Silver', 'Bronze'][(c.n + step) % 3];
  body['LastModifiedDate'] = iso(seconds);
  return body;
}

function salesforceContact(c: Customer, step: number): Obj {
  const body = JSON.parse(fixtureText('salesforce/contact-cdc-create.json')) as Obj;
  const seconds = versionSeconds(c.n, step);
  set(body, 'payload.ChangeEventHeader.recordIds', [c.salesforceContactId]);
  set(body, 'payload.ChangeEventHeader.transactionKey', `bench-contact-${c.n}-${step}`);
  set(body, 'payload.ChangeEventHeader.commitTimestamp', seconds * 1000);
  set(body, 'payload.AccountId', c.salesforceAccountId);
  set(body, 'payload.Email', c.email.toUpperCase());
  set(body, 'payload.LastModifiedDate', iso(seconds));
  set(body, 'payload.CreatedDate', iso(seconds));
  set(body, 'event.replayId', 10_000_000 + c.n * 100 + step);
  return body;
}

// ---- Zendesk (event-subscribed webhooks) ----------------------------------------

function zendeskOrganization(c: Customer, step: number): Obj {
  const body = JSON.parse(fixtureText('zendesk/organization.created.json')) as Obj;
  const at = iso(versionSeconds(c.n, step));
  body['id'] = `bench-zorg-${c.n}-${step}`;
  body['time'] = at;
  body['subject'] = `zen:organization:${c.zendeskOrganizationId}`;
  set(body, 'detail.id', c.zendeskOrganizationId);
  set(body, 'detail.name', c.name);
  set(body, 'detail.external_id', c.salesforceAccountId);
  set(body, 'detail.created_at', at);
  set(body, 'detail.updated_at', at);
  return body;
}

function zendeskUser(c: Customer, step: number): Obj {
  const body = JSON.parse(fixtureText('zendesk/user.created.json')) as Obj;
  const at = iso(versionSeconds(c.n, step));
  body['id'] = `bench-zuser-${c.n}-${step}`;
  body['time'] = at;
  body['subject'] = `zen:user:${c.zendeskUserId}`;
  set(body, 'detail.id', c.zendeskUserId);
  set(body, 'detail.email', ` ${c.email} `);
  set(body, 'detail.organization_id', c.zendeskOrganizationId);
  set(body, 'detail.created_at', at);
  set(body, 'detail.updated_at', at);
  return body;
}

function zendeskTicket(c: Customer, step: number): Obj {
  const body = JSON.parse(fixtureText('zendesk/ticket.status_changed.json')) as Obj;
  const at = iso(versionSeconds(c.n, step));
  const ticketId = String(5_000_000 + c.n * 10 + (step % 10));
  const [previous, current] = [
    ['NEW', 'OPEN'],
    ['OPEN', 'PENDING'],
    ['PENDING', 'SOLVED'],
  ][step % 3]!;
  body['id'] = `bench-zticket-${c.n}-${step}`;
  body['time'] = at;
  body['subject'] = `zen:ticket:${ticketId}`;
  set(body, 'detail.id', ticketId);
  set(body, 'detail.organization_id', c.zendeskOrganizationId);
  set(body, 'detail.requester_id', c.zendeskUserId);
  set(body, 'detail.submitter_id', c.zendeskUserId);
  set(body, 'detail.status', current);
  set(body, 'detail.updated_at', at);
  set(body, 'event.current', current);
  set(body, 'event.previous', previous);
  return body;
}

// ---- a customer's life, and a mixed stream of many customers -------------------

/**
 * Customer `c`'s events, `count` of them, as steps (a step of several events is
 * a burst: they sit next to each other in the queue, as Stripe sends them).
 * The first steps build two records and then merge them: a Stripe customer
 * (stripe + email keys), a Salesforce account that the Zendesk organization
 * joins through its external_id, then customer.updated whose metadata names
 * both — one merge per customer. Every `conflictEvery`-th customer's metadata
 * names another customer's organization instead: a recorded conflict.
 */
function customerSteps(n: number, count: number, customers: number, conflictEvery: number): Wire[][] {
  const c = customer(n);
  const stripe = (kind: StripeKind, step: number, opts: StripeOptions = {}): Wire => ({
    source: 'stripe',
    body: stripePayload(kind, c, step, `evt_bench${n}s${step}${kind.replaceAll('.', '')}`, opts),
  });
  const conflicting = conflictEvery > 0 && n % conflictEvery === conflictEvery - 1;
  const other = customer((n + 1) % customers);
  const script: Array<(step: number) => Wire[]> = [
    (s) => [stripe('customer.created', s, { crossIds: false })],
    (s) => [{ source: 'salesforce', body: salesforceAccount(c, s) }],
    (s) => [{ source: 'zendesk', body: zendeskOrganization(c, s) }],
    (s) => [stripe('customer.updated', s, conflicting ? { zendeskOrganizationId: other.zendeskOrganizationId } : {})],
    (s) => [{ source: 'salesforce', body: salesforceContact(c, s) }],
    (s) => [{ source: 'zendesk', body: zendeskUser(c, s) }],
    (s) => [stripe('invoice.finalized', s), stripe('invoice.paid', s, { createdOffset: 7 })],
    (s) => [stripe('customer.subscription.updated', s)],
    (s) => [{ source: 'zendesk', body: zendeskTicket(c, s) }],
  ];
  // Past the first pass: the everyday traffic of a known customer.
  const later: Array<(step: number) => Wire[]> = [
    (s) => [stripe('payment_method.attached', s)],
    (s) => [stripe('charge.refunded', s)],
    (s) => [stripe('customer.subscription.updated', s)],
    (s) => [stripe('invoice.finalized', s), stripe('invoice.paid', s, { createdOffset: 7 })],
    (s) => [{ source: 'zendesk', body: zendeskTicket(c, s) }],
    (s) => [{ source: 'salesforce', body: salesforceAccount(c, s) }],
    (s) => [stripe('customer.updated', s)],
  ];
  const steps: Wire[][] = [];
  let total = 0;
  for (let s = 0; total < count; s++) {
    const make = s < script.length ? script[s]! : later[(s - script.length) % later.length]!;
    const wires = make(s).slice(0, count - total);
    steps.push(wires);
    total += wires.length;
  }
  return steps;
}

/** Small, seeded PRNG: the same stream on every run (the stand-ins' own). */
const prng = seededRandom;

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * `total` wire payloads over `customers` customers: in rounds, step r of every
 * customer in a shuffled order, so a customer's events arrive in their order
 * but far apart, except bursts, which stay together.
 */
export function mixedStream(
  total: number,
  customers: number,
  opts: { seed?: number; conflictEvery?: number } = {},
): Wire[] {
  const random = prng(opts.seed ?? 42);
  const perCustomer = Array.from({ length: customers }, (_, n) =>
    customerSteps(
      n,
      Math.floor(total / customers) + (n < total % customers ? 1 : 0),
      customers,
      opts.conflictEvery ?? 0,
    ),
  );
  const rounds = Math.max(0, ...perCustomer.map((s) => s.length));
  const order = Array.from({ length: customers }, (_, n) => n);
  const out: Wire[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const n of shuffle(order, random)) out.push(...(perCustomer[n]![r] ?? []));
  }
  return out;
}

/** Runs a wire payload through its real parser; it must give exactly one SourceEvent. */
export function toSourceEvent(wire: Wire): SourceEvent {
  const results: ParseResult[] =
    wire.source === 'stripe'
      ? [parseStripeEvent(wire.body)]
      : wire.source === 'salesforce'
        ? parseSalesforceJson(wire.body, { clientId: 'portal-sync' })
        : [parseZendeskWebhook(wire.body, {})];
  const events = results.flatMap((r) => (r.kind === 'events' ? r.events : []));
  if (events.length !== 1 || results.length !== 1) {
    throw new Error(
      `bench fixture for ${wire.source} did not parse into one event: ${JSON.stringify(results.map((r) => (r.kind === 'events' ? r.kind : `${r.kind}: ${r.reason}`)))}`,
    );
  }
  return events[0]!;
}

/**
 * Stripe webhook bodies for the latency run: `count` events spread over
 * `customers` customers, kinds rotating, each a new event id under `tag`.
 */
export function stripeWebhookBodies(
  count: number,
  customers: number,
  tag: string,
): Array<{ eventId: string; body: string }> {
  return Array.from({ length: count }, (_, i) => {
    const c = customer(i % customers);
    const round = Math.floor(i / customers);
    const kind = STRIPE_KINDS[(round + c.n) % STRIPE_KINDS.length]!;
    const eventId = `evt_${tag}_${i}`;
    return { eventId, body: JSON.stringify(stripePayload(kind, c, round, eventId)) };
  });
}
