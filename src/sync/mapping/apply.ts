/**
 * Field mapping, applied: reads each entry's `from` out of a customer record (its portal projection, its
 * derived views, or a source attribute kept for the mapping), converts it with the entry's transform and
 * keys it by `to`. Pure and clock-free, like project.ts: the same record and mapping give the same values,
 * so the values can join the projection whose hash decides what is pushed.
 */
import { toMajorUnits } from '../money.js';
import { primarySubscription, type PortalProjection } from '../events/project.js';
import {
  own,
  sha256Hex,
  stableStringify,
  type CustomerRecord,
  type InvoiceView,
  type TicketView,
} from '../events/record.js';
import {
  fromPaths,
  SECTIONS,
  SOURCE_PREFIXES,
  STRIPE_TRIAL_END,
  type MappingConfig,
  type MappingEntry,
  type MappingTarget,
  type Section,
  type Transform,
} from './schema.js';

import type { FieldSet, FieldValue, MappedSections } from '../events/mapped-values.js';

export type { FieldSet, FieldValue, MappedSections };

/** What a path is read from: the record, its portal projection, and the invoice or ticket of a record section. */
export interface MappingInput {
  record: CustomerRecord;
  projection: PortalProjection;
  invoice?: InvoiceView;
  ticket?: TicketView;
}

type Raw = FieldValue | undefined;
const scalar = (v: unknown): Raw =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;

/** The value at one path (undefined: nothing there, written as null). Currencies read as upper-case ISO 4217 codes. */
function readPath(path: string, input: MappingInput): Raw {
  const v = readRaw(path, input);
  return (path === 'billing.currency' || path === 'invoice.currency') && typeof v === 'string' ? v.toUpperCase() : v;
}

function readRaw(path: string, input: MappingInput): Raw {
  const { record, projection } = input;
  const [head, ...rest] = path.split('.');
  const tail = rest.join('.');
  if (path.startsWith(SOURCE_PREFIXES.stripeCustomerMetadata)) {
    const customer = record.stripe.customer;
    return customer && !customer.stamp.deleted
      ? own(customer.data.metadata, path.slice(SOURCE_PREFIXES.stripeCustomerMetadata.length))
      : undefined;
  }
  if (path.startsWith(SOURCE_PREFIXES.stripeSubscriptionMetadata))
    return own(primarySubscription(record)?.metadata, path.slice(SOURCE_PREFIXES.stripeSubscriptionMetadata.length));
  if (path === STRIPE_TRIAL_END) return primarySubscription(record)?.trialEnd;
  if (path.startsWith(SOURCE_PREFIXES.zendeskOrganization)) {
    const organization = record.zendesk.organization;
    return organization && !organization.stamp.deleted
      ? own(organization.data.fields, path.slice(SOURCE_PREFIXES.zendeskOrganization.length))
      : undefined;
  }
  if (path.startsWith(SOURCE_PREFIXES.salesforceAccount)) {
    const account = record.salesforce.account;
    return account && !account.stamp.deleted
      ? own(account.data.fields, path.slice(SOURCE_PREFIXES.salesforceAccount.length))
      : undefined;
  }
  switch (head) {
    case 'billing':
      // The portal's view of billing (a status with the day it ended), and the derived view for what it leaves out.
      return projection.billing && Object.hasOwn(projection.billing, tail)
        ? scalar(projection.billing[tail as keyof typeof projection.billing])
        : scalar(record.derived.billing?.[tail as keyof NonNullable<typeof record.derived.billing>]);
    case 'openInvoiceCount':
      return projection.openInvoiceCount;
    case 'support':
      // No tickets known is no open tickets.
      return projection.support?.openTicketCount ?? 0;
    case 'profile':
      return scalar(record.derived.profile?.[tail as keyof NonNullable<typeof record.derived.profile>]);
    case 'links':
      return scalar(record.derived.links[tail as 'stripeCustomerId']);
    case 'selfService':
      return record.derived.selfService.lastActivityAt;
    case 'invoice':
      return input.invoice ? scalar(input.invoice[tail as keyof InvoiceView]) : undefined;
    case 'ticket':
      return input.ticket ? scalar(input.ticket[tail as keyof TicketView]) : undefined;
    default:
      return undefined;
  }
}

/** `YYYY-MM-DD` (the UTC day) of an ISO time, a day, or unix seconds; null when it is none of these. */
function toDay(v: Raw): string | null {
  if (v === null || v === undefined || typeof v === 'boolean') return null;
  const ms = typeof v === 'number' || /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString().slice(0, 10) : null;
}

const TRUE = new Set(['true', 'yes', 'y', '1', 'on']);
const FALSE = new Set(['false', 'no', 'n', '0', 'off', '']);

/** Converts one read value; `currency` is the currency its amounts are in (money). */
export function applyTransform(
  transform: Transform | undefined,
  values: Raw[],
  currency: string | null | undefined,
): FieldValue {
  const [v] = values;
  if (transform === undefined) return v ?? null;
  if (transform === 'join' || (typeof transform === 'object' && 'join' in transform)) {
    const parts = values
      .filter((x): x is string | number | boolean => x !== null && x !== undefined && x !== '')
      .map(String);
    return parts.length > 0 ? parts.join(transform === 'join' ? ', ' : transform.join) : null;
  }
  if (transform === 'date') return toDay(v);
  if (transform === 'money') {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    return Number.isSafeInteger(n) ? toMajorUnits(n, currency) : null;
  }
  if (transform === 'boolean') {
    // A checkbox has no "unknown": nothing there is unchecked.
    if (typeof v === 'boolean') return v;
    if (typeof v === 'number') return v !== 0;
    const s = (v ?? '').trim().toLowerCase();
    return TRUE.has(s) ? true : FALSE.has(s) ? false : null;
  }
  const key = v === null || v === undefined ? '' : String(v);
  return Object.hasOwn(transform.enum, key) ? transform.enum[key]! : (transform.default ?? null);
}

/** One entry's value for this input. Amounts of an invoice are in its currency; others in the billing currency. */
function entryValue(entry: MappingEntry, input: MappingInput): FieldValue {
  const currency =
    input.invoice?.currency ?? input.projection.billing?.currency ?? input.projection.invoices[0]?.currency ?? null;
  return applyTransform(
    entry.transform,
    fromPaths(entry).map((p) => readPath(p, input)),
    currency,
  );
}

export function fieldSet(entries: readonly MappingEntry[], input: MappingInput): FieldSet {
  return Object.fromEntries(entries.map((e) => [e.to, entryValue(e, input)]));
}

/** The items each record section writes one record for. */
const ITEMS: Partial<Record<Section, 'invoice' | 'ticket'>> = {
  invoiceObject: 'invoice',
  invoice: 'invoice',
  ticket: 'ticket',
};

/** A target's mapped values for one record, or undefined when its mapping is empty (the projection stays as before). */
export function mappedSections(
  mapping: MappingConfig,
  target: MappingTarget,
  record: CustomerRecord,
  projection: PortalProjection,
): MappedSections | undefined {
  const sections = mapping[target] as Record<Section, MappingEntry[]>;
  const out: MappedSections = {};
  for (const section of SECTIONS[target] as readonly Section[]) {
    const entries = sections[section];
    if (entries.length === 0) continue;
    const item = ITEMS[section];
    if (item === undefined) (out as Record<string, FieldSet>)[section] = fieldSet(entries, { record, projection });
    else if (item === 'invoice')
      (out as Record<string, unknown>)[section] = Object.fromEntries(
        projection.invoices.map((i) => [i.id, fieldSet(entries, { record, projection, invoice: i })]),
      );
    else
      (out as Record<string, unknown>)[section] = Object.fromEntries(
        (projection.support?.tickets ?? []).map((t) => [t.id, fieldSet(entries, { record, projection, ticket: t })]),
      );
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The projection a target is pushed: the portal projection, with the target's mapped values when it has a mapping. */
export function withMapped(
  projection: PortalProjection,
  mapping: MappingConfig | undefined,
  target: MappingTarget,
  record: CustomerRecord,
): PortalProjection {
  const mapped = mapping && mappedSections(mapping, target, record, projection);
  return mapped ? { ...projection, mapped } : projection;
}

/** A digest of one target's mapping: when it changes, what that target shows may change for every customer. */
export function mappingFingerprint(mapping: MappingConfig, target: MappingTarget): string {
  return sha256Hex(stableStringify(mapping[target]));
}
