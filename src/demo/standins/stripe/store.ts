/** The Stripe stand-in's data: its rows, seeded ids, lookups that answer Stripe's 404s, and the row builders (no events; scenarios.ts adds them, seed.ts uses them silently). */
import { seededRandom } from '../common.js';
import {
  type Metadata,
  type Ranked,
  type StripeChargeRow,
  type StripeCustomerRow,
  type StripeInvoiceLineRow,
  type StripeInvoiceRow,
  type StripePaymentMethodRow,
  type StripePriceRow,
  type StripeState,
  type StripeSubscriptionRow,
  insertRanked,
  invoicePrefix,
  invoiceTotal,
} from './state.js';
import type { StripeView } from './render.js';
import { HttpError, stripeErrors } from './params.js';
import type {
  StripeCustomerInput,
  StripeInvoiceInput,
  StripePriceInput,
  StripeStandInOptions,
  StripeSubscriptionInput,
} from './types.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const SECONDS_PER_DAY = 86_400;
const EMPTY: Metadata = Object.freeze({}) as Metadata;

function addInterval(unixSeconds: number, interval: StripePriceRow['interval'], count: number): number {
  const d = new Date(unixSeconds * 1000);
  if (interval === 'day') d.setUTCDate(d.getUTCDate() + count);
  else if (interval === 'week') d.setUTCDate(d.getUTCDate() + 7 * count);
  else if (interval === 'month') d.setUTCMonth(d.getUTCMonth() + count);
  else d.setUTCFullYear(d.getUTCFullYear() + count);
  return Math.floor(d.getTime() / 1000);
}

type Owned = NonNullable<StripeCustomerRow['owned']>;

export class StripeStore {
  readonly now: () => number;
  readonly state: StripeState = {
    customers: new Map(),
    subscriptions: new Map(),
    invoices: new Map(),
    paymentMethods: new Map(),
    charges: new Map(),
    prices: new Map(),
    events: new Map(),
    order: { customers: [], subscriptions: [], invoices: [], paymentMethods: [], charges: [], events: [] },
  };
  readonly secretKey: string;
  readonly livemode: boolean;
  readonly accountId: string;
  readonly accountCreated: number;
  /** What rendering reads; hostedOrigin is known once listening. */
  readonly view: StripeView;
  /** Creation order of rows and events alike (ties of `created` break on it). */
  seq = 0;
  private readonly random: () => number;
  private readonly codes: number[] = [];
  // Generated ids come from one seeded sequence, so they never repeat; only ids a caller chose
  // can collide with one, and only then is the check worth its cost (five map lookups per id).
  private callerChoseIds = false;

  constructor(opts: StripeStandInOptions, secretKey: string) {
    this.now = opts.now ?? Date.now;
    this.random = seededRandom(opts.seed ?? 1);
    this.secretKey = secretKey;
    this.livemode = secretKey.startsWith('sk_live_') || secretKey.startsWith('rk_live_');
    this.accountId = opts.accountId ?? `acct_${this.randomChars(16)}`;
    this.accountCreated = this.nowSeconds();
    this.view = {
      state: this.state,
      livemode: this.livemode,
      accountId: this.accountId,
      connected: Boolean(opts.connected),
      hostedOrigin: opts.hostedOrigin ?? '',
    };
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  // fromCharCode makes a flat string; `+=` would leave a rope per id, which costs memory at 100k rows.
  randomChars(n: number): string {
    const codes = this.codes;
    codes.length = n;
    for (let i = 0; i < n; i++) codes[i] = ALNUM.charCodeAt(Math.floor(this.random() * ALNUM.length));
    return String.fromCharCode(...codes);
  }

  private taken(id: string): boolean {
    const state = this.state;
    return (
      state.customers.has(id) ||
      state.subscriptions.has(id) ||
      state.invoices.has(id) ||
      state.paymentMethods.has(id) ||
      state.charges.has(id) ||
      state.events.has(id)
    );
  }

  newId(prefix: string, length = 14): string {
    for (;;) {
      const id = `${prefix}_${this.randomChars(length)}`;
      if (!this.callerChoseIds || !this.taken(id)) return id;
    }
  }

  private claimId(wanted: string | undefined, prefix: string): string {
    if (wanted === undefined) return this.newId(prefix);
    if (this.taken(wanted)) throw new Error(`id ${wanted} is already in use`);
    this.callerChoseIds = true;
    return wanted;
  }

  /** Indexes live on the customer row: cheaper than a map per collection at 100,000 customers. */
  own<K extends keyof Owned>(customer: StripeCustomerRow, key: K, row: NonNullable<Owned[K]>[number]): void {
    const owned = (customer.owned ??= {});
    const rows = (owned[key] ??= []) as Ranked[];
    insertRanked(rows, row);
  }

  ownedBy<K extends keyof Owned>(customerId: string, key: K): NonNullable<Owned[K]> {
    return (this.state.customers.get(customerId)?.owned?.[key] ?? []) as NonNullable<Owned[K]>;
  }

  // --- lookups ---------------------------------------------------------------------------

  customerOr(id: string, kind = 'customer'): StripeCustomerRow {
    const row = this.state.customers.get(id);
    if (!row) throw new HttpError(404, stripeErrors.missing(kind, id));
    return row;
  }
  liveCustomer(id: string): StripeCustomerRow {
    const row = this.customerOr(id);
    if (row.deleted) throw new HttpError(404, stripeErrors.missing('customer', id));
    return row;
  }
  subscriptionOr(id: string): StripeSubscriptionRow {
    const row = this.state.subscriptions.get(id);
    if (!row) throw new HttpError(404, stripeErrors.missing('subscription', id));
    return row;
  }
  invoiceOr(id: string): StripeInvoiceRow {
    const row = this.state.invoices.get(id);
    if (!row) throw new HttpError(404, stripeErrors.missing('invoice', id));
    return row;
  }
  paymentMethodOr(id: string): StripePaymentMethodRow {
    const row = this.state.paymentMethods.get(id);
    if (!row) throw new HttpError(404, stripeErrors.missing('PaymentMethod', id));
    return row;
  }
  chargeOr(id: string): StripeChargeRow {
    const row = this.state.charges.get(id);
    if (!row) throw new HttpError(404, stripeErrors.missing('charge', id));
    return row;
  }

  // --- rows ------------------------------------------------------------------------------

  priceRow(input: StripePriceInput | string, created: number): StripePriceRow {
    if (typeof input === 'string') {
      const found = this.state.prices.get(input);
      if (!found) throw new HttpError(400, stripeErrors.missing('price', input, 'items[0][price]'));
      return found;
    }
    const existing = input.id === undefined ? undefined : this.state.prices.get(input.id);
    if (existing) return existing;
    const row: StripePriceRow = {
      id: input.id ?? this.newId('price'),
      created,
      nickname: input.nickname ?? null,
      product: input.product ?? this.newId('prod'),
      unitAmount: input.unit_amount,
      currency: input.currency ?? 'usd',
      interval: input.interval ?? 'month',
      intervalCount: input.interval_count ?? 1,
      usageType: input.usage_type ?? 'licensed',
    };
    this.state.prices.set(row.id, row);
    return row;
  }

  newCustomer(input: StripeCustomerInput): StripeCustomerRow {
    const row: StripeCustomerRow = {
      id: this.claimId(input.id, 'cus'),
      created: input.created ?? this.nowSeconds(),
      seq: ++this.seq,
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
    this.state.customers.set(row.id, row);
    insertRanked(this.state.order.customers, row);
    return row;
  }

  /** Items of a subscription, each with its price (found, or created from the input). */
  subscriptionItems(items: StripeSubscriptionInput['items'], created: number): StripeSubscriptionRow['items'] {
    return items.map((item) => ({
      id: this.newId('si'),
      created,
      price: this.priceRow(item.price, created),
      quantity: item.quantity ?? 1,
    }));
  }

  newSubscription(customer: StripeCustomerRow, input: StripeSubscriptionInput): StripeSubscriptionRow {
    if (input.items.length === 0)
      throw new HttpError(400, stripeErrors.invalid('Missing required param: items.', 'items'));
    const created = input.created ?? this.nowSeconds();
    const items = this.subscriptionItems(input.items, created);
    const first = items[0]!.price;
    const trialEnd = input.trial_days ? created + input.trial_days * SECONDS_PER_DAY : null;
    const row: StripeSubscriptionRow = {
      id: this.claimId(input.id, 'sub'),
      created,
      seq: ++this.seq,
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
    this.state.subscriptions.set(row.id, row);
    insertRanked(this.state.order.subscriptions, row);
    this.own(customer, 'subscriptions', row);
    return row;
  }

  private invoiceLines(
    input: StripeInvoiceInput,
    subscription: StripeSubscriptionRow | undefined,
    created: number,
  ): StripeInvoiceLineRow[] {
    return input.lines
      ? input.lines.map((l) => ({
          id: this.newId('il'),
          amount: l.amount,
          description: l.description ?? null,
          quantity: l.quantity ?? 1,
          price: null,
          subscriptionItem: null,
          periodStart: created,
          periodEnd: created,
        }))
      : (subscription?.items ?? []).map((item) => ({
          id: this.newId('il'),
          amount: (item.price.unitAmount ?? 0) * item.quantity,
          description: null, // rendered from the price: one string less per seeded invoice
          quantity: item.quantity,
          price: item.price,
          subscriptionItem: item.id,
          periodStart: subscription!.periodStart,
          periodEnd: subscription!.periodEnd,
        }));
  }

  newInvoice(customer: StripeCustomerRow, input: StripeInvoiceInput): StripeInvoiceRow {
    const created = input.created ?? this.nowSeconds();
    const subscription = input.subscription === undefined ? undefined : this.subscriptionOr(input.subscription);
    const lines = this.invoiceLines(input, subscription, created);
    const row: StripeInvoiceRow = {
      id: this.claimId(input.id, 'in'),
      created,
      seq: ++this.seq,
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
    this.state.invoices.set(row.id, row);
    insertRanked(this.state.order.invoices, row);
    this.own(customer, 'invoices', row);
    if (subscription) subscription.latestInvoice = row.id;
    return row;
  }

  /** draft → open: a number, hosted page and PDF, and a due date for send_invoice. */
  finalizeRow(i: StripeInvoiceRow, at: number, daysUntilDue?: number): void {
    const customer = this.customerOr(i.customer);
    i.status = 'open';
    i.finalizedAt = at;
    i.number = `${invoicePrefix(customer.id)}-${String(customer.nextInvoiceSequence++).padStart(4, '0')}`;
    if (i.collectionMethod === 'send_invoice') {
      const days =
        daysUntilDue ?? (i.subscription ? this.state.subscriptions.get(i.subscription)?.daysUntilDue : undefined) ?? 30;
      i.dueDate = at + days * SECONDS_PER_DAY;
    }
  }

  newCharge(
    i: StripeInvoiceRow,
    status: StripeChargeRow['status'],
    failure?: { code: string; message: string },
  ): StripeChargeRow {
    const customer = this.customerOr(i.customer);
    const row: StripeChargeRow = {
      id: this.newId('ch', 24),
      created: this.nowSeconds(),
      seq: ++this.seq,
      customer: customer.id,
      invoice: i.id,
      amount: invoiceTotal(i) - i.amountPaid,
      amountRefunded: 0,
      currency: i.currency,
      status,
      paymentMethod:
        (i.subscription ? this.state.subscriptions.get(i.subscription)?.defaultPaymentMethod : null) ??
        customer.defaultPaymentMethod,
      failureCode: failure?.code ?? null,
      failureMessage: failure?.message ?? null,
      metadata: EMPTY,
    };
    this.state.charges.set(row.id, row);
    insertRanked(this.state.order.charges, row);
    this.own(customer, 'charges', row);
    return row;
  }

  newPaymentMethod(customer: StripeCustomerRow, input: { brand?: string; last4?: string }): StripePaymentMethodRow {
    const row: StripePaymentMethodRow = {
      id: this.newId('pm', 24),
      created: this.nowSeconds(),
      seq: ++this.seq,
      customer: customer.id,
      brand: input.brand ?? 'visa',
      last4: input.last4 ?? '4242',
      expMonth: 12,
      expYear: new Date(this.now()).getUTCFullYear() + 3,
      metadata: EMPTY,
    };
    this.state.paymentMethods.set(row.id, row);
    insertRanked(this.state.order.paymentMethods, row);
    this.own(customer, 'paymentMethods', row);
    return row;
  }
}
