/**
 * What the Salesforce target writes, as sObject field maps built from the
 * portal projection, and which of them changed since the projection the
 * target last accepted. Pure: no SDK, no clock.
 *
 * Value formats: Stripe amounts (minor units) become major units for
 * Salesforce currency fields; dates become YYYY-MM-DD (UTC) for Date fields;
 * timestamps become ISO 8601 UTC with milliseconds for DateTime fields;
 * currencies are upper-case ISO 4217 codes. A value the record no longer has
 * is written as null, which clears the field.
 */
import type { TargetsConfig } from '../../config.js';
import type { PortalPush } from '../../sync/push/portal-target.js';
import type { PortalProjection } from '../../sync/events/project.js';
import { stableStringify, type InvoiceView, type TicketView } from '../../sync/events/record.js';
import { invoiceValues, toIsoDay, toMajorUnits } from '../money.js';

/** Deflection field API names. TODO(config): config has only the object and external id; move these into the mapping. */
export const DEFLECTION_FIELDS = {
  account: 'Account__c',
  type: 'Event_Type__c',
  category: 'Category__c',
  occurredAt: 'Occurred_At__c',
} as const;

export { toMajorUnits };

export type SalesforceTargetConfig = TargetsConfig['salesforce'];
type FieldValue = string | number | boolean | null;
export type SObjectFields = Record<string, FieldValue>;

/** One record to upsert, with the label it is reported under in PushResult.wrote (`invoice:in_…`). */
export interface LabelledRecord {
  label: string;
  record: SObjectFields;
}

export interface SalesforceWrites {
  /** Only the Account fields whose value changed; null when none did. */
  account: SObjectFields | null;
  /** Every Account field the push writes, as the Account holds them once `account` is written (its call's key). */
  accountAll: SObjectFields;
  invoices: LabelledRecord[];
  tickets: LabelledRecord[];
}

/** For a Date field: the UTC calendar day of an ISO date-time. */
export const toSalesforceDate = toIsoDay;

/** For a DateTime field: the same instant in UTC, e.g. 2026-11-23T09:15:00.000Z. */
export function toSalesforceDateTime(iso: string | null): string | null {
  return iso === null ? null : new Date(iso).toISOString();
}

/**
 * The Account fields the portal shows. The projection's billing view has no
 * currency, so MRR and balance are converted with the currency of the newest
 * invoice (two decimals when there is none yet).
 */
export function accountFieldValues(p: PortalProjection, f: SalesforceTargetConfig['accountFields']): SObjectFields {
  const b = p.billing;
  const currency = p.billing?.currency ?? p.invoices[0]?.currency ?? null;
  return {
    [f.status]: b?.status ?? null,
    [f.plan]: b?.plan ?? null,
    [f.mrr]: b ? toMajorUnits(b.mrr, currency) : null,
    [f.balance]: b?.balance == null ? null : toMajorUnits(b.balance, currency),
    [f.nextInvoiceDate]: toSalesforceDate(b?.nextInvoiceDate ?? null),
    // A checkbox has no "unknown": no billing data means not delinquent.
    [f.delinquent]: b?.delinquent ?? false,
    [f.openTickets]: p.support?.openTicketCount ?? 0,
  };
}

export function invoiceRecord(i: InvoiceView, accountId: string, c: SalesforceTargetConfig['invoice']): SObjectFields {
  const f = c.fields;
  return {
    [c.externalId]: i.id,
    [f.account]: accountId,
    ...invoiceValues(i, f),
  };
}

export function ticketRecord(t: TicketView, accountId: string, c: SalesforceTargetConfig['ticket']): SObjectFields {
  const f = c.fields;
  return {
    [c.externalId]: t.id,
    [f.account]: accountId,
    [f.subject]: t.subject,
    [f.status]: t.status,
    [f.priority]: t.priority,
    [f.category]: t.category,
    [f.updatedAt]: toSalesforceDateTime(t.updatedAt),
  };
}

/**
 * Items whose record differs from the one built from the previous
 * projection (or that are new). Records are compared, not views, so a change
 * in a field the portal does not show writes nothing.
 */
function changed<T extends { id: string }>(
  kind: string,
  current: readonly T[],
  previous: readonly T[],
  build: (item: T) => SObjectFields,
  buildBefore: (item: T) => SObjectFields = build,
): LabelledRecord[] {
  const before = new Map(previous.map((item) => [item.id, stableStringify(buildBefore(item))]));
  return current
    .map((item) => ({ label: `${kind}:${item.id}`, record: build(item), id: item.id }))
    .filter(({ id, record }) => before.get(id) !== stableStringify(record))
    .map(({ label, record }) => ({ label, record }));
}

/** The Account fields a push writes: the built-in ones and those of `mapping.salesforce.accountFields`. */
function accountFields(p: PortalProjection, c: SalesforceTargetConfig): SObjectFields {
  return { ...p.mapped?.accountFields, ...accountFieldValues(p, c.accountFields) };
}

/** Everything `p` asks Salesforce to change on `accountId`, against what it last accepted. */
export function planSalesforceWrites(p: PortalPush, accountId: string, c: SalesforceTargetConfig): SalesforceWrites {
  const now = accountFields(p.projection, c);
  const before = p.previous && accountFields(p.previous, c);
  const diff = Object.entries(now).filter(([name, value]) => before === null || !Object.is(before[name], value));
  // A field no longer mapped is cleared, as a value the record no longer has is.
  const gone =
    before === null
      ? []
      : Object.keys(before)
          .filter((name) => !Object.hasOwn(now, name) && before[name] !== null)
          .map((name) => [name, null] as const);
  const mapped = (p: PortalProjection | null, section: 'invoice' | 'ticket', id: string) => p?.mapped?.[section]?.[id];
  return {
    account: diff.length + gone.length > 0 ? Object.fromEntries([...diff, ...gone]) : null,
    accountAll: now,
    invoices: changed(
      'invoice',
      p.projection.invoices,
      p.previous?.invoices ?? [],
      (i) => ({ ...mapped(p.projection, 'invoice', i.id), ...invoiceRecord(i, accountId, c.invoice) }),
      (i) => ({ ...mapped(p.previous, 'invoice', i.id), ...invoiceRecord(i, accountId, c.invoice) }),
    ),
    tickets: changed(
      'ticket',
      p.projection.support?.tickets ?? [],
      p.previous?.support?.tickets ?? [],
      (t) => ({ ...mapped(p.projection, 'ticket', t.id), ...ticketRecord(t, accountId, c.ticket) }),
      (t) => ({ ...mapped(p.previous, 'ticket', t.id), ...ticketRecord(t, accountId, c.ticket) }),
    ),
  };
}
