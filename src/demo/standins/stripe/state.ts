/** The Stripe stand-in's in-memory state: the wire types it renders, the rows it keeps, and the pure operations on them (paging, invoice sums). */
// ---------------------------------------------------------------------------------------------
// Wire shapes: the SDK's types, with Decimal fields as the strings Stripe sends. Type-only
// imports, erased at build: at run time the SDK stays inside src/connectors.
// ---------------------------------------------------------------------------------------------

type Decimal = import('stripe').Stripe.Decimal;
/** What a Stripe type looks like as JSON: Decimal values travel as strings (the SDK parses them). */
type Wire<T> = T extends Decimal
  ? string
  : T extends string | number | boolean | null | undefined
    ? T
    : T extends readonly (infer U)[]
      ? Wire<U>[]
      : T extends object
        ? { [K in keyof T]: Wire<T[K]> }
        : T;

export type StripeCustomer = Wire<import('stripe').Stripe.Customer>;
export type StripeDeletedCustomer = Wire<import('stripe').Stripe.DeletedCustomer>;
export type StripeSubscription = Wire<import('stripe').Stripe.Subscription>;
export type StripeSubscriptionItem = Wire<import('stripe').Stripe.SubscriptionItem>;
export type StripeInvoice = Wire<import('stripe').Stripe.Invoice>;
export type StripeInvoiceLineItem = Wire<import('stripe').Stripe.InvoiceLineItem>;
export type StripePaymentMethod = Wire<import('stripe').Stripe.PaymentMethod>;
export type StripeCharge = Wire<import('stripe').Stripe.Charge>;
export type StripeEvent = Wire<import('stripe').Stripe.EventBase> & {
  data: { object: StripeObject; previous_attributes?: Json };
};
export type StripeObject = StripeCustomer | StripeSubscription | StripeInvoice | StripePaymentMethod | StripeCharge;
export type StripeList<T> = { object: 'list'; data: T[]; has_more: boolean; url: string };
export type Metadata = Record<string, string>;
export type StripeEventType = import('stripe').Stripe.Event.Type;
export type SubscriptionStatus = import('stripe').Stripe.Subscription.Status;
export type Json = Record<string, unknown>;

/** The API version objects are rendered in: the one the stripe SDK in node_modules pins (a test checks). */
export const STRIPE_STANDIN_API_VERSION = '2026-10-28.endive';

// ---------------------------------------------------------------------------------------------
// State rows: small, rendered on demand
// ---------------------------------------------------------------------------------------------

/** Creation order: `created` (unix seconds), then `seq` (a counter across all objects). */
export interface Ranked {
  id: string;
  created: number;
  seq: number;
}

export interface StripeCustomerRow extends Ranked {
  email: string | null;
  name: string | null;
  description: string | null;
  phone: string | null;
  currency: string | null;
  balance: number;
  delinquent: boolean;
  metadata: Metadata;
  defaultPaymentMethod: string | null;
  nextInvoiceSequence: number;
  deleted: boolean;
  /** This customer's rows, oldest first: what the `customer` filters page over (undefined: none yet). */
  owned:
    | {
        subscriptions?: StripeSubscriptionRow[];
        invoices?: StripeInvoiceRow[];
        paymentMethods?: StripePaymentMethodRow[];
        charges?: StripeChargeRow[];
      }
    | undefined;
}

export interface StripePriceRow {
  id: string;
  created: number;
  nickname: string | null;
  product: string;
  unitAmount: number | null;
  currency: string;
  interval: 'day' | 'week' | 'month' | 'year';
  intervalCount: number;
  usageType: 'licensed' | 'metered';
}

export interface StripeSubscriptionItemRow {
  id: string;
  created: number;
  price: StripePriceRow;
  quantity: number;
}

export interface StripeSubscriptionRow extends Ranked {
  customer: string;
  status: SubscriptionStatus;
  currency: string;
  collectionMethod: 'charge_automatically' | 'send_invoice';
  daysUntilDue: number | null;
  cancelAtPeriodEnd: boolean;
  canceledAt: number | null;
  endedAt: number | null;
  startDate: number;
  periodStart: number;
  periodEnd: number;
  trialStart: number | null;
  trialEnd: number | null;
  metadata: Metadata;
  latestInvoice: string | null;
  defaultPaymentMethod: string | null;
  items: StripeSubscriptionItemRow[];
}

export interface StripeInvoiceLineRow {
  id: string;
  amount: number;
  description: string | null;
  quantity: number;
  price: StripePriceRow | null;
  subscriptionItem: string | null;
  periodStart: number;
  periodEnd: number;
}

export type StripeInvoiceStatus = 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';

export interface StripeInvoiceRow extends Ranked {
  customer: string;
  subscription: string | null;
  number: string | null;
  status: StripeInvoiceStatus;
  currency: string;
  collectionMethod: 'charge_automatically' | 'send_invoice';
  dueDate: number | null;
  lines: StripeInvoiceLineRow[];
  amountPaid: number;
  attemptCount: number;
  attempted: boolean;
  nextPaymentAttempt: number | null;
  finalizedAt: number | null;
  paidAt: number | null;
  voidedAt: number | null;
  markedUncollectibleAt: number | null;
  periodStart: number;
  periodEnd: number;
  billingReason: 'manual' | 'subscription_create' | 'subscription_cycle' | 'subscription_update';
  description: string | null;
  metadata: Metadata;
}

export interface StripePaymentMethodRow extends Ranked {
  customer: string | null;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
  metadata: Metadata;
}

export interface StripeChargeRow extends Ranked {
  customer: string;
  invoice: string | null;
  amount: number;
  amountRefunded: number;
  currency: string;
  status: 'succeeded' | 'failed';
  paymentMethod: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  metadata: Metadata;
}

export interface StripeEventRow extends Ranked {
  type: StripeEventType;
  object: StripeObject;
  previous?: Json;
  request: { id: string | null; idempotency_key: string | null };
  /** Endpoints that have not acknowledged it yet (0 or 1: the stand-in has at most one). */
  pendingWebhooks: number;
  /** undefined until a delivery was attempted (or when there is no endpoint). */
  deliverySuccess?: boolean;
}

export interface StripeState {
  customers: Map<string, StripeCustomerRow>;
  subscriptions: Map<string, StripeSubscriptionRow>;
  invoices: Map<string, StripeInvoiceRow>;
  paymentMethods: Map<string, StripePaymentMethodRow>;
  charges: Map<string, StripeChargeRow>;
  prices: Map<string, StripePriceRow>;
  events: Map<string, StripeEventRow>;
  /** Each collection in creation order (oldest first); lists walk them backwards. */
  order: {
    customers: StripeCustomerRow[];
    subscriptions: StripeSubscriptionRow[];
    invoices: StripeInvoiceRow[];
    paymentMethods: StripePaymentMethodRow[];
    charges: StripeChargeRow[];
    events: StripeEventRow[];
  };
}
// ---------------------------------------------------------------------------------------------
// Paging: rows sorted by (created, seq), newest first on the wire
// ---------------------------------------------------------------------------------------------

export interface CreatedRange {
  eq?: number;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

export interface PageRequest {
  limit: number;
  startingAfter?: Ranked;
  endingBefore?: Ranked;
  created?: CreatedRange;
}

/** First index whose row ranks at or after (created, seq). */
function lowerBound(rows: readonly Ranked[], created: number, seq: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const row = rows[mid]!;
    if (row.created < created || (row.created === created && row.seq < seq)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Keeps `rows` sorted; appending in time order (the usual case) is O(1). */
export function insertRanked<T extends Ranked>(rows: T[], row: T): void {
  const last = rows[rows.length - 1];
  if (!last || last.created < row.created || (last.created === row.created && last.seq < row.seq)) rows.push(row);
  else rows.splice(lowerBound(rows, row.created, row.seq), 0, row);
}

/**
 * One page, newest first. The bounds come from binary searches, so a page costs its own size
 * (plus the rows `keep` rejects), never a copy of the collection.
 */
export function pageRows<T extends Ranked>(
  rows: readonly T[],
  req: PageRequest,
  keep: (row: T) => boolean,
): { data: T[]; hasMore: boolean } {
  let lo = 0;
  let hi = rows.length;
  const c = req.created;
  if (c) {
    if (c.eq !== undefined) {
      lo = Math.max(lo, lowerBound(rows, c.eq, -Infinity));
      hi = Math.min(hi, lowerBound(rows, c.eq, Infinity));
    }
    if (c.gte !== undefined) lo = Math.max(lo, lowerBound(rows, c.gte, -Infinity));
    if (c.gt !== undefined) lo = Math.max(lo, lowerBound(rows, c.gt, Infinity));
    if (c.lte !== undefined) hi = Math.min(hi, lowerBound(rows, c.lte, Infinity));
    if (c.lt !== undefined) hi = Math.min(hi, lowerBound(rows, c.lt, -Infinity));
  }
  const out: T[] = [];
  if (req.endingBefore) {
    // The page just newer than the cursor, walked upwards, then shown newest first.
    lo = Math.max(lo, lowerBound(rows, req.endingBefore.created, req.endingBefore.seq + 0.5));
    for (let i = lo; i < hi && out.length <= req.limit; i++) if (keep(rows[i]!)) out.push(rows[i]!);
    return { data: out.slice(0, req.limit).reverse(), hasMore: out.length > req.limit };
  }
  if (req.startingAfter) hi = Math.min(hi, lowerBound(rows, req.startingAfter.created, req.startingAfter.seq));
  for (let i = hi - 1; i >= lo && out.length <= req.limit; i--) if (keep(rows[i]!)) out.push(rows[i]!);
  return { data: out.slice(0, req.limit), hasMore: out.length > req.limit };
}

/** The sum of an invoice's lines, in the smallest currency unit. */
export const invoiceTotal = (i: StripeInvoiceRow) => i.lines.reduce((sum, l) => sum + l.amount, 0);

/** What is still owed: all of a draft, nothing of a void invoice. */
export const amountRemaining = (i: StripeInvoiceRow) =>
  i.status === 'void' || i.status === 'draft'
    ? i.status === 'draft'
      ? invoiceTotal(i)
      : 0
    : invoiceTotal(i) - i.amountPaid;

/** The invoice number prefix Stripe derives per customer. */
export const invoicePrefix = (customerId: string) =>
  customerId
    .slice(4, 12)
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, 'X');
