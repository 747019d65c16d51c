/** The Stripe stand-in's contract: its options, the inputs its scenario helpers take, what it records, and the handle startStripeStandIn returns. */
import type { FaultKind, FaultOptions } from '../common.js';
import type {
  Metadata,
  StripeCharge,
  StripeCustomer,
  StripeDeletedCustomer,
  StripeEvent,
  StripeInvoice,
  StripeInvoiceRow,
  StripeInvoiceStatus,
  StripeObject,
  StripePaymentMethod,
  StripePriceRow,
  StripeState,
  StripeSubscription,
  StripeSubscriptionRow,
  SubscriptionStatus,
} from './state.js';

export interface StripeStandInOptions {
  /** The one key that passes auth (default: a fresh sk_test_ key). sk_live_ makes objects livemode. */
  secretKey?: string;
  /** The account that owns hosted invoice pages (default acct_ + a stable suffix). */
  accountId?: string;
  /**
   * A connected account of a Connect platform (connect.ts puts one behind the platform's API): its
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

export interface StripeRate {
  reads?: number;
  writes?: number;
}

export interface StripeCall {
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

export interface StripeWebhookDelivery {
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

export type StripeFailure = 'rate_limit' | 'lock_timeout' | 500 | 503 | 'reset' | 'timeout';

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

export interface StripeCustomerInput {
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

export interface StripeSubscriptionInput {
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

export interface StripeSubscriptionPatch {
  status?: SubscriptionStatus;
  cancel_at_period_end?: boolean;
  items?: StripeSubscriptionInput['items'];
  metadata?: Metadata;
  default_payment_method?: string | null;
}

export interface StripeInvoiceInput {
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

export interface StripeSeedInvoiceInput extends Omit<StripeInvoiceInput, 'finalize'> {
  status?: StripeInvoiceStatus;
}

export interface StripeSeedCustomerInput extends StripeCustomerInput {
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
