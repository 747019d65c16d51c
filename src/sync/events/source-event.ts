/**
 * The one shape every inbound change takes once it has crossed the edge:
 * webhooks, portal activity and (later) resync snapshots all become
 * SourceEvents, are validated again when a worker reads them from the queue,
 * and carry `v: 1` so that a rolling deploy can still read older jobs.
 *
 * This module imports no SDK: connectors depend on it, never the reverse.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { normalizeEmail, RefusedRefSchema } from './ids.js';
import { SOURCES, type Source } from '../source-names.js';

export { normalizeEmail };

/** The categories a ticket is classified into (config's ticketCategories rules); deflection counts by them. */
export const TICKET_CATEGORIES = ['billing', 'documents', 'account', 'status', 'onboarding', 'other'] as const;
export type TicketCategory = (typeof TICKET_CATEGORIES)[number];

export { SOURCES, type Source } from '../source-names.js';
const SourceSchema = z.enum(SOURCES);

const isoDate = z.iso.datetime({ offset: true });
/**
 * A Zendesk brand id as events carry it: a positive integer, kept as a string like every Zendesk id.
 * Optional in the data schemas below: jobs of releases before brands were read have none.
 */
export const BrandIdSchema = z.string().regex(/^[1-9]\d{0,19}$/, 'expected a Zendesk brand id (a positive integer)');
const money = z.number().int(); // minor units (cents), as Stripe sends them

/** Everything an event knows about whose data it is; identity resolution reads these. */
const CustomerRefsSchema = z
  .object({
    stripeCustomerId: z.string().min(1),
    /**
     * The Stripe account (`acct_…`) the customer lives in: scopes its key (`stripe:<acct_…>:<cus_…>`), so equal
     * customer ids of two accounts never meet. Absent for the unnamed account of a single-account deployment
     * (and in jobs of earlier releases): key `stripe:<cus_…>`.
     */
    stripeAccountId: z.string().regex(/^acct_[A-Za-z0-9]{1,64}$/),
    salesforceAccountId: z.string().min(1),
    salesforceContactId: z.string().min(1),
    zendeskOrganizationId: z.string().min(1),
    zendeskUserId: z.string().min(1),
    /** Normalized by ids.ts normalizeEmail (NFKC + case folding). */
    email: z.string().min(3),
  })
  .partial()
  .strict();
export type CustomerRefs = z.infer<typeof CustomerRefsSchema>;

// ---- normalized partial data, one schema per object kind -------------------

export const StripeCustomerData = z.object({
  kind: z.literal('stripe.customer'),
  name: z.string().nullable(),
  email: z.string().nullable(),
  currency: z.string().nullable(),
  balance: money,
  delinquent: z.boolean().nullable(),
  defaultPaymentMethodId: z.string().nullable(),
  /** The metadata's cross-system ids (e.g. salesforce_account_id), and the keys a field mapping names. */
  metadata: z.record(z.string(), z.string()),
});

export const StripeSubscriptionData = z.object({
  kind: z.literal('stripe.subscription'),
  id: z.string(),
  status: z.string(),
  planName: z.string().nullable(),
  priceId: z.string().nullable(),
  currency: z.string(),
  /** Monthly recurring revenue in minor units, normalized from every item's interval. */
  mrr: money,
  currentPeriodEnd: isoDate.nullable(),
  cancelAtPeriodEnd: z.boolean(),
  /** When it ended (Stripe's ended_at), for a canceled or expired subscription; absent in jobs of older releases. */
  endedAt: isoDate.nullable().optional(),
  /** Only the metadata keys a field mapping names (config `mapping:`); absent when it names none. */
  metadata: z.record(z.string(), z.string()).optional(),
  /** Stripe's trial_end, only while a field mapping names it. */
  trialEnd: isoDate.nullable().optional(),
});

export const StripeInvoiceData = z.object({
  kind: z.literal('stripe.invoice'),
  id: z.string(),
  number: z.string().nullable(),
  status: z.string().nullable(),
  currency: z.string(),
  total: money,
  amountDue: money,
  amountPaid: money,
  amountRemaining: money,
  dueDate: isoDate.nullable(),
  createdAt: isoDate,
  hostedInvoiceUrl: z.string().nullable(),
  invoicePdf: z.string().nullable(),
  subscriptionId: z.string().nullable(),
  /** Set by charge.refunded: how much of this invoice's payment went back. */
  amountRefunded: money.optional(),
});

export const StripePaymentMethodData = z.object({
  kind: z.literal('stripe.payment_method'),
  id: z.string(),
  type: z.string(),
  attached: z.boolean(),
  brand: z.string().nullable(),
  last4: z.string().nullable(),
});

export const StripeChargeData = z.object({
  kind: z.literal('stripe.charge'),
  id: z.string(),
  invoiceId: z.string().nullable(),
  amount: money,
  amountRefunded: money,
  refunded: z.boolean(),
  currency: z.string(),
});

export const SalesforceAccountData = z.object({
  kind: z.literal('salesforce.account'),
  /** Every field the message carried, by Salesforce API name; mapping is config. */
  fields: z.record(z.string(), z.string().nullable()),
});

export const SalesforceContactData = z.object({
  kind: z.literal('salesforce.contact'),
  accountId: z.string().nullable(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  fields: z.record(z.string(), z.string().nullable()),
});

export const ZendeskOrganizationData = z.object({
  kind: z.literal('zendesk.organization'),
  id: z.string(),
  name: z.string().nullable(),
  externalId: z.string().nullable(),
  tags: z.array(z.string()).nullable(),
  /**
   * organization_fields as the API reads them (resync, reconcile, refetch; webhooks do not carry them), only the
   * keys a field mapping names (a multiselect's values joined with ", "); absent when it names none.
   */
  fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
});

export const ZendeskUserData = z.object({
  kind: z.literal('zendesk.user'),
  id: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  externalId: z.string().nullable(),
  organizationId: z.string().nullable(),
  role: z.string().nullable(),
});

export const ZendeskTicketData = z.object({
  kind: z.literal('zendesk.ticket'),
  id: z.string(),
  subject: z.string().nullable(),
  description: z.string().nullable(),
  status: z.string().nullable(),
  priority: z.string().nullable(),
  formId: z.string().nullable(),
  tags: z.array(z.string()),
  requesterId: z.string().nullable(),
  organizationId: z.string().nullable(),
  createdAt: isoDate.nullable(),
  updatedAt: isoDate.nullable(),
  /** The ticket's brand (Zendesk assigns one to every ticket); null when the payload did not say (an older trigger body). */
  brandId: BrandIdSchema.nullable().optional(),
  /**
   * Set by the events worker from the `ticketCategories` rules before the event is stored (never by
   * a parser): absent on events stored before classification existed.
   */
  category: z.enum(TICKET_CATEGORIES).optional(),
});

export const PORTAL_ACTIVITY_TYPES = [
  'session_start',
  'search',
  'article_view',
  'invoice_view',
  'invoice_download',
  'ticket_status_view',
  'account_update',
  'ticket_form_opened',
  'case_deflection',
] as const;

const PortalActivityData = z.object({
  kind: z.literal('portal.activity'),
  activity: z.enum(PORTAL_ACTIVITY_TYPES),
  sessionId: z.string().nullable(),
  query: z.string().nullable(),
  resultCount: z.number().int().nonnegative().nullable(),
  articleId: z.string().nullable(),
  invoiceId: z.string().nullable(),
  ticketId: z.string().nullable(),
  /** The Help Center brand the activity happened on (the sender's brand_id, or the brand of the page's host); absent when unknown. */
  brandId: BrandIdSchema.nullable().optional(),
  /** Free-form, flat, small: the portal's own extra properties. */
  properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});

const EventDataSchema = z.discriminatedUnion('kind', [
  StripeCustomerData,
  StripeSubscriptionData,
  StripeInvoiceData,
  StripePaymentMethodData,
  StripeChargeData,
  SalesforceAccountData,
  SalesforceContactData,
  ZendeskOrganizationData,
  ZendeskUserData,
  ZendeskTicketData,
  PortalActivityData,
]);
export type EventData = z.infer<typeof EventDataSchema>;
export type EventDataKind = EventData['kind'];
export type EventDataOf<K extends EventDataKind> = Extract<EventData, { kind: K }>;

/**
 * Which way a job came in: `realtime` (a webhook, or one the reconciler found missed, through ingest), `resync`
 * (`portal-sync resync`) or `reconcile` (a reconcile pass's drift). Resync and reconcile work is pushed in bulk
 * behind real-time work (src/sync/pipeline.ts).
 */
const JobLaneSchema = z.enum(['realtime', 'resync', 'reconcile']);
export type JobLane = z.infer<typeof JobLaneSchema>;

export const SourceEventSchema = z
  .object({
    v: z.literal(1),
    source: SourceSchema,
    /** The provider's own id for this delivery's event; the dedupe key together with `source`. */
    eventId: z.string().min(1).max(200),
    /** The provider's event name as it arrived, e.g. `customer.subscription.updated`. */
    type: z.string().min(1),
    /** Id of the object the event is about, in the provider's namespace. */
    objectId: z.string().min(1),
    /**
     * The SOURCE version of the object, in ms since the epoch: Stripe event
     * `created`, Salesforce SystemModstamp, Zendesk updated_at. Merge orders by it.
     */
    version: z.number().int().nonnegative(),
    /**
     * How fine `version` is when it is coarser than a millisecond (Zendesk's ticket trigger placeholder
     * has minute resolution): a write of the same object within that much of the stored one, with other
     * content, cannot be ordered by version and is settled by reading the object back (a tie).
     */
    versionPrecisionMs: z.number().int().min(2).max(3_600_000).optional(),
    /** `webhook` or `snapshot` (resync); a snapshot never overwrites newer data. */
    origin: z.enum(['webhook', 'snapshot']),
    deleted: z.boolean(),
    refs: CustomerRefsSchema,
    /**
     * Ids the payload named that failed their system's shape (ids.ts): not in `refs`, so they link
     * nothing; the store records them for admins. Absent when there were none.
     */
    refused: z.array(RefusedRefSchema).max(12).optional(),
    data: EventDataSchema,
    /**
     * The job's lane, set by the producer (ingest, the resync runner, the reconciler). Optional both ways in a
     * rolling deploy: jobs queued by a release before it have none (pipeline.ts reads their job id instead), and a
     * release before it refuses job data with it (strict), so workers are upgraded before producers
     * (docs/runbooks.md). Events as parsed from a payload have none.
     */
    lane: JobLaneSchema.optional(),
  })
  .strict();
export type SourceEvent = z.infer<typeof SourceEventSchema>;

/**
 * What a pure parser says about one verified wire payload. Only src/webhooks
 * turns these into HTTP status codes.
 */
export type ParseResult =
  | { kind: 'events'; events: SourceEvent[] }
  /** A well-formed event of a type we do not use: 200, counted, nothing kept. */
  | { kind: 'ignored'; reason: string; eventId?: string }
  /** A known event type whose payload fails its schema: 202, quarantined. */
  | { kind: 'invalid'; reason: string; eventId?: string };

const PLAIN_EVENT_ID = /^[A-Za-z0-9_.-]+$/;

/**
 * The BullMQ job id of an event, also the name of its dedupe mark: one per (source, event id), never shared
 * by two events (BullMQ rejects ':' in custom ids). An id of plain characters keeps its readable
 * `<source>-<id>` form, the form every release used, so a rolling deploy still drops its redeliveries. Any
 * other id becomes `<source>=<sha256 of the id>`: '=' never occurs in the plain form, so the two forms cannot
 * meet, where the old escaping turned `X:1` and `X_1` (or two CJK ids of one length) into one id. Hashed as
 * UTF-16 code units: UTF-8 would turn every lone surrogate into U+FFFD.
 */
export function jobIdFor(source: Source, eventId: string): string {
  return PLAIN_EVENT_ID.test(eventId)
    ? `${source}-${eventId}`
    : `${source}=${createHash('sha256').update(eventId, 'utf16le').digest('hex')}`;
}

/** Render a zod error as one line a person can act on. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
