/**
 * A local stand-in for the Stripe API (`https://api.stripe.com/v1`), for end-to-end tests,
 * `portal-sync demo` and benchmarks. Point the real stripe SDK at it with
 * `createStripeClient(standIn.clientConfig)` (or STRIPE_SECRET_KEY / STRIPE_API_HOST /
 * STRIPE_API_PORT / STRIPE_API_PROTOCOL=http).
 *
 * What it keeps faithful, because the daemon and the SDK depend on it:
 * - secret-key auth (Bearer, or Basic with the key as user name), Stripe's error bodies
 *   (`{error:{type, code?, message, param?}}`: 401, 400, 404 `resource_missing`, 429
 *   `rate_limit`), and a `Request-Id` on every answer;
 * - list objects `{object:'list', data, has_more, url}` paged newest first by `limit` (1..100,
 *   default 10), `starting_after` / `ending_before`, `created[gt|gte|lt|lte]` and each list's own
 *   filters; unknown parameters are refused with 400, as Stripe does, so a caller's typo fails
 *   here rather than in production;
 * - objects rendered in the API version of the stripe SDK this repo pins (current_period_* on
 *   subscription items, an invoice's subscription under `parent.subscription_details`, no
 *   `invoice` on charges), typed with the SDK's own types;
 * - every change appends an Event (listed for 30 days by GET /v1/events, `data.object` as the
 *   object was then, `previous_attributes` on updates) and, with a webhook endpoint configured,
 *   POSTs it signed like Stripe (`Stripe-Signature: t=…,v1=…`), retrying with backoff when the
 *   endpoint fails; `dropWebhooks` loses a (seeded) fraction in transit, for reconciliation tests;
 * - read and write rate limits per second (Stripe: 100 live, 25 test): a plain `rate_limit` 429
 *   carries no `Stripe-Should-Retry`, so stripe-node does NOT retry it by itself (Stripe does not
 *   want rate limits hammered), while an object-lock 429 (`lock_timeout`, see failNext) carries
 *   `Stripe-Should-Retry: true`, which stripe-node retries.
 *
 * Scenario helpers (createCustomer, payInvoice, …) change state the way a dashboard user or
 * Stripe's billing engine would, with events and webhooks. seed* helpers change state silently
 * and fast (100,000 customers well under a second); rows are small and objects are rendered
 * only when asked for, and lists page by binary search over rows kept in creation order.
 */
import { createHmac, randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  FaultInjector,
  FixedWindowRateLimiter,
  listenOnLoopback,
  seededRandom,
  type FaultKind,
  type FaultOptions,
} from '../common.js';
import { escapeHtml } from '../../../sync/escape-html.js';
import {
  type StripeCustomer,
  type StripeDeletedCustomer,
  type StripeSubscription,
  type StripeInvoice,
  type StripePaymentMethod,
  type StripeCharge,
  type StripeEvent,
  type StripeObject,
  type StripeList,
  type Metadata,
  type StripeEventType,
  type SubscriptionStatus,
  type Json,
  STRIPE_STANDIN_API_VERSION,
  type Ranked,
  type StripeCustomerRow,
  type StripePriceRow,
  type StripeSubscriptionRow,
  type StripeInvoiceLineRow,
  type StripeInvoiceStatus,
  type StripeInvoiceRow,
  type StripePaymentMethodRow,
  type StripeChargeRow,
  type StripeEventRow,
  type StripeState,
  insertRanked,
  pageRows,
  invoiceTotal,
  invoicePrefix,
} from './state.js';
import {
  type StripeView,
  renderCustomer,
  renderSubscription,
  renderInvoice,
  renderPaymentMethod,
  renderCharge,
  renderEvent,
  deletedCustomer,
  renderObject,
  renderAccount,
  minimalPdf,
} from './render.js';
import {
  stripeErrors,
  HttpError,
  PAGING,
  rejectUnknown,
  integerParam,
  stringParam,
  arrayParam,
  createdParam,
  limitParam,
  isRecord,
  same,
  isPlainHash,
} from './params.js';

export * from './state.js';
export { renderAccount } from './render.js';
export { stripeErrors } from './params.js';

// ---------------------------------------------------------------------------------------------
// Options, inputs, records
// ---------------------------------------------------------------------------------------------

export interface StripeStandInOptions {
  /** The one key that passes auth (default: a fresh sk_test_ key). sk_live_ makes objects livemode. */
  secretKey?: string;
  /** The account that owns hosted invoice pages (default acct_ + a stable suffix). */
  accountId?: string;
  /**
   * A connected account of a Connect platform (stripe-connect.ts puts one behind the platform's API): its
   * events carry `account: accountId`, as the platform's Connect endpoint receives them.
   */
  connected?: boolean;
  /** The webhook endpoint: every event is POSTed there, signed with `webhookSecret` (several: one v1 each, as during a roll). */
  webhookUrl?: string;
  webhookSecret?: string | string[];
  /** Event types the endpoint subscribes to; `*` and `invoice.*` wildcards (default: everything). */
  enabledEvents?: string[];
  /** Fraction (0..1, seeded) of events whose webhook is lost in transit: kept in /v1/events, never POSTed. */
  dropWebhooks?: number;
  /** Delivery attempts per event (default 4), backoff from initialDelayMs doubling up to maxDelayMs, timeout per attempt. */
  webhookRetry?: { attempts?: number; initialDelayMs?: number; maxDelayMs?: number; timeoutMs?: number };
  /** Requests per second, reads and writes counted apart as Stripe does; 'test' = 25/25, 'live' = 100/100. Default: unlimited. */
  rate?: StripeRate | 'test' | 'live';
  /** That fraction of API calls (seeded) answer 500/503, reset the socket, or hang. */
  faults?: FaultOptions;
  /** Seed for ids and dropped webhooks (default 1). */
  seed?: number;
  /** Clock (ms) for `created` and the rate windows (default Date.now). Webhook signatures always use the real time. */
  now?: () => number;
  /** Origin of hosted invoice pages and PDFs (default: this stand-in, which serves them). */
  hostedOrigin?: string;
  /** Keep each delivery's body and signature in webhookDeliveries (default true; false for long benchmark runs). */
  keepDeliveryBodies?: boolean;
}

interface StripeRate {
  reads?: number;
  writes?: number;
}

interface StripeCall {
  method: string;
  /** `/v1/customers/cus_…`, without the query. */
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  /** 0 while pending, and for a reset or hung call. */
  status: number;
  requestId: string;
  at: number;
  fault?: FaultKind | 'failNext' | 'rate_limit';
}

interface StripeWebhookDelivery {
  eventId: string;
  type: string;
  attempt: number;
  at: number;
  /** The receiver's status; undefined when it could not be reached (see error). */
  status?: number;
  error?: string;
  /** The exact bytes POSTed and their signature header ('' with keepDeliveryBodies: false). */
  body: string;
  signature: string;
}

type StripeFailure = 'rate_limit' | 'lock_timeout' | 500 | 503 | 'reset' | 'timeout';

export interface StripePriceInput {
  id?: string;
  nickname?: string | null;
  product?: string;
  unit_amount: number | null;
  currency?: string;
  interval?: StripePriceRow['interval'];
  interval_count?: number;
  usage_type?: StripePriceRow['usageType'];
}

interface StripeCustomerInput {
  id?: string;
  email?: string | null;
  name?: string | null;
  description?: string | null;
  phone?: string | null;
  currency?: string | null;
  balance?: number;
  metadata?: Metadata;
  /** Unix seconds; default now. */
  created?: number;
}

interface StripeSubscriptionInput {
  id?: string;
  items: { price: StripePriceInput | string; quantity?: number }[];
  status?: SubscriptionStatus;
  currency?: string;
  collection_method?: StripeSubscriptionRow['collectionMethod'];
  days_until_due?: number;
  cancel_at_period_end?: boolean;
  trial_days?: number;
  metadata?: Metadata;
  default_payment_method?: string | null;
  created?: number;
}

interface StripeSubscriptionPatch {
  status?: SubscriptionStatus;
  cancel_at_period_end?: boolean;
  items?: StripeSubscriptionInput['items'];
  metadata?: Metadata;
  default_payment_method?: string | null;
}

interface StripeInvoiceInput {
  id?: string;
  /** Bill the subscription's items (one line each, for its current period). */
  subscription?: string;
  /** Or explicit lines (amounts in minor units). */
  lines?: { amount: number; description?: string; quantity?: number }[];
  currency?: string;
  collection_method?: StripeInvoiceRow['collectionMethod'];
  /** send_invoice: due this many days after finalization (default 30). */
  days_until_due?: number;
  billing_reason?: StripeInvoiceRow['billingReason'];
  description?: string | null;
  metadata?: Metadata;
  /** createInvoice: finalize at once (default true), as Stripe does for a subscription's first invoice. */
  finalize?: boolean;
  created?: number;
}

interface StripeSeedInvoiceInput extends Omit<StripeInvoiceInput, 'finalize'> {
  status?: StripeInvoiceStatus;
}

interface StripeSeedCustomerInput extends StripeCustomerInput {
  subscriptions?: StripeSubscriptionInput[];
  /** `subscription: true` on an invoice input bills the customer's first seeded subscription. */
  invoices?: (Omit<StripeSeedInvoiceInput, 'subscription'> & { subscription?: string | true })[];
}

export interface StripeStandIn {
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  host: string;
  port: number;
  secretKey: string;
  livemode: boolean;
  /** What createStripeClient takes (Config['stripe']); webhookSecrets are the endpoint's current secrets. */
  clientConfig: { secretKey: string; webhookSecrets: string[]; host: string; port: number; protocol: 'http' };
  /** The same as environment variables, for loadConfig or a child process. */
  env: { STRIPE_SECRET_KEY: string; STRIPE_API_HOST: string; STRIPE_API_PORT: string; STRIPE_API_PROTOCOL: 'http' };
  state: StripeState;
  calls: StripeCall[];
  webhookDeliveries: StripeWebhookDelivery[];
  /** Ids of events whose webhook was dropped in transit. */
  droppedWebhooks: string[];
  setFaults(faults: FaultOptions | null): void;
  setRate(rate: StripeRate | 'test' | 'live' | null): void;
  /** The next n API calls (matching `path` when given) fail that way instead of being handled. */
  failNext(n: number, failure: StripeFailure, path?: RegExp): void;
  /** Points webhooks elsewhere, or switches them off (null). */
  setWebhook(url: string | null, secret?: string | string[]): void;
  setDropWebhooks(fraction: number): void;

  createCustomer(input?: StripeCustomerInput): StripeCustomer;
  updateCustomer(id: string, patch: Omit<StripeCustomerInput, 'id' | 'created'>): StripeCustomer;
  deleteCustomer(id: string): StripeDeletedCustomer;
  createSubscription(customerId: string, input: StripeSubscriptionInput): StripeSubscription;
  updateSubscription(id: string, patch: StripeSubscriptionPatch): StripeSubscription;
  cancelSubscription(id: string, opts?: { atPeriodEnd?: boolean }): StripeSubscription;
  createInvoice(customerId: string, input?: StripeInvoiceInput): StripeInvoice;
  finalizeInvoice(id: string): StripeInvoice;
  payInvoice(id: string): StripeInvoice;
  /** The charge fails (default `card_declined`); a subscription invoice makes its subscription past_due. */
  failInvoicePayment(id: string, opts?: { code?: string; message?: string }): StripeInvoice;
  voidInvoice(id: string): StripeInvoice;
  attachPaymentMethod(
    customerId: string,
    input?: { brand?: string; last4?: string; makeDefault?: boolean },
  ): StripePaymentMethod;
  detachPaymentMethod(id: string): StripePaymentMethod;
  refundCharge(id: string, amount?: number): StripeCharge;

  /** Without events or webhooks, fast: the customers' ids, oldest first. */
  seedCustomers(n: number, make?: (i: number) => StripeSeedCustomerInput): string[];
  seedSubscription(customerId: string, input: StripeSubscriptionInput): StripeSubscriptionRow;
  seedInvoice(customerId: string, input?: StripeSeedInvoiceInput): StripeInvoiceRow;

  /** The object as GET would render it (undefined when unknown). */
  render(id: string): StripeObject | StripeDeletedCustomer | StripeEvent | undefined;
  /** The events, oldest first, as /v1/events renders them. */
  events(): StripeEvent[];
  /** Resolves once every webhook queued so far has been delivered or has given up (retries included). */
  flushWebhooks(): Promise<void>;
  close(): Promise<void>;
}

/** Stripe's previous_attributes: top-level keys that changed; nested hashes (metadata…) by sub-key; lists and arrays whole. */
function changedAttributes(before: Json, after: Json): Json | undefined {
  const out: Json = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = before[key];
    const a = after[key];
    if (same(a, b)) continue;
    out[key] = isPlainHash(b) && isPlainHash(a) ? (changedAttributes(b, a) ?? {}) : (b ?? null);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SECONDS_PER_DAY = 86_400;
const EVENT_RETENTION_SECONDS = 30 * SECONDS_PER_DAY;

function addInterval(unixSeconds: number, interval: StripePriceRow['interval'], count: number): number {
  const d = new Date(unixSeconds * 1000);
  if (interval === 'day') d.setUTCDate(d.getUTCDate() + count);
  else if (interval === 'week') d.setUTCDate(d.getUTCDate() + 7 * count);
  else if (interval === 'month') d.setUTCMonth(d.getUTCMonth() + count);
  else d.setUTCFullYear(d.getUTCFullYear() + count);
  return Math.floor(d.getTime() / 1000);
}

function eventTypeMatches(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

function rateOf(rate: StripeRate | 'test' | 'live' | null | undefined): StripeRate {
  if (rate === 'test') return { reads: 25, writes: 25 };
  if (rate === 'live') return { reads: 100, writes: 100 };
  return rate ?? {};
}

// ---------------------------------------------------------------------------------------------
// The stand-in
// ---------------------------------------------------------------------------------------------

export async function startStripeStandIn(opts: StripeStandInOptions = {}): Promise<StripeStandIn> {
  const now = opts.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const random = seededRandom(opts.seed ?? 1);
  const dropRandom = seededRandom((opts.seed ?? 1) ^ 0x5eed);
  const codes: number[] = [];
  // fromCharCode makes a flat string; `+=` would leave a rope per id, which costs memory at 100k rows.
  const randomChars = (n: number) => {
    codes.length = n;
    for (let i = 0; i < n; i++) codes[i] = ALNUM.charCodeAt(Math.floor(random() * ALNUM.length));
    return String.fromCharCode(...codes);
  };
  const secretKey = opts.secretKey ?? `sk_test_${randomUUID().replace(/-/g, '')}StandIn`;
  const livemode = secretKey.startsWith('sk_live_') || secretKey.startsWith('rk_live_');
  const accountId = opts.accountId ?? `acct_${randomChars(16)}`;
  const accountCreated = nowSeconds();
  const faults = new FaultInjector(opts.faults ?? null);
  const armed: { failure: StripeFailure; path?: RegExp }[] = [];
  let readLimiter: FixedWindowRateLimiter | undefined;
  let writeLimiter: FixedWindowRateLimiter | undefined;
  const setRate = (rate: StripeRate | 'test' | 'live' | null | undefined) => {
    const r = rateOf(rate);
    readLimiter = r.reads ? new FixedWindowRateLimiter({ max: r.reads, perMs: 1000 }, now) : undefined;
    writeLimiter = r.writes ? new FixedWindowRateLimiter({ max: r.writes, perMs: 1000 }, now) : undefined;
  };
  setRate(opts.rate);

  const state: StripeState = {
    customers: new Map(),
    subscriptions: new Map(),
    invoices: new Map(),
    paymentMethods: new Map(),
    charges: new Map(),
    prices: new Map(),
    events: new Map(),
    order: { customers: [], subscriptions: [], invoices: [], paymentMethods: [], charges: [], events: [] },
  };
  const calls: StripeCall[] = [];
  const webhookDeliveries: StripeWebhookDelivery[] = [];
  const droppedWebhooks: string[] = [];
  let seq = 0;
  const view: StripeView = {
    state,
    livemode,
    accountId,
    connected: Boolean(opts.connected),
    hostedOrigin: opts.hostedOrigin ?? '',
  }; // hostedOrigin known once listening
  const EMPTY: Metadata = Object.freeze({}) as Metadata;

  const taken = (id: string) =>
    state.customers.has(id) ||
    state.subscriptions.has(id) ||
    state.invoices.has(id) ||
    state.paymentMethods.has(id) ||
    state.charges.has(id) ||
    state.events.has(id);
  // Generated ids come from one seeded sequence, so they never repeat; only ids a caller chose
  // can collide with one, and only then is the check worth its cost (five map lookups per id).
  let callerChoseIds = false;
  const newId = (prefix: string, length = 14): string => {
    for (;;) {
      const id = `${prefix}_${randomChars(length)}`;
      if (!callerChoseIds || !taken(id)) return id;
    }
  };
  const claimId = (wanted: string | undefined, prefix: string): string => {
    if (wanted === undefined) return newId(prefix);
    if (taken(wanted)) throw new Error(`id ${wanted} is already in use`);
    callerChoseIds = true;
    return wanted;
  };
  type Owned = NonNullable<StripeCustomerRow['owned']>;
  /** Indexes live on the customer row: cheaper than a map per collection at 100,000 customers. */
  const own = <K extends keyof Owned>(customer: StripeCustomerRow, key: K, row: NonNullable<Owned[K]>[number]) => {
    const owned = (customer.owned ??= {});
    const rows = (owned[key] ??= []) as Ranked[];
    insertRanked(rows, row);
  };
  const ownedBy = <K extends keyof Owned>(customerId: string, key: K): NonNullable<Owned[K]> =>
    (state.customers.get(customerId)?.owned?.[key] ?? []) as NonNullable<Owned[K]>;

  // --- rows ------------------------------------------------------------------------------

  const customerOr = (id: string, kind = 'customer'): StripeCustomerRow => {
    const row = state.customers.get(id);
    if (!row) throw new HttpError(404, stripeErrors.missing(kind, id));
    return row;
  };
  const liveCustomer = (id: string): StripeCustomerRow => {
    const row = customerOr(id);
    if (row.deleted) throw new HttpError(404, stripeErrors.missing('customer', id));
    return row;
  };
  const subscriptionOr = (id: string): StripeSubscriptionRow => {
    const row = state.subscriptions.get(id);
    if (!row) throw new HttpError(404, stripeErrors.missing('subscription', id));
    return row;
  };
  const invoiceOr = (id: string): StripeInvoiceRow => {
    const row = state.invoices.get(id);
    if (!row) throw new HttpError(404, stripeErrors.missing('invoice', id));
    return row;
  };
  const paymentMethodOr = (id: string): StripePaymentMethodRow => {
    const row = state.paymentMethods.get(id);
    if (!row) throw new HttpError(404, stripeErrors.missing('PaymentMethod', id));
    return row;
  };
  const chargeOr = (id: string): StripeChargeRow => {
    const row = state.charges.get(id);
    if (!row) throw new HttpError(404, stripeErrors.missing('charge', id));
    return row;
  };

  const priceRow = (input: StripePriceInput | string, created: number): StripePriceRow => {
    if (typeof input === 'string') {
      const found = state.prices.get(input);
      if (!found) throw new HttpError(400, stripeErrors.missing('price', input, 'items[0][price]'));
      return found;
    }
    const existing = input.id === undefined ? undefined : state.prices.get(input.id);
    if (existing) return existing;
    const row: StripePriceRow = {
      id: input.id ?? newId('price'),
      created,
      nickname: input.nickname ?? null,
      product: input.product ?? newId('prod'),
      unitAmount: input.unit_amount,
      currency: input.currency ?? 'usd',
      interval: input.interval ?? 'month',
      intervalCount: input.interval_count ?? 1,
      usageType: input.usage_type ?? 'licensed',
    };
    state.prices.set(row.id, row);
    return row;
  };

  const newCustomer = (input: StripeCustomerInput): StripeCustomerRow => {
    const row: StripeCustomerRow = {
      id: claimId(input.id, 'cus'),
      created: input.created ?? nowSeconds(),
      seq: ++seq,
      email: input.email ?? null,
      name: input.name ?? null,
      description: input.description ?? null,
      phone: input.phone ?? null,
      currency: input.currency ?? null,
      balance: input.balance ?? 0,
      delinquent: false,
      metadata: input.metadata ? { ...input.metadata } : EMPTY,
      defaultPaymentMethod: null,
      nextInvoiceSequence: 1,
      deleted: false,
      owned: undefined,
    };
    state.customers.set(row.id, row);
    insertRanked(state.order.customers, row);
    return row;
  };

  const newSubscription = (customer: StripeCustomerRow, input: StripeSubscriptionInput): StripeSubscriptionRow => {
    if (input.items.length === 0)
      throw new HttpError(400, stripeErrors.invalid('Missing required param: items.', 'items'));
    const created = input.created ?? nowSeconds();
    const items = input.items.map((item) => ({
      id: newId('si'),
      created,
      price: priceRow(item.price, created),
      quantity: item.quantity ?? 1,
    }));
    const first = items[0]!.price;
    const trialEnd = input.trial_days ? created + input.trial_days * SECONDS_PER_DAY : null;
    const row: StripeSubscriptionRow = {
      id: claimId(input.id, 'sub'),
      created,
      seq: ++seq,
      customer: customer.id,
      status: input.status ?? (trialEnd ? 'trialing' : 'active'),
      currency: input.currency ?? first.currency,
      collectionMethod: input.collection_method ?? 'charge_automatically',
      daysUntilDue: input.collection_method === 'send_invoice' ? (input.days_until_due ?? 30) : null,
      cancelAtPeriodEnd: input.cancel_at_period_end ?? false,
      canceledAt: null,
      endedAt: null,
      startDate: created,
      periodStart: created,
      periodEnd: trialEnd ?? addInterval(created, first.interval, first.intervalCount),
      trialStart: trialEnd ? created : null,
      trialEnd,
      metadata: input.metadata ? { ...input.metadata } : EMPTY,
      latestInvoice: null,
      defaultPaymentMethod: input.default_payment_method ?? null,
      items,
    };
    state.subscriptions.set(row.id, row);
    insertRanked(state.order.subscriptions, row);
    own(customer, 'subscriptions', row);
    return row;
  };

  const newInvoice = (customer: StripeCustomerRow, input: StripeInvoiceInput): StripeInvoiceRow => {
    const created = input.created ?? nowSeconds();
    const subscription = input.subscription === undefined ? undefined : subscriptionOr(input.subscription);
    const lines: StripeInvoiceLineRow[] = input.lines
      ? input.lines.map((l) => ({
          id: newId('il'),
          amount: l.amount,
          description: l.description ?? null,
          quantity: l.quantity ?? 1,
          price: null,
          subscriptionItem: null,
          periodStart: created,
          periodEnd: created,
        }))
      : (subscription?.items ?? []).map((item) => ({
          id: newId('il'),
          amount: (item.price.unitAmount ?? 0) * item.quantity,
          description: null, // rendered from the price: one string less per seeded invoice
          quantity: item.quantity,
          price: item.price,
          subscriptionItem: item.id,
          periodStart: subscription!.periodStart,
          periodEnd: subscription!.periodEnd,
        }));
    const row: StripeInvoiceRow = {
      id: claimId(input.id, 'in'),
      created,
      seq: ++seq,
      customer: customer.id,
      subscription: subscription?.id ?? null,
      number: null,
      status: 'draft',
      currency: input.currency ?? subscription?.currency ?? customer.currency ?? 'usd',
      collectionMethod: input.collection_method ?? subscription?.collectionMethod ?? 'charge_automatically',
      dueDate: null,
      lines,
      amountPaid: 0,
      attemptCount: 0,
      attempted: false,
      nextPaymentAttempt: null,
      finalizedAt: null,
      paidAt: null,
      voidedAt: null,
      markedUncollectibleAt: null,
      periodStart: subscription?.periodStart ?? created,
      periodEnd: subscription?.periodStart ?? created,
      billingReason:
        input.billing_reason ??
        (subscription ? (subscription.latestInvoice ? 'subscription_cycle' : 'subscription_create') : 'manual'),
      description: input.description ?? null,
      metadata: input.metadata ? { ...input.metadata } : EMPTY,
    };
    state.invoices.set(row.id, row);
    insertRanked(state.order.invoices, row);
    own(customer, 'invoices', row);
    if (subscription) subscription.latestInvoice = row.id;
    return row;
  };

  /** draft → open: a number, hosted page and PDF, and a due date for send_invoice. */
  const finalizeRow = (i: StripeInvoiceRow, at: number, daysUntilDue?: number) => {
    const customer = customerOr(i.customer);
    i.status = 'open';
    i.finalizedAt = at;
    i.number = `${invoicePrefix(customer.id)}-${String(customer.nextInvoiceSequence++).padStart(4, '0')}`;
    if (i.collectionMethod === 'send_invoice') {
      const days =
        daysUntilDue ?? (i.subscription ? state.subscriptions.get(i.subscription)?.daysUntilDue : undefined) ?? 30;
      i.dueDate = at + days * SECONDS_PER_DAY;
    }
  };

  const newCharge = (
    i: StripeInvoiceRow,
    status: StripeChargeRow['status'],
    failure?: { code: string; message: string },
  ): StripeChargeRow => {
    const customer = customerOr(i.customer);
    const row: StripeChargeRow = {
      id: newId('ch', 24),
      created: nowSeconds(),
      seq: ++seq,
      customer: customer.id,
      invoice: i.id,
      amount: invoiceTotal(i) - i.amountPaid,
      amountRefunded: 0,
      currency: i.currency,
      status,
      paymentMethod:
        (i.subscription ? state.subscriptions.get(i.subscription)?.defaultPaymentMethod : null) ??
        customer.defaultPaymentMethod,
      failureCode: failure?.code ?? null,
      failureMessage: failure?.message ?? null,
      metadata: EMPTY,
    };
    state.charges.set(row.id, row);
    insertRanked(state.order.charges, row);
    own(customer, 'charges', row);
    return row;
  };

  // --- events and webhooks ---------------------------------------------------------------

  let webhookUrl = opts.webhookUrl ?? null;
  let webhookSecrets = [opts.webhookSecret ?? []].flat();
  let dropFraction = opts.dropWebhooks ?? 0;
  const enabledEvents = opts.enabledEvents ?? ['*'];
  const retry = { attempts: 4, initialDelayMs: 200, maxDelayMs: 5_000, timeoutMs: 10_000, ...opts.webhookRetry };
  const abort = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const retryTimers = new Map<NodeJS.Timeout, () => void>();
  let firstAttempts: Promise<void> = Promise.resolve();
  let closed = false;

  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  const signatureHeader = (payload: string): string => {
    const t = Math.floor(Date.now() / 1000); // Stripe signs at delivery time; receivers compare with their own clock
    const v1 = webhookSecrets.map(
      (s) => `v1=${createHmac('sha256', s).update(`${t}.${payload}`, 'utf8').digest('hex')}`,
    );
    // Test-mode events carry an extra v0 signature made with another key; receivers must ignore it.
    const v0 = livemode
      ? []
      : [`v0=${createHmac('sha256', `v0:${accountId}`).update(`${t}.${payload}`, 'utf8').digest('hex')}`];
    return [`t=${t}`, ...v1, ...v0].join(',');
  };

  const attemptDelivery = async (row: StripeEventRow, attempt: number): Promise<void> => {
    if (closed || !webhookUrl || webhookSecrets.length === 0) return;
    const body = JSON.stringify(renderEvent(view, row), null, 2);
    const signature = signatureHeader(body);
    const kept = opts.keepDeliveryBodies !== false;
    const record: StripeWebhookDelivery = {
      eventId: row.id,
      type: row.type,
      attempt,
      at: Date.now(),
      body: kept ? body : '',
      signature: kept ? signature : '',
    };
    webhookDeliveries.push(record);
    try {
      const res = await fetch(webhookUrl, {
        method: 'POST',
        body,
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(retry.timeoutMs)]),
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-cache',
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'stripe-signature': signature,
        },
      });
      record.status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
    }
    if (record.status !== undefined && record.status >= 200 && record.status < 300) {
      row.pendingWebhooks = 0;
      row.deliverySuccess = true;
      return;
    }
    row.deliverySuccess = false;
    if (attempt >= retry.attempts || closed) return;
    const delay = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1));
    track(
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          retryTimers.delete(timer);
          attemptDelivery(row, attempt + 1).then(resolve, resolve);
        }, delay);
        retryTimers.set(timer, resolve);
      }),
    );
  };

  const deliver = (row: StripeEventRow) => {
    if (!webhookUrl || webhookSecrets.length === 0 || !eventTypeMatches(enabledEvents, row.type)) return;
    row.pendingWebhooks = 1;
    if (dropRandom() < dropFraction) {
      droppedWebhooks.push(row.id);
      return;
    }
    // First attempts go out in event order; retries run on their own clock, as Stripe's do.
    const attempt = firstAttempts.then(() => attemptDelivery(row, 1));
    firstAttempts = attempt.catch(() => undefined);
    track(attempt);
  };

  const AUTOMATIC = { id: null, idempotency_key: null };
  /** The request that caused the events being emitted (an API call), or null for Stripe's own actions. */
  let currentRequest: StripeEventRow['request'] | null = null;

  const emit = (type: StripeEventType, object: StripeObject, previous?: Json): StripeEventRow => {
    const row: StripeEventRow = {
      id: newId('evt', 24),
      created: nowSeconds(),
      seq: ++seq,
      type,
      object,
      ...(previous && { previous }),
      request: currentRequest ?? AUTOMATIC,
      pendingWebhooks: 0,
    };
    state.events.set(row.id, row);
    insertRanked(state.order.events, row);
    deliver(row);
    return row;
  };
  /** Applies `change`, then emits `type` with what changed (nothing changed: no event). */
  const changeAndEmit = <R>(
    row: R,
    draw: (r: R) => StripeObject,
    change: () => void,
    type: StripeEventType,
  ): StripeObject => {
    const before = draw(row) as unknown as Json;
    change();
    const after = draw(row);
    const previous = changedAttributes(before, after as unknown as Json);
    if (previous) emit(type, after, previous);
    return after;
  };

  // --- scenario helpers ------------------------------------------------------------------

  const createCustomer = (input: StripeCustomerInput = {}): StripeCustomer => {
    const row = newCustomer(input);
    const rendered = renderCustomer(view, row);
    emit('customer.created', rendered);
    return rendered;
  };

  const updateCustomer = (id: string, patch: Omit<StripeCustomerInput, 'id' | 'created'>): StripeCustomer =>
    changeAndEmit(
      liveCustomer(id),
      (r) => renderCustomer(view, r),
      () => applyCustomerPatch(liveCustomer(id), patch),
      'customer.updated',
    ) as StripeCustomer;

  const applyCustomerPatch = (row: StripeCustomerRow, patch: Omit<StripeCustomerInput, 'id' | 'created'>) => {
    if (patch.email !== undefined) row.email = patch.email;
    if (patch.name !== undefined) row.name = patch.name;
    if (patch.description !== undefined) row.description = patch.description;
    if (patch.phone !== undefined) row.phone = patch.phone;
    if (patch.currency !== undefined) row.currency = patch.currency;
    if (patch.balance !== undefined) row.balance = patch.balance;
    if (patch.metadata !== undefined) {
      // Stripe merges metadata; an empty value removes the key.
      const merged: Metadata = { ...row.metadata };
      for (const [k, v] of Object.entries(patch.metadata)) {
        if (v === '') delete merged[k];
        else merged[k] = v;
      }
      row.metadata = merged;
    }
  };

  const endSubscription = (s: StripeSubscriptionRow) => {
    const at = nowSeconds();
    const rendered = changeAndEmit(
      s,
      (r) => renderSubscription(view, r),
      () => {
        s.status = 'canceled';
        s.canceledAt = at;
        s.endedAt = at;
      },
      'customer.subscription.deleted',
    );
    return rendered as StripeSubscription;
  };

  const deleteCustomer = (id: string): StripeDeletedCustomer => {
    const row = liveCustomer(id);
    // Deleting a customer cancels its subscriptions at once, each with its own event.
    for (const s of ownedBy(id, 'subscriptions')) {
      if (s.status !== 'canceled' && s.status !== 'incomplete_expired') endSubscription(s);
    }
    const last = renderCustomer(view, row);
    row.deleted = true;
    emit('customer.deleted', last);
    return deletedCustomer(id);
  };

  const createSubscription = (customerId: string, input: StripeSubscriptionInput): StripeSubscription => {
    const row = newSubscription(liveCustomer(customerId), input);
    const rendered = renderSubscription(view, row);
    emit('customer.subscription.created', rendered);
    return rendered;
  };

  const updateSubscription = (id: string, patch: StripeSubscriptionPatch): StripeSubscription => {
    const s = subscriptionOr(id);
    if (s.status === 'canceled')
      throw new HttpError(
        400,
        stripeErrors.invalid('A canceled subscription can only update its cancellation_details and metadata.'),
      );
    const wasPaused = s.status === 'paused';
    const rendered = changeAndEmit(
      s,
      (r) => renderSubscription(view, r),
      () => {
        if (patch.status !== undefined) s.status = patch.status;
        if (patch.cancel_at_period_end !== undefined) s.cancelAtPeriodEnd = patch.cancel_at_period_end;
        if (patch.default_payment_method !== undefined) s.defaultPaymentMethod = patch.default_payment_method;
        if (patch.metadata !== undefined) s.metadata = { ...s.metadata, ...patch.metadata };
        if (patch.items !== undefined) {
          const at = nowSeconds();
          s.items = patch.items.map((item) => ({
            id: newId('si'),
            created: at,
            price: priceRow(item.price, at),
            quantity: item.quantity ?? 1,
          }));
        }
      },
      'customer.subscription.updated',
    ) as StripeSubscription;
    // Stripe announces entering and leaving `paused` with their own events too.
    if (!wasPaused && s.status === 'paused') emit('customer.subscription.paused', rendered);
    if (wasPaused && s.status !== 'paused') emit('customer.subscription.resumed', rendered);
    return rendered;
  };

  const cancelSubscription = (id: string, cancelOpts: { atPeriodEnd?: boolean } = {}): StripeSubscription => {
    const s = subscriptionOr(id);
    if (cancelOpts.atPeriodEnd) return updateSubscription(id, { cancel_at_period_end: true });
    if (s.status === 'canceled') return renderSubscription(view, s);
    return endSubscription(s);
  };

  const createInvoice = (customerId: string, input: StripeInvoiceInput = {}): StripeInvoice => {
    const row = newInvoice(liveCustomer(customerId), input);
    emit('invoice.created', renderInvoice(view, row));
    if (input.finalize !== false) finalizeRowAndEmit(row, input.days_until_due);
    return renderInvoice(view, row);
  };

  const finalizeRowAndEmit = (row: StripeInvoiceRow, daysUntilDue?: number) => {
    if (row.status !== 'draft')
      throw new HttpError(
        400,
        stripeErrors.invalid(
          `This invoice is already finalized, you can't re-finalize a non-draft invoice.`,
          undefined,
          'invoice_not_editable',
        ),
      );
    finalizeRow(row, nowSeconds(), daysUntilDue);
    emit('invoice.finalized', renderInvoice(view, row));
  };

  const finalizeInvoice = (id: string): StripeInvoice => {
    finalizeRowAndEmit(invoiceOr(id));
    return renderInvoice(view, invoiceOr(id));
  };

  const openInvoice = (id: string): StripeInvoiceRow => {
    const row = invoiceOr(id);
    if (row.status === 'draft') finalizeRowAndEmit(row);
    if (row.status !== 'open')
      throw new HttpError(400, stripeErrors.invalid(`Invoice is already ${row.status}`, undefined, 'invoice_not_open'));
    return row;
  };

  /** The customer's delinquency follows its latest payment outcome, as Stripe's does. */
  const setDelinquent = (customerId: string, delinquent: boolean) => {
    const c = state.customers.get(customerId);
    if (!c || c.deleted || c.delinquent === delinquent) return;
    changeAndEmit(
      c,
      (r) => renderCustomer(view, r),
      () => (c.delinquent = delinquent),
      'customer.updated',
    );
  };
  const setSubscriptionStatus = (
    subscriptionId: string | null,
    from: readonly SubscriptionStatus[],
    to: SubscriptionStatus,
  ) => {
    const s = subscriptionId === null ? undefined : state.subscriptions.get(subscriptionId);
    if (s && from.includes(s.status)) updateSubscription(s.id, { status: to });
  };

  const payInvoice = (id: string): StripeInvoice => {
    const row = openInvoice(id);
    const charge = newCharge(row, 'succeeded');
    emit('charge.succeeded', renderCharge(view, charge));
    const at = nowSeconds();
    row.amountPaid = invoiceTotal(row);
    row.attemptCount += 1;
    row.attempted = true;
    row.nextPaymentAttempt = null;
    row.paidAt = at;
    row.status = 'paid';
    const rendered = renderInvoice(view, row);
    emit('invoice.paid', rendered);
    emit('invoice.payment_succeeded', rendered);
    setSubscriptionStatus(row.subscription, ['past_due', 'unpaid', 'incomplete'], 'active');
    setDelinquent(row.customer, false);
    return rendered;
  };

  const failInvoicePayment = (id: string, failOpts: { code?: string; message?: string } = {}): StripeInvoice => {
    const row = openInvoice(id);
    const charge = newCharge(row, 'failed', {
      code: failOpts.code ?? 'card_declined',
      message: failOpts.message ?? 'Your card was declined.',
    });
    emit('charge.failed', renderCharge(view, charge));
    row.attemptCount += 1;
    row.attempted = true;
    // Smart Retries: the next attempt a few days later.
    row.nextPaymentAttempt = nowSeconds() + 3 * SECONDS_PER_DAY;
    const rendered = renderInvoice(view, row);
    emit('invoice.payment_failed', rendered);
    // A failed subscription payment makes the subscription past_due (incomplete for its first invoice).
    setSubscriptionStatus(
      row.subscription,
      ['active', 'trialing'],
      row.billingReason === 'subscription_create' ? 'incomplete' : 'past_due',
    );
    setDelinquent(row.customer, true);
    return rendered;
  };

  const voidInvoice = (id: string): StripeInvoice => {
    const row = openInvoice(id);
    row.status = 'void';
    row.voidedAt = nowSeconds();
    row.nextPaymentAttempt = null;
    const rendered = renderInvoice(view, row);
    emit('invoice.voided', rendered);
    return rendered;
  };

  const attachPaymentMethod = (
    customerId: string,
    input: { brand?: string; last4?: string; makeDefault?: boolean } = {},
  ): StripePaymentMethod => {
    const customer = liveCustomer(customerId);
    const row: StripePaymentMethodRow = {
      id: newId('pm', 24),
      created: nowSeconds(),
      seq: ++seq,
      customer: customer.id,
      brand: input.brand ?? 'visa',
      last4: input.last4 ?? '4242',
      expMonth: 12,
      expYear: new Date(now()).getUTCFullYear() + 3,
      metadata: EMPTY,
    };
    state.paymentMethods.set(row.id, row);
    insertRanked(state.order.paymentMethods, row);
    own(customer, 'paymentMethods', row);
    const rendered = renderPaymentMethod(view, row);
    emit('payment_method.attached', rendered);
    if (input.makeDefault)
      changeAndEmit(
        customer,
        (r) => renderCustomer(view, r),
        () => (customer.defaultPaymentMethod = row.id),
        'customer.updated',
      );
    return rendered;
  };

  const detachPaymentMethod = (id: string): StripePaymentMethod => {
    const row = paymentMethodOr(id);
    if (row.customer === null)
      throw new HttpError(
        400,
        stripeErrors.invalid(
          'The payment method you provided is not attached to a customer so detachment is impossible.',
        ),
      );
    const customer = state.customers.get(row.customer);
    const rendered = changeAndEmit(
      row,
      (r) => renderPaymentMethod(view, r),
      () => (row.customer = null),
      'payment_method.detached',
    ) as StripePaymentMethod;
    if (customer && customer.defaultPaymentMethod === id)
      changeAndEmit(
        customer,
        (r) => renderCustomer(view, r),
        () => (customer.defaultPaymentMethod = null),
        'customer.updated',
      );
    return rendered;
  };

  const refundCharge = (id: string, amount?: number): StripeCharge => {
    const row = chargeOr(id);
    if (row.status !== 'succeeded')
      throw new HttpError(
        400,
        stripeErrors.invalid(`Charge ${id} has not been captured.`, undefined, 'charge_not_refundable'),
      );
    const refund = amount ?? row.amount - row.amountRefunded;
    if (refund <= 0 || row.amountRefunded + refund > row.amount)
      throw new HttpError(
        400,
        stripeErrors.invalid(`Charge ${id} has already been refunded.`, undefined, 'charge_already_refunded'),
      );
    return changeAndEmit(
      row,
      (r) => renderCharge(view, r),
      () => (row.amountRefunded += refund),
      'charge.refunded',
    ) as StripeCharge;
  };

  // --- silent seeding --------------------------------------------------------------------

  const seedInvoice = (customerId: string, input: StripeSeedInvoiceInput = {}): StripeInvoiceRow => {
    const row = newInvoice(customerOr(customerId), input);
    const status = input.status ?? 'open';
    if (status === 'draft') return row;
    finalizeRow(row, row.created, input.days_until_due);
    if (status === 'paid') {
      row.amountPaid = invoiceTotal(row);
      row.attemptCount = 1;
      row.attempted = true;
      row.paidAt = row.created;
    } else if (status === 'void') {
      row.voidedAt = row.created;
    } else if (status === 'uncollectible') {
      row.markedUncollectibleAt = row.created;
    }
    row.status = status;
    return row;
  };

  const seedCustomers = (n: number, make?: (i: number) => StripeSeedCustomerInput): string[] => {
    const ids: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const input = make?.(i) ?? {};
      const customer = newCustomer(input);
      ids[i] = customer.id;
      const subs = (input.subscriptions ?? []).map((s) => newSubscription(customer, s));
      for (const inv of input.invoices ?? []) {
        const subscription = inv.subscription === true ? subs[0]?.id : inv.subscription;
        seedInvoice(customer.id, {
          ...inv,
          ...(subscription !== undefined ? { subscription } : { subscription: undefined }),
        } as StripeSeedInvoiceInput);
      }
    }
    return ids;
  };

  // ---------------------------------------------------------------------------------------
  // HTTP
  // ---------------------------------------------------------------------------------------

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'extended');
  const hung = new Set<Response>();
  const idempotent = new Map<string, { method: string; path: string; status: number; body: unknown }>();

  const send = (res: Response, status: number, body: unknown) => {
    // Stripe's API answers pretty-printed JSON.
    res
      .status(status)
      .type('application/json')
      .send(`${JSON.stringify(body, null, 2)}\n`);
  };

  const keyOf = (header: string | undefined): string | undefined => {
    if (!header) return undefined;
    const bearer = /^Bearer\s+(\S+)$/i.exec(header);
    if (bearer) return bearer[1];
    const basic = /^Basic\s+(\S+)$/i.exec(header);
    if (basic?.[1]) return Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0];
    return header;
  };

  const failWith = (req: Request, res: Response, failure: StripeFailure | FaultKind): void => {
    if (failure === 'reset') return void req.socket.destroy();
    if (failure === 'timeout') {
      hung.add(res); // never answered; close() destroys the socket
      res.once('close', () => hung.delete(res));
      return;
    }
    if (failure === 'rate_limit') return send(res, 429, stripeErrors.rateLimit());
    if (failure === 'lock_timeout') {
      res.setHeader('Stripe-Should-Retry', 'true');
      return send(res, 429, stripeErrors.lockTimeout());
    }
    send(res, Number(failure), stripeErrors.apiError());
  };

  // Gatekeeping for /v1: call log, Request-Id, auth, rate limit, failNext, faults; before any body is read.
  app.use('/v1', (req: Request, res: Response, next: NextFunction) => {
    const q = req.originalUrl.indexOf('?');
    const path = q < 0 ? req.originalUrl : req.originalUrl.slice(0, q);
    const requestId = `req_${randomChars(14)}`;
    const call: StripeCall = {
      method: req.method,
      path,
      query: q < 0 ? '' : req.originalUrl.slice(q + 1),
      status: 0,
      requestId,
      at: now(),
    };
    calls.push(call);
    res.once('finish', () => {
      call.status = res.statusCode;
    });
    res.setHeader('Request-Id', requestId);
    res.setHeader('Stripe-Version', STRIPE_STANDIN_API_VERSION);
    res.setHeader('Cache-Control', 'no-cache, no-store');
    res.locals.requestId = requestId;

    const key = keyOf(req.get('authorization'));
    if (!key) return send(res, 401, stripeErrors.noKey());
    if (key !== secretKey) return send(res, 401, stripeErrors.badKey(key));
    // Stripe-Account names the account a request acts on; an account that is no platform may only name itself
    // (a platform's front, stripe-connect.ts, routes the header to the connected account's own stand-in).
    const onBehalf = req.get('stripe-account');
    if (onBehalf !== undefined && onBehalf !== accountId) return send(res, 403, stripeErrors.notPlatform());

    const write = req.method !== 'GET' && req.method !== 'HEAD';
    const limiter = write ? writeLimiter : readLimiter;
    if (limiter && !limiter.take().allowed) {
      call.fault = 'rate_limit';
      return failWith(req, res, 'rate_limit');
    }
    // Both are drawn on every call, so the fault sequence does not depend on failNext.
    const fault = faults.draw();
    const armedAt = armed.findIndex((a) => !a.path || a.path.test(path));
    if (armedAt >= 0) {
      const [failure] = armed.splice(armedAt, 1);
      call.fault = 'failNext';
      return failWith(req, res, failure!.failure);
    }
    if (fault) {
      call.fault = fault;
      return failWith(req, res, fault);
    }
    next();
  });
  app.use('/v1', express.urlencoded({ extended: true, limit: '1mb' }));

  const api = express.Router();
  app.use('/v1', api);
  type Params = Json;
  const query = (req: Request): Params => (isRecord(req.query) ? (req.query as Params) : {});
  const form = (req: Request): Params => (isRecord(req.body) ? (req.body as Params) : {});
  const param = (req: Request, name: string): string => String(req.params[name] ?? '');

  /** Replaces ids with objects along each `expand[]` path (`data.` prefixed on lists), as Stripe does. */
  const expand = (target: unknown, paths: string[], list: boolean): void => {
    for (const path of paths) {
      const parts = path.split('.');
      if (list) {
        if (parts[0] !== 'data')
          throw new HttpError(
            400,
            stripeErrors.invalid(
              `This property cannot be expanded (${parts[0]}). You may want to try expanding 'data.${path}' instead.`,
              'expand',
            ),
          );
        for (const item of (target as StripeList<Json>).data) expandPath(item, parts.slice(1), path);
      } else expandPath(target, parts, path);
    }
  };
  const expandPath = (node: unknown, parts: string[], whole: string): void => {
    if (!isRecord(node) || parts.length === 0) return;
    const [head, ...rest] = parts as [string, ...string[]];
    if (!(head in node))
      throw new HttpError(400, stripeErrors.invalid(`This property cannot be expanded (${whole}).`, 'expand'));
    const value = node[head];
    if (rest.length > 0) return expandPath(value, rest, whole);
    if (value === null || isRecord(value)) return;
    if (typeof value !== 'string')
      throw new HttpError(400, stripeErrors.invalid(`This property cannot be expanded (${whole}).`, 'expand'));
    const object = renderObject(view, value);
    if (object) node[head] = object;
  };

  const retrieve = (req: Request, res: Response, object: unknown) => {
    const q = query(req);
    rejectUnknown(q, ['expand']);
    expand(object, arrayParam(q['expand'], 'expand'), false);
    send(res, 200, object);
  };

  const cursorRow = (
    collection: Map<string, Ranked>,
    value: unknown,
    name: string,
    kind: string,
  ): Ranked | undefined => {
    const id = stringParam(value, name);
    if (id === undefined || id === '') return undefined;
    const row = collection.get(id);
    if (!row) throw new HttpError(400, stripeErrors.missing(kind, id, name));
    return row;
  };

  const list = <T extends Ranked>(
    req: Request,
    res: Response,
    spec: {
      url: string;
      allowed: readonly string[];
      collection: Map<string, T>;
      kind: string;
      rows: readonly T[];
      keep?: (row: T) => boolean;
      draw: (row: T) => unknown;
    },
  ) => {
    const q = query(req);
    rejectUnknown(q, [...PAGING, ...spec.allowed]);
    if (q['starting_after'] !== undefined && q['ending_before'] !== undefined) {
      throw new HttpError(
        400,
        stripeErrors.invalid('You may only specify one of these parameters: ending_before, starting_after.'),
      );
    }
    const limit = limitParam(q['limit']);
    const startingAfter = cursorRow(spec.collection, q['starting_after'], 'starting_after', spec.kind);
    const endingBefore = cursorRow(spec.collection, q['ending_before'], 'ending_before', spec.kind);
    const created = spec.allowed.includes('created') ? createdParam(q['created']) : undefined;
    const { data, hasMore } = pageRows(
      spec.rows,
      {
        limit,
        ...(startingAfter && { startingAfter }),
        ...(endingBefore && { endingBefore }),
        ...(created && { created }),
      },
      spec.keep ?? (() => true),
    );
    const body: StripeList<unknown> = { object: 'list', data: data.map(spec.draw), has_more: hasMore, url: spec.url };
    expand(body, arrayParam(q['expand'], 'expand'), true);
    send(res, 200, body);
  };

  // Every handler is synchronous and throws HttpError; express 5 passes it to the error handler.
  const withRequest = (req: Request, res: Response, fn: () => unknown) => {
    const key = req.get('idempotency-key');
    const path = req.originalUrl.split('?')[0] ?? '';
    if (key) {
      const seen = idempotent.get(key);
      if (seen) {
        if (seen.path !== path || seen.method !== req.method) {
          throw new HttpError(
            400,
            stripeErrors.idempotency(
              `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${seen.method} ${seen.path}' vs '${req.method} ${path}'). Try using a key other than '${key}' if you meant to execute a different request.`,
            ),
          );
        }
        res.setHeader('Idempotent-Replayed', 'true');
        return send(res, seen.status, seen.body);
      }
    }
    currentRequest = { id: String(res.locals.requestId), idempotency_key: key ?? null };
    try {
      const body = fn();
      if (key) idempotent.set(key, { method: req.method, path, status: 200, body });
      send(res, 200, body);
    } finally {
      currentRequest = null;
    }
  };

  const customerInput = (p: Params): Omit<StripeCustomerInput, 'id' | 'created'> => {
    rejectUnknown(p, ['email', 'name', 'description', 'phone', 'balance', 'metadata', 'expand']);
    const metadata = p['metadata'];
    if (metadata !== undefined && metadata !== '' && !isRecord(metadata))
      throw new HttpError(400, stripeErrors.invalid('Invalid hash', 'metadata'));
    return {
      ...(p['email'] !== undefined && { email: stringParam(p['email'], 'email') || null }),
      ...(p['name'] !== undefined && { name: stringParam(p['name'], 'name') || null }),
      ...(p['description'] !== undefined && { description: stringParam(p['description'], 'description') || null }),
      ...(p['phone'] !== undefined && { phone: stringParam(p['phone'], 'phone') || null }),
      ...(p['balance'] !== undefined && { balance: integerParam(p['balance'], 'balance') }),
      ...(isRecord(metadata) && {
        metadata: Object.fromEntries(
          Object.entries(metadata).map(([k, v]) => [k, stringParam(v, `metadata[${k}]`) ?? '']),
        ),
      }),
    };
  };

  // customers
  api.get('/customers', (req, res) => {
    const email = stringParam(query(req)['email'], 'email');
    list(req, res, {
      url: '/v1/customers',
      allowed: ['created', 'email', 'test_clock'],
      collection: state.customers,
      kind: 'customer',
      rows: state.order.customers,
      keep: (c) => !c.deleted && (email === undefined || c.email === email),
      draw: (r) => renderCustomer(view, r),
    });
  });
  api.get('/customers/:id', (req, res) => {
    const row = customerOr(param(req, 'id'));
    retrieve(req, res, row.deleted ? deletedCustomer(row.id) : renderCustomer(view, row));
  });
  api.post('/customers', (req, res) =>
    withRequest(req, res, () => {
      const input = customerInput(form(req));
      return createCustomer(input);
    }),
  );
  api.post('/customers/:id', (req, res) =>
    withRequest(req, res, () => updateCustomer(param(req, 'id'), customerInput(form(req)))),
  );
  api.delete('/customers/:id', (req, res) => withRequest(req, res, () => deleteCustomer(param(req, 'id'))));
  api.get('/customers/:id/payment_methods', (req, res) => {
    const customer = liveCustomer(param(req, 'id'));
    const type = stringParam(query(req)['type'], 'type');
    list(req, res, {
      url: `/v1/customers/${customer.id}/payment_methods`,
      allowed: ['type', 'allow_redisplay'],
      collection: state.paymentMethods,
      kind: 'payment_method',
      rows: ownedBy(customer.id, 'paymentMethods'),
      keep: (pm) => pm.customer === customer.id && (type === undefined || type === 'card'),
      draw: (r) => renderPaymentMethod(view, r),
    });
  });

  // subscriptions
  const SUBSCRIPTION_STATUSES = [
    'active',
    'all',
    'canceled',
    'ended',
    'incomplete',
    'incomplete_expired',
    'past_due',
    'paused',
    'trialing',
    'unpaid',
  ];
  api.get('/subscriptions', (req, res) => {
    const q = query(req);
    const customer = stringParam(q['customer'], 'customer');
    const price = stringParam(q['price'], 'price');
    const collectionMethod = stringParam(q['collection_method'], 'collection_method');
    const status = stringParam(q['status'], 'status');
    if (status !== undefined && !SUBSCRIPTION_STATUSES.includes(status)) {
      throw new HttpError(
        400,
        stripeErrors.invalid(`Invalid status: must be one of ${SUBSCRIPTION_STATUSES.join(', ')}`, 'status'),
      );
    }
    const statusOk = (s: StripeSubscriptionRow) =>
      status === 'all' ||
      (status === undefined
        ? s.status !== 'canceled'
        : status === 'ended'
          ? s.status === 'canceled' || s.status === 'incomplete_expired'
          : s.status === status);
    list(req, res, {
      url: '/v1/subscriptions',
      allowed: [
        'customer',
        'price',
        'status',
        'created',
        'collection_method',
        'current_period_end',
        'current_period_start',
        'test_clock',
        'automatic_tax',
      ],
      collection: state.subscriptions,
      kind: 'subscription',
      rows: customer === undefined ? state.order.subscriptions : ownedBy(customer, 'subscriptions'),
      keep: (s) =>
        (customer === undefined || s.customer === customer) &&
        statusOk(s) &&
        (price === undefined || s.items.some((i) => i.price.id === price)) &&
        (collectionMethod === undefined || s.collectionMethod === collectionMethod),
      draw: (r) => renderSubscription(view, r),
    });
  });
  api.get('/subscriptions/:id', (req, res) =>
    retrieve(req, res, renderSubscription(view, subscriptionOr(param(req, 'id')))),
  );

  // invoices
  api.get('/invoices', (req, res) => {
    const q = query(req);
    const customer = stringParam(q['customer'], 'customer');
    const subscription = stringParam(q['subscription'], 'subscription');
    const status = stringParam(q['status'], 'status');
    const collectionMethod = stringParam(q['collection_method'], 'collection_method');
    const owner =
      customer ?? (subscription === undefined ? undefined : state.subscriptions.get(subscription)?.customer);
    list(req, res, {
      url: '/v1/invoices',
      allowed: ['customer', 'subscription', 'status', 'created', 'collection_method', 'due_date', 'customer_account'],
      collection: state.invoices,
      kind: 'invoice',
      rows: owner === undefined ? (subscription === undefined ? state.order.invoices : []) : ownedBy(owner, 'invoices'),
      keep: (i) =>
        (customer === undefined || i.customer === customer) &&
        (subscription === undefined || i.subscription === subscription) &&
        (status === undefined || i.status === status) &&
        (collectionMethod === undefined || i.collectionMethod === collectionMethod),
      draw: (r) => renderInvoice(view, r),
    });
  });
  api.get('/invoices/:id', (req, res) => retrieve(req, res, renderInvoice(view, invoiceOr(param(req, 'id')))));

  // payment methods
  api.get('/payment_methods', (req, res) => {
    const q = query(req);
    const customer = stringParam(q['customer'], 'customer');
    const type = stringParam(q['type'], 'type');
    list(req, res, {
      url: '/v1/payment_methods',
      allowed: ['customer', 'type', 'customer_account', 'allow_redisplay'],
      collection: state.paymentMethods,
      kind: 'payment_method',
      rows: customer === undefined ? state.order.paymentMethods : ownedBy(customer, 'paymentMethods'),
      keep: (pm) => (customer === undefined || pm.customer === customer) && (type === undefined || type === 'card'),
      draw: (r) => renderPaymentMethod(view, r),
    });
  });
  api.get('/payment_methods/:id', (req, res) =>
    retrieve(req, res, renderPaymentMethod(view, paymentMethodOr(param(req, 'id')))),
  );

  // charges
  api.get('/charges', (req, res) => {
    const customer = stringParam(query(req)['customer'], 'customer');
    list(req, res, {
      url: '/v1/charges',
      allowed: ['customer', 'created', 'payment_intent', 'transfer_group'],
      collection: state.charges,
      kind: 'charge',
      rows: customer === undefined ? state.order.charges : ownedBy(customer, 'charges'),
      keep: (ch) => customer === undefined || ch.customer === customer,
      draw: (r) => renderCharge(view, r),
    });
  });
  api.get('/charges/:id', (req, res) => retrieve(req, res, renderCharge(view, chargeOr(param(req, 'id')))));

  // the account of the key (GET /v1/account): how a deployment learns its own account id
  api.get('/account', (req, res) => {
    rejectUnknown(query(req), ['expand']);
    send(res, 200, renderAccount(accountId, accountCreated));
  });

  // events: kept 30 days
  const retained = (e: StripeEventRow) => e.created > nowSeconds() - EVENT_RETENTION_SECONDS;
  api.get('/events', (req, res) => {
    const q = query(req);
    const type = stringParam(q['type'], 'type');
    const types = arrayParam(q['types'], 'types', 20);
    if (type !== undefined && types.length > 0)
      throw new HttpError(400, stripeErrors.invalid('You may only specify one of these parameters: type, types.'));
    const delivery = stringParam(q['delivery_success'], 'delivery_success');
    if (delivery !== undefined && delivery !== 'true' && delivery !== 'false')
      throw new HttpError(400, stripeErrors.invalid('Invalid boolean: ' + delivery, 'delivery_success'));
    const patterns = type !== undefined ? [type] : types;
    list(req, res, {
      url: '/v1/events',
      allowed: ['type', 'types', 'created', 'delivery_success'],
      collection: state.events,
      kind: 'event',
      rows: state.order.events,
      keep: (e) =>
        retained(e) &&
        (patterns.length === 0 || eventTypeMatches(patterns, e.type)) &&
        (delivery === undefined || (delivery === 'true') === (e.deliverySuccess === true)),
      draw: (r) => renderEvent(view, r),
    });
  });
  api.get('/events/:id', (req, res) => {
    const row = state.events.get(param(req, 'id'));
    if (!row || !retained(row)) throw new HttpError(404, stripeErrors.missing('event', param(req, 'id')));
    retrieve(req, res, renderEvent(view, row));
  });

  api.use((req: Request, res: Response) =>
    send(res, 404, stripeErrors.unrecognizedUrl(req.method, req.originalUrl.split('?')[0] ?? '')),
  );

  // Hosted invoice pages and PDFs: what a customer opens from the portal.
  const hostedInvoice = (req: Request): StripeInvoiceRow | undefined => {
    const token = param(req, 'token');
    const row = state.invoices.get(token.replace(/^(test|live)_/, ''));
    return row && row.status !== 'draft' && param(req, 'account') === accountId ? row : undefined;
  };
  app.get('/i/:account/:token', (req, res) => {
    const row = hostedInvoice(req);
    if (!row) return void res.status(404).type('text/plain').send('Invoice not found');
    const amount = (invoiceTotal(row) / 100).toFixed(2);
    res
      .type('text/html')
      .send(
        `<!doctype html><meta charset="utf-8"><title>Invoice ${escapeHtml(row.number ?? row.id)}</title>` +
          `<h1>Invoice ${escapeHtml(row.number ?? row.id)}</h1><p>Status: ${row.status}</p><p>Amount: ${amount} ${row.currency.toUpperCase()}</p>`,
      );
  });
  app.get('/invoice/:account/:token/pdf', (req, res) => {
    const row = hostedInvoice(req);
    if (!row) return void res.status(404).type('text/plain').send('Invoice not found');
    res
      .type('application/pdf')
      .send(
        minimalPdf(
          `Invoice ${row.number ?? row.id}: ${(invoiceTotal(row) / 100).toFixed(2)} ${row.currency.toUpperCase()}, ${row.status}`,
        ),
      );
  });

  app.use((req: Request, res: Response) =>
    send(res, 404, stripeErrors.unrecognizedUrl(req.method, req.originalUrl.split('?')[0] ?? '')),
  );
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpError) return send(res, err.status, err.body);
    if (isRecord(err) && (err['type'] === 'entity.parse.failed' || err['type'] === 'entity.too.large')) {
      return send(res, 400, stripeErrors.invalid('Invalid request body'));
    }
    send(res, 500, stripeErrors.apiError());
  });

  const listening = await listenOnLoopback(app);
  const url = new URL(listening.origin);
  const port = Number(url.port);
  view.hostedOrigin ||= listening.origin;

  /** Scenario helpers throw Stripe's message as a plain Error, the way a failed dashboard action reads. */
  const plain =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return fn(...args);
      } catch (err) {
        if (err instanceof HttpError) throw new Error(`Stripe stand-in: ${err.body.error.message}`);
        throw err;
      }
    };

  return {
    baseUrl: listening.origin,
    host: url.hostname,
    port,
    secretKey,
    livemode,
    get clientConfig() {
      return { secretKey, webhookSecrets: [...webhookSecrets], host: url.hostname, port, protocol: 'http' as const };
    },
    env: {
      STRIPE_SECRET_KEY: secretKey,
      STRIPE_API_HOST: url.hostname,
      STRIPE_API_PORT: String(port),
      STRIPE_API_PROTOCOL: 'http',
    },
    state,
    calls,
    webhookDeliveries,
    droppedWebhooks,
    setFaults: (next) => faults.set(next),
    setRate: (next) => setRate(next),
    failNext: (n, failure, path) => {
      for (let i = 0; i < n; i++) armed.push({ failure, ...(path && { path }) });
    },
    setWebhook: (nextUrl, secret) => {
      webhookUrl = nextUrl;
      if (secret !== undefined) webhookSecrets = [secret].flat();
    },
    setDropWebhooks: (fraction) => {
      dropFraction = fraction;
    },
    createCustomer: plain(createCustomer),
    updateCustomer: plain(updateCustomer),
    deleteCustomer: plain(deleteCustomer),
    createSubscription: plain(createSubscription),
    updateSubscription: plain(updateSubscription),
    cancelSubscription: plain(cancelSubscription),
    createInvoice: plain(createInvoice),
    finalizeInvoice: plain(finalizeInvoice),
    payInvoice: plain(payInvoice),
    failInvoicePayment: plain(failInvoicePayment),
    voidInvoice: plain(voidInvoice),
    attachPaymentMethod: plain(attachPaymentMethod),
    detachPaymentMethod: plain(detachPaymentMethod),
    refundCharge: plain(refundCharge),
    seedCustomers: plain(seedCustomers),
    seedSubscription: plain((customerId: string, input: StripeSubscriptionInput) =>
      newSubscription(customerOr(customerId), input),
    ),
    seedInvoice: plain(seedInvoice),
    render: (id: string) => renderObject(view, id),
    events: () => state.order.events.map((r) => renderEvent(view, r)),
    flushWebhooks: async () => {
      // Let responses that just finished queue their deliveries, then wait until nothing is left.
      await new Promise((resolve) => setImmediate(resolve));
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    close: async () => {
      closed = true;
      for (const res of hung) res.socket?.destroy();
      for (const [timer, resolve] of retryTimers) {
        clearTimeout(timer);
        resolve();
      }
      retryTimers.clear();
      abort.abort();
      await listening.close();
      await Promise.allSettled([...inFlight]);
    },
  };
}
