/**
 * The stored customer record. Per source it keeps the ENTITIES that source
 * owns, each with last-writer-wins metadata (a Stamp), and it stores the
 * groups the portal shows (`derived`) only as a projection of those
 * entities. Because every entity is resolved on its own by a total order,
 * the record is the same whatever order the events arrived in.
 *
 * Nothing here reads the clock: the same events must give a byte-identical
 * record, so a stamp only holds what the event itself says.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  SalesforceAccountData,
  SalesforceContactData,
  StripeChargeData,
  StripeCustomerData,
  StripeInvoiceData,
  StripePaymentMethodData,
  StripeSubscriptionData,
  ZendeskOrganizationData,
  ZendeskTicketData,
  ZendeskUserData,
} from './source-event.js';

const isoDate = z.iso.datetime({ offset: true });
const money = z.number().int();

const StampSchema = z.strictObject({
  /** The entity's id in its source; part of the hash, so equal hashes mean the same object too. */
  objectId: z.string().min(1),
  /** Source version in ms (never arrival time). */
  version: z.number().int().nonnegative(),
  /** 1 = an authoritative refetch from the source API: it beats webhooks and snapshots of the same version. */
  /** 0: a webhook's write; n > 0: the source API's object, refetched to settle a tie at rank n - 1 (it wins over both). */
  rank: z.number().int().min(0).max(1_000),
  /**
   * contentHash of the canonical JSON of { objectId, data, deleted }: the last tie-break, and "same content".
   * Records of earlier releases hold the whole sha256 (64 digits): compared by their first 16 (sameContent).
   */
  hash: z.string().regex(/^[0-9a-f]{16}(?:[0-9a-f]{48})?$/),
  eventId: z.string().min(1),
  type: z.string().min(1),
  origin: z.enum(['webhook', 'snapshot', 'refetch']),
  deleted: z.boolean(),
  /** The write's version resolution when coarser than a millisecond (the Zendesk trigger's minute): a later write within it is a tie. */
  precisionMs: z.number().int().min(2).max(3_600_000).optional(),
});
export type Stamp = z.infer<typeof StampSchema>;

/** The part of a stamp that orders writes; kept per attribute for sources that send partial objects. */
const FieldStampSchema = StampSchema.pick({ version: true, rank: true, hash: true });
export type FieldStamp = z.infer<typeof FieldStampSchema>;

function entrySchema<T extends z.ZodType>(data: T) {
  return z.strictObject({
    data,
    stamp: StampSchema,
    /**
     * Only for kinds whose events carry part of the object (Salesforce CDC
     * updates, some Zendesk events): which write each attribute came from.
     */
    fieldStamps: z.record(z.string(), FieldStampSchema).optional(),
  });
}
export type Entry<T> = { data: T; stamp: Stamp; fieldStamps?: Record<string, FieldStamp> | undefined };
const entries = <T extends z.ZodType>(data: T) => z.record(z.string(), entrySchema(data));

// ---- derived views (computed by project.ts; defined here so the record schema has no import cycle) ----

const ContactLinkSchema = z.strictObject({
  email: z.string().nullable(),
  name: z.string().nullable(),
  salesforceContactId: z.string().nullable(),
  zendeskUserId: z.string().nullable(),
});
/** The invoice as the portal shows it: Stripe's invoice data with the refunds of its charges summed in. */
const InvoiceViewSchema = StripeInvoiceData.omit({ kind: true, subscriptionId: true, amountRefunded: true })
  .extend({ amountRefunded: money })
  .strict();
const TicketViewSchema = z.strictObject({
  id: z.string(),
  subject: z.string().nullable(),
  status: z.string().nullable(),
  priority: z.string().nullable(),
  category: z.string().nullable(),
  updatedAt: isoDate.nullable(),
  /** The ticket's Zendesk brand; absent when unknown (and in records stored before brands were read). */
  brandId: z.string().optional(),
});
const BillingViewSchema = z.strictObject({
  status: z.string().nullable(),
  plan: z.string().nullable(),
  currency: z.string().nullable(),
  mrr: money,
  balance: money.nullable(),
  nextInvoiceDate: isoDate.nullable(),
  /** When the subscription shown ended (canceled, incomplete_expired); null while it still bills. */
  endedAt: isoDate.nullable(),
  delinquent: z.boolean(),
  paymentMethodOnFile: z.boolean(),
  customerDeleted: z.boolean(),
});
export const DerivedSchema = z.strictObject({
  links: z.strictObject({
    stripeCustomerId: z.string().nullable(),
    /** The Stripe account (`acct_…`) of stripeCustomerId, from the record's key (push/worker.ts linksFor); absent for the unnamed account. */
    stripeAccountId: z.string().optional(),
    salesforceAccountId: z.string().nullable(),
    zendeskOrganizationId: z.string().nullable(),
    contacts: z.array(ContactLinkSchema),
  }),
  profile: z
    .strictObject({
      name: z.string().nullable(),
      primaryEmail: z.string().nullable(),
      ownerId: z.string().nullable(),
      tier: z.string().nullable(),
    })
    .nullable(),
  billing: BillingViewSchema.nullable(),
  invoices: z.array(InvoiceViewSchema),
  support: z
    .strictObject({
      openTicketCount: z.number().int().nonnegative(),
      tickets: z.array(TicketViewSchema),
      /** The Zendesk brands this customer's tickets are on, ascending; absent when none is known. */
      brandIds: z.array(z.string()).optional(),
    })
    .nullable(),
  selfService: z.strictObject({
    lastActivityAt: isoDate.nullable(),
    /** The Zendesk brands whose Help Centers the customer has been active on, ascending; absent when none is known. */
    brandIds: z.array(z.string()).optional(),
  }),
});
export type Derived = z.infer<typeof DerivedSchema>;
export type ContactLink = z.infer<typeof ContactLinkSchema>;
export type InvoiceView = z.infer<typeof InvoiceViewSchema>;
export type TicketView = z.infer<typeof TicketViewSchema>;
export type BillingView = z.infer<typeof BillingViewSchema>;

// ---- the record ----------------------------------------------------------------

export const CustomerRecordSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1),
  stripe: z.strictObject({
    customer: entrySchema(StripeCustomerData).nullable(),
    subscriptions: entries(StripeSubscriptionData),
    invoices: entries(StripeInvoiceData),
    paymentMethods: entries(StripePaymentMethodData),
    charges: entries(StripeChargeData),
  }),
  salesforce: z.strictObject({
    account: entrySchema(SalesforceAccountData).nullable(),
    contacts: entries(SalesforceContactData),
  }),
  zendesk: z.strictObject({
    organization: entrySchema(ZendeskOrganizationData).nullable(),
    users: entries(ZendeskUserData),
    tickets: entries(ZendeskTicketData),
  }),
  /** Only the newest activity; portal activity is a stream, not an entity. */
  portal: z.strictObject({
    lastActivityAt: isoDate.nullable(),
    lastActivityEventId: z.string().nullable(),
    /** Every Zendesk brand its activity named (a set: merged by union, so order never matters); at most MAX_SEEN_BRANDS. */
    brandIds: z
      .array(z.string().regex(/^[1-9]\d{0,19}$/))
      .max(64)
      .optional(),
  }),
  /** project(record), stored so that readers do not recompute it. */
  derived: DerivedSchema,
});
export type CustomerRecord = z.infer<typeof CustomerRecordSchema>;

/** What project() returns for a record with no entities (kept literal here to avoid an import cycle; a test checks it). */
const EMPTY_DERIVED: Derived = {
  links: { stripeCustomerId: null, salesforceAccountId: null, zendeskOrganizationId: null, contacts: [] },
  profile: null,
  billing: null,
  invoices: [],
  support: null,
  selfService: { lastActivityAt: null },
};

export function emptyRecord(id: string): CustomerRecord {
  return {
    v: 1,
    id,
    stripe: { customer: null, subscriptions: {}, invoices: {}, paymentMethods: {}, charges: {} },
    salesforce: { account: null, contacts: {} },
    zendesk: { organization: null, users: {}, tickets: {} },
    portal: { lastActivityAt: null, lastActivityEventId: null },
    derived: structuredClone(EMPTY_DERIVED),
  };
}

// ---- canonical JSON ----------------------------------------------------------------

/** Objects with more keys than this are sorted by Array.prototype.sort: an insertion sort is quadratic. */
const INSERTION_SORT_MAX = 32;

/**
 * Sorts keys in code-unit order (keys are never equal). Most objects have few keys, often in order already (a
 * stored record's, an earlier canonical copy's): an insertion sort where they stand, with no allocation and a
 * single pass for keys in order. Array.prototype.sort copies them first, on every object of every event.
 */
function sortInPlace(keys: string[]): void {
  if (keys.length > INSERTION_SORT_MAX) {
    for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return void keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    if (keys[j]! < k) continue;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
}

/**
 * A deep copy with object keys sorted and undefined properties dropped, so
 * that equal content serializes to equal bytes whatever order it was built
 * in. Keys are defined with Object.fromEntries, so an id like `__proto__`
 * stays an ordinary own property.
 */
export function canonical<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = canonical(value[i] as unknown);
    return copy as T;
  }
  // Plain loops, no intermediate arrays: every stored event runs this over its entry and the derived views.
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source);
  sortInPlace(keys);
  const copy: Record<string, unknown> = {};
  for (const k of keys) {
    const v = source[k];
    if (v === undefined) continue;
    // An outside id may be `__proto__`: defined as an own property, never as the object's prototype.
    if (k === '__proto__')
      Object.defineProperty(copy, k, { value: canonical(v), enumerable: true, writable: true, configurable: true });
    else copy[k] = canonical(v);
  }
  return copy as T;
}

export function stableStringify(value: unknown): string {
  return JSON.stringify(canonical(value));
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Hex digits of a stored content hash: 64 bits, ample to tell two writes of one object at one version apart. */
const CONTENT_HASH_DIGITS = 16;

/**
 * The content hash a stamp stores: the first CONTENT_HASH_DIGITS of the sha256. A record holds one per entry
 * and per partial field (a Salesforce contact: one per field), so the whole 64 digits made up a third of it.
 */
export function contentHash(text: string): string {
  return sha256Hex(text).slice(0, CONTENT_HASH_DIGITS);
}

/** A stored content hash as compared: its first CONTENT_HASH_DIGITS (an earlier release's whole sha256 too). */
export function comparableHash(hash: string): string {
  return hash.length > CONTENT_HASH_DIGITS ? hash.slice(0, CONTENT_HASH_DIGITS) : hash;
}

/** Reads an own property only: a map keyed by outside ids must not see Object.prototype. */
export function own<V>(map: Record<string, V> | undefined, key: string): V | undefined {
  return map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
}
