/**
 * What the Zendesk target writes, as values: the organization/user field set
 * of one customer and one custom object record per invoice, both in the
 * forms Zendesk's field types take. Pure; the diff against what Zendesk last
 * accepted decides which keys and which records are sent at all.
 *
 * Value formats (Zendesk custom field types):
 * - money (mrr, balance, invoice amounts): `decimal` fields, a number in MAJOR
 *   units (14700 cents → 147, 14999 → 149.99). Stripe amounts are in the
 *   currency's minor unit, so JPY 5000 stays 5000 and KWD 5124 becomes 5.124.
 *   A negative balance is a credit, as in Stripe.
 * - dates (next invoice, due date): `date` fields, `YYYY-MM-DD`, the UTC day.
 * - delinquent: `checkbox`, a boolean. Open invoices: `integer`.
 * - status, plan, number, currency (upper-case ISO 4217), URLs: text.
 */
import type { Config } from '../../config.js';
import type { PortalProjection } from '../../sync/events/project.js';
import type { InvoiceView } from '../../sync/events/record.js';
import { invoiceValues, toIsoDay, toMajorUnits } from '../money.js';

export { toMajorUnits };

export type ZendeskTargetConfig = Config['targets']['zendesk'];
type FieldValue = string | number | boolean | null;
export type FieldSet = Record<string, FieldValue>;

/** An ISO timestamp as the `YYYY-MM-DD` a Zendesk date field takes (UTC day). */
export const toZendeskDate = toIsoDay;

/**
 * The billing fields of a projection, keyed by the configured Zendesk field
 * keys, or null when the customer has no billing data. MRR and balance take
 * the billing view's currency, else the newest invoice's (customers bill in
 * one currency in Stripe); with neither they count as two-decimal.
 */
export function billingFields(p: PortalProjection, cfg: ZendeskTargetConfig): FieldSet | null {
  const b = p.billing;
  if (b === null) return null;
  const currency = b.currency ?? p.invoices[0]?.currency;
  const f = cfg.fields;
  return {
    [f.status]: b.status,
    [f.plan]: b.plan,
    [f.mrr]: toMajorUnits(b.mrr, currency),
    [f.balance]: b.balance === null ? null : toMajorUnits(b.balance, currency),
    [f.nextInvoiceDate]: toZendeskDate(b.nextInvoiceDate),
    [f.delinquent]: b.delinquent,
    [f.openInvoices]: p.openInvoiceCount,
  };
}

/**
 * The fields of the customer's organization (or user, without one): the billing fields, and the fields
 * of the configured mapping for that kind of owner (`mapping.zendesk.organizationFields` / `userFields`).
 * Null when there is neither.
 */
export function ownerFields(p: PortalProjection, cfg: ZendeskTargetConfig, kind: Owner['kind']): FieldSet | null {
  const billing = billingFields(p, cfg);
  const mapped = kind === 'organization' ? p.mapped?.organizationFields : p.mapped?.userFields;
  return billing === null && mapped === undefined ? null : { ...billing, ...mapped };
}

/**
 * The keys to write and their values: everything on a first write, the
 * changed keys after that, and nulls for what was shown when billing data
 * (or a mapped field) disappears. Empty when nothing changed.
 */
export function changedFields(current: FieldSet | null, previous: FieldSet | null): FieldSet {
  if (current === null) {
    if (previous === null) return {};
    return Object.fromEntries(
      Object.entries(previous)
        .filter(([, v]) => v !== null)
        .map(([k]) => [k, null]),
    );
  }
  if (previous === null) return { ...current };
  const gone = Object.entries(previous)
    .filter(([k, v]) => v !== null && !Object.hasOwn(current, k))
    .map(([k]) => [k, null]);
  return Object.fromEntries([
    ...Object.entries(current).filter(([k, v]) => !Object.hasOwn(previous, k) || previous[k] !== v),
    ...gone,
  ]);
}

/** Where an invoice record points: the customer's organization, else its user. */
/** The profile type deflection events are filed under (with `profileEventSource` as their source). */
export const DEFLECTION_PROFILE_TYPE = 'customer';

export type Owner = { kind: 'organization' | 'user'; id: string };

export const NO_ZENDESK_OWNER = 'no Zendesk organization or user for this customer yet';

/** The one place a push may write: the linked organization, else the first linked user. */
export function ownerOf(links: {
  zendeskOrganizationId: string | null;
  contacts: ReadonlyArray<{ zendeskUserId: string | null }>;
}): Owner | null {
  if (links.zendeskOrganizationId !== null) return { kind: 'organization', id: links.zendeskOrganizationId };
  const userId = links.contacts.find((c) => c.zendeskUserId !== null)?.zendeskUserId;
  return userId ? { kind: 'user', id: userId } : null;
}

export interface InvoiceRecord {
  name: string;
  external_id: string;
  custom_object_fields: FieldSet;
}

/** One invoice as a custom object record, upserted by external id = the Stripe invoice id; `mapped`: its `mapping.zendesk.invoiceObject` fields. */
function invoiceRecord(i: InvoiceView, owner: Owner, cfg: ZendeskTargetConfig, mapped?: FieldSet): InvoiceRecord {
  const f = cfg.invoiceObject.fields;
  return {
    name: i.number ?? i.id,
    external_id: i.id,
    custom_object_fields: {
      ...mapped,
      ...invoiceValues(i, f),
      // Lookup relationship fields take the target record's id as a string.
      [owner.kind === 'organization' ? f.organization : f.user]: owner.id,
    },
  };
}

const sameRecord = (a: InvoiceRecord, b: InvoiceRecord): boolean =>
  a.name === b.name &&
  Object.entries(a.custom_object_fields).every(([k, v]) => b.custom_object_fields[k] === v) &&
  Object.keys(b.custom_object_fields).every((k) => Object.hasOwn(a.custom_object_fields, k));

/**
 * The invoice records to upsert: new invoices, and those whose record would
 * differ from the one written for the same id last time. Changes that show
 * nowhere in the record (e.g. amountRemaining) write nothing.
 */
export function changedInvoices(
  current: PortalProjection,
  previous: PortalProjection | null,
  owner: Owner,
  cfg: ZendeskTargetConfig,
): InvoiceRecord[] {
  const before = new Map(
    (previous?.invoices ?? []).map((i) => [
      i.id,
      invoiceRecord(i, owner, cfg, previous?.mapped?.invoiceObject?.[i.id]),
    ]),
  );
  return current.invoices
    .map((i) => invoiceRecord(i, owner, cfg, current.mapped?.invoiceObject?.[i.id]))
    .filter((r) => {
      const old = before.get(r.external_id);
      return old === undefined || !sameRecord(r, old);
    });
}

/**
 * The customer's billing status as one record of the status object (when `statusObject.enabled`),
 * upserted by external id `<organization|user>-<id>`: what end users read when their help center
 * has no help center JWTs. The customer-facing values only (never MRR or balance), under the keys
 * of `fields`, and the lookup to its owner. Null without billing data.
 */
function statusRecord(p: PortalProjection, owner: Owner, cfg: ZendeskTargetConfig): InvoiceRecord | null {
  const values = billingFields(p, cfg);
  if (values === null) return null;
  const f = cfg.fields;
  const pick = [f.status, f.plan, f.nextInvoiceDate, f.delinquent, f.openInvoices];
  const lookups = cfg.statusObject.fields;
  return {
    name: `Billing status of ${owner.kind} ${owner.id}`,
    external_id: `${owner.kind}-${owner.id}`,
    custom_object_fields: {
      ...Object.fromEntries(pick.map((k) => [k, values[k] ?? null])),
      [owner.kind === 'organization' ? lookups.organization : lookups.user]: owner.id,
    },
  };
}

/** The status record to upsert, or null when it is off, absent, or the same as last written. */
export function changedStatus(
  current: PortalProjection,
  previous: PortalProjection | null,
  owner: Owner,
  cfg: ZendeskTargetConfig,
): InvoiceRecord | null {
  if (!cfg.statusObject.enabled) return null;
  const now = statusRecord(current, owner, cfg);
  if (now === null) return null;
  const before = previous && statusRecord(previous, owner, cfg);
  return before && sameRecord(now, before) ? null : now;
}
