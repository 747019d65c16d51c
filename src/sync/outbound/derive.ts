/**
 * Outbound events derived in pure code: from what subscribers were last told
 * about a customer (a view) and the record as it is now, which events to
 * send. Ids are deterministic — a hash of the customer, the record's
 * version, the type and the subject — so deriving the same change twice (a
 * retried job, a second worker racing for it) names the same events, and
 * the emitter keeps each id once.
 */
import { createHash } from 'node:crypto';
import type { IdentityConflict } from '../events/identity.js';
import { portalProjection, type PortalProjection } from '../events/project.js';
import {
  stableStringify,
  type CustomerRecord,
  type Derived,
  type InvoiceView,
  type TicketView,
} from '../events/record.js';
import type { DeflectionEvent } from '../deflection/types.js';
import { linksFor } from '../push/worker.js';
import type { CustomerLinks, OutboundCustomer, OutboundEvent, OutboundEventType } from './types.js';

/** What subscribers are told about a customer; its changes are what customer.updated reports. */
export interface OutboundView {
  links: CustomerLinks;
  profile: Derived['profile'];
  projection: PortalProjection;
}

/** The field groups customer.updated names in `changed`. */
const FIELD_GROUPS = ['links', 'profile', 'billing', 'invoices', 'support'] as const;
type FieldGroup = (typeof FIELD_GROUPS)[number];

/**
 * @param ownedKeys the record's identity keys: a customer is linked to an Account its Stripe metadata
 *   names before that Account's own event arrives, as the push worker sees it (linksFor).
 */
export function viewOf(record: CustomerRecord, ownedKeys: readonly string[] = []): OutboundView {
  const d = record.derived;
  const links = linksFor(record, ownedKeys);
  return {
    links: {
      stripeCustomerId: links.stripeCustomerId,
      ...(links.stripeAccountId !== undefined && { stripeAccountId: links.stripeAccountId }),
      salesforceAccountId: links.salesforceAccountId,
      zendeskOrganizationId: links.zendeskOrganizationId,
    },
    profile: d.profile,
    projection: portalProjection(d),
  };
}

export function viewHash(view: OutboundView): string {
  return createHash('sha256').update(stableStringify(view)).digest('hex');
}

/** `evt_` + 32 hex characters of sha256 over the parts. */
export function outboundEventId(...parts: Array<string | number>): string {
  return `evt_${createHash('sha256').update(parts.map(String).join('\u0000')).digest('hex').slice(0, 32)}`;
}

const groupValue = (v: OutboundView, g: FieldGroup): unknown =>
  g === 'links'
    ? v.links
    : g === 'profile'
      ? v.profile
      : g === 'billing'
        ? v.projection.billing
        : g === 'invoices'
          ? [v.projection.invoices, v.projection.openInvoiceCount]
          : v.projection.support;

function changedGroups(before: OutboundView, after: OutboundView): FieldGroup[] {
  return FIELD_GROUPS.filter((g) => stableStringify(groupValue(before, g)) !== stableStringify(groupValue(after, g)));
}

export interface ChangeInput {
  customerId: string;
  /** The version this change gives the record (the last one sent + 1). */
  version: number;
  /** What subscribers were last told; null: they have not heard of this customer. */
  before: OutboundView | null;
  after: OutboundView;
  /** Records merged into this one by the change. */
  mergedIds: readonly string[];
  conflicts: readonly IdentityConflict[];
  now: Date;
}

/**
 * The events of one change, customer-level first: created (or merged, conflicts, updated), then
 * billing, invoices and tickets, each list in id order. Empty when subscribers would learn nothing.
 */
export function deriveChangeEvents(input: ChangeInput): OutboundEvent[] {
  const { customerId, version, before, after } = input;
  const customer: OutboundCustomer = { id: customerId, version, links: after.links };
  const timestamp = input.now.toISOString();
  const events: OutboundEvent[] = [];
  const add = (
    type: OutboundEventType,
    subject: string,
    data: Record<string, unknown>,
    id = outboundEventId(customerId, version, type, subject),
  ) => events.push({ id, type, timestamp, data: { customer, ...data } });

  if (before === null) add('customer.created', '', { profile: after.profile, projection: after.projection });
  if (input.mergedIds.length > 0) {
    const merged = [...input.mergedIds].sort();
    // Not tied to the version: one merge is one event, however often its change is derived.
    add('customer.merged', '', { mergedIds: merged }, outboundEventId(customerId, 'customer.merged', ...merged));
  }
  for (const c of input.conflicts) {
    const other = c.recordIds[0] === customerId ? c.recordIds[1] : c.recordIds[0];
    add(
      'customer.identity_conflict',
      c.id,
      {
        otherCustomerId: other,
        system: c.system,
        keys: c.keys,
        evidence: { source: c.evidence.source, eventId: c.evidence.eventId, type: c.evidence.type },
      },
      outboundEventId('customer.identity_conflict', c.id),
    );
  }
  const base: OutboundView = before ?? {
    links: { stripeCustomerId: null, salesforceAccountId: null, zendeskOrganizationId: null },
    profile: null,
    projection: { billing: null, openInvoiceCount: 0, invoices: [], support: null },
  };
  if (before !== null) {
    const changed = changedGroups(before, after);
    if (changed.length > 0)
      add('customer.updated', '', {
        changed,
        profile: after.profile,
        before: before.projection,
        after: after.projection,
      });
  }
  billingEvent(base.projection.billing, after.projection.billing, add);
  invoiceEvents(base.projection.invoices, after.projection.invoices, add);
  ticketEvents(base.projection.support?.tickets ?? [], after.projection.support?.tickets ?? [], add);
  return events;
}

type Add = (type: OutboundEventType, subject: string, data: Record<string, unknown>) => void;

function billingEvent(before: PortalProjection['billing'], after: PortalProjection['billing'], add: Add): void {
  const from = { status: before?.status ?? null, delinquent: before?.delinquent ?? false };
  const to = { status: after?.status ?? null, delinquent: after?.delinquent ?? false };
  if (from.status === to.status && from.delinquent === to.delinquent) return;
  add('billing.status_changed', '', { from, to, billing: after });
}

/** A new or changed invoice the customer can open: it has a hosted page or a PDF. */
function invoiceEvents(before: readonly InvoiceView[], after: readonly InvoiceView[], add: Add): void {
  const old = new Map(before.map((i) => [i.id, i]));
  for (const invoice of [...after].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (invoice.hostedInvoiceUrl === null && invoice.invoicePdf === null) continue;
    const previous = old.get(invoice.id);
    if (previous && stableStringify(previous) === stableStringify(invoice)) continue;
    // `new` the first time the customer can open it (a draft seen before had nothing to open).
    const wasAvailable = previous !== undefined && (previous.hostedInvoiceUrl !== null || previous.invoicePdf !== null);
    add('invoice.available', invoice.id, {
      change: wasAvailable ? 'changed' : 'new',
      previousStatus: previous?.status ?? null,
      invoice,
    });
  }
}

function ticketEvents(before: readonly TicketView[], after: readonly TicketView[], add: Add): void {
  const old = new Map(before.map((t) => [t.id, t]));
  const now = new Map(after.map((t) => [t.id, t]));
  for (const id of [...new Set([...old.keys(), ...now.keys()])].sort()) {
    const from = old.get(id)?.status ?? null;
    const ticket = now.get(id);
    const to = ticket?.status ?? null;
    if (from === to && (ticket !== undefined) === old.has(id)) continue;
    add('ticket.status_changed', id, { from, to, deleted: ticket === undefined, ticket: ticket ?? old.get(id) });
  }
}

export function deflectionRecordedEvent(event: DeflectionEvent, customer: OutboundCustomer, now: Date): OutboundEvent {
  return {
    id: outboundEventId('deflection.recorded', event.id),
    type: 'deflection.recorded',
    timestamp: now.toISOString(),
    data: { customer, deflection: event },
  };
}

export interface DeadLetterFacts {
  queue: string;
  jobId: string;
  reason: string;
  attempts: number;
  /** When it failed for good (ms): a job replayed and dead-lettered again is a new event. */
  failedAt: number;
  source?: string | undefined;
  eventId?: string | undefined;
}

export function deadLetteredEvent(facts: DeadLetterFacts, customer: OutboundCustomer | null, now: Date): OutboundEvent {
  const { failedAt, ...rest } = facts;
  return {
    id: outboundEventId('sync.dead_lettered', facts.queue, facts.jobId, failedAt),
    type: 'sync.dead_lettered',
    timestamp: now.toISOString(),
    data: { customer, ...rest, failedAt: new Date(failedAt).toISOString() },
  };
}

/** `identity forget` erased the customer: subscribers erase their copy. Only the id they know it by, no data. */
export function customerDeletedEvent(customer: OutboundCustomer, reasonRef: string, now: Date): OutboundEvent {
  return {
    id: outboundEventId(customer.id, 'customer.deleted', reasonRef),
    type: 'customer.deleted',
    timestamp: now.toISOString(),
    data: { customer, erasure: true },
  };
}
