/**
 * Stripe event envelope → SourceEvent. Pure: the webhook edge has already
 * verified the signature with the stripe SDK and JSON-parsed the body, so
 * nothing here imports the SDK.
 *
 * Wire shapes are loose objects because Stripe adds fields without a new API
 * version; the fields we read are checked, so a known event whose object is
 * broken is quarantined as `invalid` rather than merged half-filled.
 */
import { z } from 'zod';
import { screenRefs, withRefused, type RefusedRef } from '../../sync/events/ids.js';
import { quickCheck } from '../../sync/events/quick-check.js';
import { SourceEventSchema, describeZodError } from '../../sync/events/source-event.js';
import type { CustomerRefs, EventData, ParseResult, SourceEvent } from '../../sync/events/source-event.js';
import { keptAttributes, type KeptAttributes } from '../../sync/mapping/defaults.js';
import { EMPTY_MAPPING, type MappingConfig } from '../../sync/mapping/schema.js';

/** Metadata keys on Stripe objects that carry the other systems' ids. */
export const STRIPE_CROSS_ID_KEYS = {
  salesforceAccountId: 'salesforce_account_id',
  zendeskOrganizationId: 'zendesk_organization_id',
} as const;
export type StripeCrossIdKeys = { readonly [K in keyof typeof STRIPE_CROSS_ID_KEYS]: string } & {
  /**
   * Source attributes a field mapping names (sync/mapping): the customer's metadata keeps its cross-ids and
   * these keys only, a subscription its metadata keys and trial end only when named. Absent: the customer's
   * whole metadata, no subscription attributes (parsers called without a configuration).
   */
  readonly kept?: KeptAttributes;
};

/** The keys a configured daemon parses Stripe events with: its cross-id keys and what its field mapping keeps. */
export function stripeParseKeys(config: {
  identity: { stripeMetadataKeys: StripeCrossIdKeys };
  mapping?: MappingConfig | undefined;
}): StripeCrossIdKeys {
  return { ...config.identity.stripeMetadataKeys, kept: keptAttributes(config.mapping ?? EMPTY_MAPPING) };
}

const pick = (meta: Record<string, string>, keys: readonly string[]): Record<string, string> =>
  Object.fromEntries(keys.filter((k) => Object.hasOwn(meta, k)).map((k) => [k, meta[k]!]));

// ---- wire shapes --------------------------------------------------------------

/** A related object: an id, or the object itself when the request expanded it. */
const stripeRef = z.union([z.string().min(1), z.looseObject({ id: z.string().min(1) })]);
type StripeRef = z.infer<typeof stripeRef>;
const idOf = (ref: StripeRef | null | undefined): string | undefined => (typeof ref === 'string' ? ref : ref?.id);

// Capped at 9999-12-31 so that converting to an ISO string can never throw.
const unixSeconds = z.number().int().min(0).max(253_402_300_799);
const minorUnits = z.number().int();
const objectId = z.string().min(1);
const metadata = z.record(z.string(), z.string()).nullish();
type Metadata = z.infer<typeof metadata>;

const envelopeSchema = z.looseObject({
  id: z.string().min(1).max(200),
  object: z.literal('event'),
  type: z.string().min(1),
  created: unixSeconds,
  api_version: z.string().nullish(),
  livemode: z.boolean().optional(),
  data: z.looseObject({ object: z.looseObject({}), previous_attributes: z.looseObject({}).optional() }),
});
/** The envelope as validated; `data.object` is checked per event type by its handler. */
type StripeEventEnvelope = z.infer<typeof envelopeSchema>;
/** The schemas' quick yes (quick-check.ts): a payload it accepts is read as it is; any other goes through zod. */
const envelopeAccepted = quickCheck(envelopeSchema);
const sourceEventAccepted = quickCheck(SourceEventSchema);

const customerSchema = z.looseObject({
  id: objectId,
  object: z.literal('customer'),
  name: z.string().nullish(),
  email: z.string().nullish(),
  currency: z.string().nullish(),
  balance: minorUnits,
  delinquent: z.boolean().nullish(),
  invoice_settings: z.looseObject({ default_payment_method: stripeRef.nullish() }).nullish(),
  metadata,
});

const priceSchema = z.looseObject({
  id: objectId,
  nickname: z.string().nullish(),
  product: stripeRef.nullish(),
  // null for tiered and custom-amount prices: they add nothing we can count to MRR.
  unit_amount: minorUnits.nullable(),
  recurring: z
    .looseObject({
      interval: z.enum(['day', 'week', 'month', 'year']),
      interval_count: z.number().int().positive(),
      usage_type: z.string().optional(),
    })
    .nullable(),
});

const subscriptionSchema = z.looseObject({
  id: objectId,
  object: z.literal('subscription'),
  customer: stripeRef,
  status: z.string().min(1),
  currency: z.string().min(1),
  cancel_at_period_end: z.boolean(),
  ended_at: unixSeconds.nullish(),
  canceled_at: unixSeconds.nullish(),
  // Only API versions before 2025-03-31 send it here; newer ones put it on each item.
  current_period_end: unixSeconds.nullish(),
  trial_end: unixSeconds.nullish(),
  items: z.looseObject({
    data: z.array(
      z.looseObject({
        price: priceSchema,
        quantity: z.number().int().nonnegative().optional(),
        current_period_end: unixSeconds.optional(),
      }),
    ),
  }),
  metadata,
});

const invoiceSchema = z.looseObject({
  id: objectId,
  object: z.literal('invoice'),
  customer: stripeRef.nullish(),
  customer_email: z.string().nullish(),
  number: z.string().nullable(),
  status: z.string().nullable(),
  currency: z.string().min(1),
  total: minorUnits,
  amount_due: minorUnits,
  amount_paid: minorUnits,
  amount_remaining: minorUnits,
  due_date: unixSeconds.nullable(),
  created: unixSeconds,
  hosted_invoice_url: z.string().nullish(),
  invoice_pdf: z.string().nullish(),
  // Older API versions link the subscription directly, newer ones through `parent`.
  subscription: stripeRef.nullish(),
  parent: z.looseObject({ subscription_details: z.looseObject({ subscription: stripeRef }).nullish() }).nullish(),
  metadata,
});

const paymentMethodSchema = z.looseObject({
  id: objectId,
  object: z.literal('payment_method'),
  type: z.string().min(1),
  customer: stripeRef.nullish(),
});
/** The type-specific hash (`card`, `sepa_debit`, `us_bank_account`…) holds brand and last4. */
const paymentDetailsSchema = z.looseObject({ brand: z.string().nullish(), last4: z.string().nullish() });

const chargeSchema = z.looseObject({
  id: objectId,
  object: z.literal('charge'),
  customer: stripeRef.nullish(),
  // Removed from charges in API version 2025-03-31; older endpoints still send it.
  invoice: stripeRef.nullish(),
  amount: minorUnits,
  amount_refunded: minorUnits,
  refunded: z.boolean(),
  currency: z.string().min(1),
});

// ---- mapping ------------------------------------------------------------------

interface Mapped {
  objectId: string;
  refs: ScreenedRefs;
  data: EventData;
}
type ScreenedRefs = { refs: CustomerRefs; refused: RefusedRef[] };
type Mapper<T> = (object: T, event: StripeEventEnvelope, keys: StripeCrossIdKeys) => Mapped;
export type StripeEventHandler = (
  event: StripeEventEnvelope,
  keys: StripeCrossIdKeys,
  accountId: string | null,
) => ParseResult;

const DELETING_TYPES = new Set(['customer.deleted', 'customer.subscription.deleted', 'invoice.deleted']);

const isoFromUnix = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** The customer, its email and the metadata's cross-ids, each checked by its system's shape (ids.ts). */
function buildRefs(
  parts: { customerId?: string | undefined; email?: string | null | undefined; metadata?: Metadata },
  keys: StripeCrossIdKeys,
): ScreenedRefs {
  const meta = parts.metadata ?? {};
  return screenRefs({
    stripeCustomerId: parts.customerId,
    email: parts.email,
    salesforceAccountId: crossId(meta, keys.salesforceAccountId),
    zendeskOrganizationId: crossId(meta, keys.zendeskOrganizationId),
  });
}

/** A metadata value under its own key only (never one inherited from Object.prototype). */
const crossId = (meta: Record<string, string>, key: string): string | undefined =>
  Object.hasOwn(meta, key) ? meta[key] : undefined;

const INTERVALS_PER_YEAR = { day: 365, week: 52, month: 12, year: 1 } as const;

/** Sum of every item's recurring amount per month, rounded once at the end. */
function monthlyRecurringRevenue(items: z.infer<typeof subscriptionSchema>['items']['data']): number {
  let total = 0;
  for (const { price, quantity } of items) {
    // A metered item's quantity is not what it bills, and its usage is unknown here.
    if (!price.recurring || price.unit_amount === null || price.recurring.usage_type === 'metered') continue;
    const perYear = INTERVALS_PER_YEAR[price.recurring.interval] / price.recurring.interval_count;
    total += (price.unit_amount * (quantity ?? 1) * perYear) / 12;
  }
  return Math.round(total);
}

const mapCustomer: Mapper<z.infer<typeof customerSchema>> = (c, _event, keys) => ({
  objectId: c.id,
  refs: buildRefs({ customerId: c.id, email: c.email, metadata: c.metadata }, keys),
  data: {
    kind: 'stripe.customer',
    name: c.name ?? null,
    email: c.email ?? null,
    currency: c.currency ?? null,
    balance: c.balance,
    delinquent: c.delinquent ?? null,
    defaultPaymentMethodId: idOf(c.invoice_settings?.default_payment_method) ?? null,
    metadata: keys.kept
      ? pick(c.metadata ?? {}, [keys.salesforceAccountId, keys.zendeskOrganizationId, ...keys.kept.customerMetadata])
      : (c.metadata ?? {}),
  },
});

const mapSubscription: Mapper<z.infer<typeof subscriptionSchema>> = (s, _event, keys) => {
  const first = s.items.data[0];
  const periodEnd = s.current_period_end ?? first?.current_period_end;
  const product = first?.price.product;
  return {
    objectId: s.id,
    refs: buildRefs({ customerId: idOf(s.customer), metadata: s.metadata }, keys),
    data: {
      kind: 'stripe.subscription',
      id: s.id,
      status: s.status,
      planName: first?.price.nickname ?? (typeof product === 'string' ? product : null),
      priceId: first?.price.id ?? null,
      currency: s.currency,
      mrr: monthlyRecurringRevenue(s.items.data),
      currentPeriodEnd: periodEnd === undefined || periodEnd === null ? null : isoFromUnix(periodEnd),
      cancelAtPeriodEnd: s.cancel_at_period_end,
      endedAt:
        s.ended_at != null
          ? isoFromUnix(s.ended_at)
          : s.status === 'canceled' && s.canceled_at != null
            ? isoFromUnix(s.canceled_at)
            : null,
      ...(keys.kept?.subscriptionMetadata.length
        ? { metadata: pick(s.metadata ?? {}, keys.kept.subscriptionMetadata) }
        : {}),
      ...(keys.kept?.trialEnd ? { trialEnd: s.trial_end == null ? null : isoFromUnix(s.trial_end) } : {}),
    },
  };
};

const mapInvoice: Mapper<z.infer<typeof invoiceSchema>> = (i, _event, keys) => ({
  objectId: i.id,
  refs: buildRefs({ customerId: idOf(i.customer), email: i.customer_email, metadata: i.metadata }, keys),
  data: {
    kind: 'stripe.invoice',
    id: i.id,
    number: i.number,
    status: i.status,
    currency: i.currency,
    total: i.total,
    amountDue: i.amount_due,
    amountPaid: i.amount_paid,
    amountRemaining: i.amount_remaining,
    dueDate: i.due_date === null ? null : isoFromUnix(i.due_date),
    createdAt: isoFromUnix(i.created),
    hostedInvoiceUrl: i.hosted_invoice_url ?? null,
    invoicePdf: i.invoice_pdf ?? null,
    subscriptionId: idOf(i.subscription) ?? idOf(i.parent?.subscription_details?.subscription) ?? null,
  },
});

const mapPaymentMethod =
  (attached: boolean): Mapper<z.infer<typeof paymentMethodSchema>> =>
  (pm, event, keys) => {
    // A detached method no longer names its customer; the event keeps who it was.
    const previous = stripeRef.safeParse(event.data.previous_attributes?.['customer']);
    const customerId = idOf(pm.customer) ?? (previous.success ? idOf(previous.data) : undefined);
    const details = Object.hasOwn(pm, pm.type) ? paymentDetailsSchema.safeParse(pm[pm.type]) : undefined;
    return {
      objectId: pm.id,
      refs: buildRefs({ customerId }, keys),
      data: {
        kind: 'stripe.payment_method',
        id: pm.id,
        type: pm.type,
        attached,
        brand: details?.success ? (details.data.brand ?? null) : null,
        last4: details?.success ? (details.data.last4 ?? null) : null,
      },
    };
  };

const mapCharge: Mapper<z.infer<typeof chargeSchema>> = (c, _event, keys) => ({
  objectId: c.id,
  refs: buildRefs({ customerId: idOf(c.customer) }, keys),
  data: {
    kind: 'stripe.charge',
    id: c.id,
    invoiceId: idOf(c.invoice) ?? null,
    amount: c.amount,
    amountRefunded: c.amount_refunded,
    refunded: c.refunded,
    currency: c.currency,
  },
});

/** Validates `data.object` against its schema (so errors name `data.object.<field>`), then maps it. */
function handler<S extends z.ZodType>(objectSchema: S, map: Mapper<z.output<S>>): StripeEventHandler {
  const schema = z.looseObject({ data: z.looseObject({ object: objectSchema }) });
  const accepted = quickCheck(schema);
  return (event, keys, accountId) => {
    const parsed = accepted(event) ? { success: true as const, data: event } : schema.safeParse(event);
    if (!parsed.success) return { kind: 'invalid', reason: describeZodError(parsed.error), eventId: event.id };
    // zod cannot carry a generic S through looseObject's inferred type; the check above checked it.
    const mapped = map(parsed.data.data.object as z.output<S>, event, keys);
    // A last check against the queue's own schema: an out-of-range amount, say, is quarantined
    // here instead of failing every time a worker reads the job.
    const checked = checkedSourceEvent(
      withRefused(
        {
          v: 1,
          source: 'stripe',
          eventId: event.id,
          type: event.type,
          objectId: mapped.objectId,
          version: event.created * 1000,
          origin: 'webhook',
          deleted: DELETING_TYPES.has(event.type),
          // The account is the edge's word (the secret that verified the delivery), never the payload's alone.
          refs: accountId === null ? mapped.refs.refs : { ...mapped.refs.refs, stripeAccountId: accountId },
          data: mapped.data,
        },
        mapped.refs.refused,
      ),
    );
    if (!checked.success) return { kind: 'invalid', reason: describeZodError(checked.error), eventId: event.id };
    return { kind: 'events', events: [checked.data] };
  };
}

/** The queue's own schema's verdict on a mapped event: quickly when it is plainly valid (quick-check.ts), else zod's. */
function checkedSourceEvent(event: unknown): ReturnType<typeof SourceEventSchema.safeParse> {
  return sourceEventAccepted(event)
    ? { success: true, data: event as SourceEvent }
    : SourceEventSchema.safeParse(event);
}

const ignore =
  (reason: string): StripeEventHandler =>
  (event) => ({ kind: 'ignored', reason, eventId: event.id });

const customer = handler(customerSchema, mapCustomer);
const subscription = handler(subscriptionSchema, mapSubscription);
const invoice = handler(invoiceSchema, mapInvoice);

/** Every Stripe event type we use, and how to read it; any other type is ignored. */
export const STRIPE_EVENT_KINDS: ReadonlyMap<string, StripeEventHandler> = new Map<string, StripeEventHandler>([
  ...['created', 'updated', 'deleted'].map((t) => [`customer.${t}`, customer] as const),
  ...[
    'created',
    'updated',
    'deleted',
    'paused',
    'resumed',
    'trial_will_end',
    'pending_update_applied',
    'pending_update_expired',
  ].map((t) => [`customer.subscription.${t}`, subscription] as const),
  ...[
    'created',
    'finalized',
    'paid',
    'payment_succeeded',
    'payment_failed',
    'voided',
    'marked_uncollectible',
    'updated',
    'sent',
    'overdue',
    'deleted',
    'finalization_failed',
    'payment_action_required',
  ].map((t) => [`invoice.${t}`, invoice] as const),
  // A preview of the next invoice: it has no id and is not a record of anything yet.
  ['invoice.upcoming', ignore('invoice.upcoming is a preview without an id')],
  ['payment_method.attached', handler(paymentMethodSchema, mapPaymentMethod(true))],
  ['payment_method.detached', handler(paymentMethodSchema, mapPaymentMethod(false))],
  ['charge.refunded', handler(chargeSchema, mapCharge)],
]);

/**
 * Reads one verified Stripe event of account `accountId` (`acct_…`; null: the unnamed account of a
 * single-account deployment), whose customers it keys. Never throws: anything that is not an event, or a
 * known event with a broken object, comes back as `invalid`.
 */
export function parseStripeEvent(
  event: unknown,
  keys: StripeCrossIdKeys = STRIPE_CROSS_ID_KEYS,
  accountId: string | null = null,
): ParseResult {
  const envelope = envelopeAccepted(event)
    ? { success: true as const, data: event as StripeEventEnvelope }
    : envelopeSchema.safeParse(event);
  if (!envelope.success) {
    return { kind: 'invalid', reason: `not a Stripe event: ${describeZodError(envelope.error)}` };
  }
  const { type, id } = envelope.data;
  const handle = STRIPE_EVENT_KINDS.get(type);
  if (!handle) return { kind: 'ignored', reason: `unhandled event type ${type}`, eventId: id };
  return handle(envelope.data, keys, accountId);
}
