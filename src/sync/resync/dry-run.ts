/**
 * `resync --dry-run`: what a resync WOULD change on the portal, per
 * customer, without storing or pushing anything. Each snapshot is merged in
 * memory into the stored record it resolves to (the same merge the worker
 * runs), and the portal projections before and after are compared field by
 * field.
 *
 * Records touched by several snapshots are kept in a bounded working set
 * (least recently used out), so memory stays flat however many customers
 * the sources hold.
 */
import { eventIdentityKeys } from '../events/identity.js';
import { applyEvent } from '../events/merge.js';
import { portalProjection, type PortalProjection } from '../events/project.js';
import { emptyRecord, type CustomerRecord } from '../events/record.js';
import type { SourceEvent } from '../events/source-event.js';
import type { RecordStore } from '../events/store.js';
import { mappedSections } from '../mapping/apply.js';
import type { MappingConfig } from '../mapping/schema.js';
import type { MappedSections } from '../events/mapped-values.js';
import type { PortalTargetName } from '../target-names.js';

/**
 * The field mapping's part of a dry run: what each target last accepted of its mapped fields (the push worker's
 * accepted state), against what the configured mapping gives the record now. So a changed mapping shows what it
 * would write even where no snapshot changes the record.
 */
export interface DryRunMapping {
  mapping: MappingConfig;
  targets: readonly PortalTargetName[];
  accepted: (target: PortalTargetName, customerId: string) => Promise<MappedSections | undefined>;
}

/** Mapped values as flat `mapping.<target>.<section>.<field>` (records by id: `<section>[<id>].<field>`) → value. */
function flattenMapped(target: string, mapped: MappedSections | undefined): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  for (const [section, values] of Object.entries(mapped ?? {}) as Array<[string, Record<string, unknown>]>) {
    const perRecord = section === 'invoiceObject' || section === 'invoice' || section === 'ticket';
    for (const [k, v] of Object.entries(values)) {
      if (perRecord)
        for (const [field, value] of Object.entries(v as Record<string, unknown>))
          flat.set(`mapping.${target}.${section}[${k}].${field}`, value);
      else flat.set(`mapping.${target}.${section}.${k}`, v);
    }
  }
  return flat;
}

interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface CustomerDiff {
  /** The stored record's id, or null for a customer the store does not know yet. */
  customerId: string | null;
  /** An identity key of the customer (e.g. stripe:cus_123): the first one a snapshot named it by. */
  ref: string;
  changes: FieldChange[];
}

/**
 * Two diffs of one customer as one: per field the first `from` and the last `to` (a field that comes
 * back to where it was is no change). A customer's earlier snapshot may have left the dry run's
 * working set before a later one arrives, whose diff then starts from the stored record again and
 * would hide what the earlier one changed.
 */
export function combineDiffs(earlier: CustomerDiff, later: CustomerDiff): CustomerDiff {
  const byField = new Map(earlier.changes.map((c) => [c.field, { ...c }]));
  for (const c of later.changes) {
    const seen = byField.get(c.field);
    if (seen) seen.to = c.to;
    else byField.set(c.field, { ...c });
  }
  const changes = [...byField.values()].filter((c) => JSON.stringify(c.from) !== JSON.stringify(c.to));
  return { ...earlier, changes };
}

/** The portal projection as flat `group.field` (invoices and tickets by id) → value. */
function flattenProjection(p: PortalProjection): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  for (const [k, v] of Object.entries(p.billing ?? {})) flat.set(`billing.${k}`, v);
  flat.set('openInvoiceCount', p.openInvoiceCount);
  for (const invoice of p.invoices)
    for (const [k, v] of Object.entries(invoice)) if (k !== 'id') flat.set(`invoices[${invoice.id}].${k}`, v);
  if (p.support) {
    flat.set('support.openTicketCount', p.support.openTicketCount);
    for (const t of p.support.tickets)
      for (const [k, v] of Object.entries(t)) if (k !== 'id') flat.set(`tickets[${t.id}].${k}`, v);
  }
  return flat;
}

function diffProjections(before: PortalProjection, after: PortalProjection): FieldChange[] {
  return diffFlat(flattenProjection(before), flattenProjection(after));
}

function diffFlat(a: Map<string, unknown>, b: Map<string, unknown>): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const field of new Set([...a.keys(), ...b.keys()])) {
    const from = a.has(field) ? a.get(field) : undefined;
    const to = b.has(field) ? b.get(field) : undefined;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes.push({ field, from: from ?? null, to: to ?? null });
  }
  return changes.sort((x, y) => x.field.localeCompare(y.field));
}

interface Working {
  record: CustomerRecord;
  baseline: PortalProjection;
  ref: string;
}

export class DryRun {
  private readonly working = new Map<string, Working>();
  private newCount = 0;

  constructor(
    private readonly store: RecordStore,
    /** What the events worker does to an event before storing it (ticket categories). */
    private readonly prepare: (event: SourceEvent) => SourceEvent = (e) => e,
    private readonly maxWorking = 5_000,
    private readonly mapping?: DryRunMapping,
  ) {}

  /** What the mapping would write for this record, against what each target accepted last. */
  private async mappedChanges(record: CustomerRecord): Promise<FieldChange[]> {
    const m = this.mapping;
    if (!m) return [];
    const projection = portalProjection(record.derived);
    const changes: FieldChange[] = [];
    for (const target of m.targets) {
      const before = record.id.startsWith('(new') ? undefined : await m.accepted(target, record.id);
      changes.push(
        ...diffFlat(
          flattenMapped(target, before),
          flattenMapped(target, mappedSections(m.mapping, target, record, projection)),
        ),
      );
    }
    return changes;
  }

  /** The portal fields this snapshot would change for its customer (empty: nothing). */
  async preview(event: SourceEvent): Promise<CustomerDiff | null> {
    const keys = eventIdentityKeys(event);
    const ref = keys[0];
    if (ref === undefined) return null;
    let entry: Working | undefined;
    for (const key of keys) {
      entry = this.working.get(key);
      if (entry) break;
    }
    if (!entry) {
      let stored: CustomerRecord | null = null;
      for (const key of keys) {
        stored = await this.store.findByKey(key);
        if (stored) break;
      }
      const record = stored ?? emptyRecord(`(new ${++this.newCount})`);
      entry = { record, baseline: portalProjection(record.derived), ref };
    }
    const { record, changed } = applyEvent(entry.record, this.prepare(event));
    const next: Working = { record, baseline: entry.baseline, ref: entry.ref };
    for (const key of keys) {
      this.working.delete(key);
      this.working.set(key, next);
    }
    while (this.working.size > this.maxWorking) this.working.delete(this.working.keys().next().value!);
    const mapped = await this.mappedChanges(record);
    if (!changed && mapped.length === 0) return null;
    const changes = [...(changed ? diffProjections(entry.baseline, portalProjection(record.derived)) : []), ...mapped];
    return { customerId: record.id.startsWith('(new') ? null : record.id, ref: entry.ref, changes };
  }
}
