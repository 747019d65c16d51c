/**
 * Applying events to a record, and merging two records. Pure.
 *
 * Every entity is resolved on its own by one total order over its writes
 * (source version, then rank, then content hash), so applying the same
 * events in any order, any number of times, gives the same record; and
 * merging two records is the same operation, so it commutes and associates.
 * An event can only write under its own source's key: ownership holds by
 * construction, which is also what keeps our own echoes out of other groups.
 */
import { canonical, comparableHash, contentHash, own, stableStringify } from './record.js';
import type { CustomerRecord, Entry, FieldStamp, Stamp } from './record.js';
import { project } from './project.js';
import type { EventData, EventDataKind, Source, SourceEvent } from './source-event.js';

export type EntityPath =
  | readonly ['stripe', 'customer']
  | readonly ['stripe', 'subscriptions' | 'invoices' | 'paymentMethods' | 'charges', string]
  | readonly ['salesforce', 'account']
  | readonly ['salesforce', 'contacts', string]
  | readonly ['zendesk', 'organization']
  | readonly ['zendesk', 'users' | 'tickets', string]
  | readonly ['portal'];

type AnyEntry = Entry<EventData>;

const PATHS: { readonly [K in EventDataKind]: (id: string) => EntityPath } = {
  'stripe.customer': () => ['stripe', 'customer'],
  'stripe.subscription': (id) => ['stripe', 'subscriptions', id],
  'stripe.invoice': (id) => ['stripe', 'invoices', id],
  'stripe.payment_method': (id) => ['stripe', 'paymentMethods', id],
  'stripe.charge': (id) => ['stripe', 'charges', id],
  'salesforce.account': () => ['salesforce', 'account'],
  'salesforce.contact': (id) => ['salesforce', 'contacts', id],
  'zendesk.organization': () => ['zendesk', 'organization'],
  'zendesk.user': (id) => ['zendesk', 'users', id],
  'zendesk.ticket': (id) => ['zendesk', 'tickets', id],
  'portal.activity': () => ['portal'],
};

/** Where an event writes. Null would mean "not stored"; every kind is stored today. */
export function entityKeyFor(event: SourceEvent): { path: EntityPath } | null {
  const path = PATHS[event.data.kind](event.objectId);
  // Parsers set both; a mismatch is a bug upstream and must never write into another source's group.
  if (path[0] !== event.source) {
    throw new Error(
      `programming error: a ${event.source} event carries ${event.data.kind} data (event ${event.eventId})`,
    );
  }
  return { path };
}

type Orderable = Pick<FieldStamp, 'version' | 'rank' | 'hash'>;
const cmp = (a: string | number, b: string | number): -1 | 0 | 1 => (a < b ? -1 : a > b ? 1 : 0);

/** Order of writes to one entity. Equal = the same content at the same version: a no-op. */
export function compareStamps(a: Orderable, b: Orderable): -1 | 0 | 1 {
  return cmp(a.version, b.version) || cmp(a.rank, b.rank) || cmp(comparableHash(a.hash), comparableHash(b.hash));
}

/**
 * compareStamps, continued over the delivery metadata. Two deliveries of the
 * same content (invoice.paid and invoice.payment_succeeded share `created`
 * and the object) would otherwise leave whichever eventId came first in the
 * stamp, and the record would depend on arrival order.
 */
function compareTotal(a: Stamp, b: Stamp): -1 | 0 | 1 {
  return compareStamps(a, b) || cmp(a.eventId, b.eventId) || cmp(a.origin, b.origin) || cmp(a.type, b.type);
}

const fieldKeys = (fields: Record<string, unknown>): string[] => Object.keys(fields).map((k) => `fields.${k}`);
const attributesBut = (data: EventData, leftOut: ReadonlyArray<string | false>): string[] =>
  Object.keys(data).filter((k) => k !== 'kind' && !leftOut.includes(k));

/**
 * For kinds whose events may carry only part of the object, the attributes
 * this event does carry; null for kinds that always send the whole object.
 * A Salesforce CDC update holds only the changed fields (a missing key is
 * "unchanged"), and Zendesk's event details leave some attributes out (null
 * there means "not sent", per the parser), so replacing the whole entity
 * would blank, say, the account name on every tier change.
 */
function carriedKeys(data: EventData): string[] | null {
  switch (data.kind) {
    case 'salesforce.account':
      return fieldKeys(data.fields);
    case 'salesforce.contact':
      return [
        ...fieldKeys(data.fields),
        ...(Object.hasOwn(data.fields, 'AccountId') ? ['accountId'] : []),
        ...(Object.hasOwn(data.fields, 'Email') ? ['email'] : []),
        // The parser gives a name only when the event carried enough to know it.
        ...(data.name !== null ? ['name'] : []),
      ];
    case 'zendesk.user':
      return attributesBut(data, [data.name === null && 'name']);
    case 'zendesk.organization':
      return attributesBut(data, [data.tags === null && 'tags']);
    case 'zendesk.ticket':
      return attributesBut(data, [data.description === null && 'description']);
    default:
      return null;
  }
}

// Attribute access by carried key; `fields.X` addresses a Salesforce field.
type Loose = Record<string, unknown> & { fields?: Record<string, unknown> };
function readKey(data: EventData, key: string): unknown {
  const d = data as Loose;
  return key.startsWith('fields.') ? own(d.fields, key.slice('fields.'.length)) : own(d, key);
}
function writeKey(data: EventData, key: string, value: unknown): void {
  const d = data as Loose;
  if (key.startsWith('fields.')) d.fields = { ...d.fields, [key.slice('fields.'.length)]: value };
  else d[key] = value;
}

/** Entries entryFor built, in canonical form already: withEntry stores them as they are. */
const CANONICAL_ENTRIES = new WeakSet<AnyEntry>();

/**
 * The event as an entry, in canonical form: its data copied once in canonical key order (the content hash is of
 * that copy, the same bytes stableStringify({ objectId, data, deleted }) gives), its stamps built in key order.
 */
function entryFor(event: SourceEvent, rank: number): AnyEntry {
  const data = canonical(event.data);
  // Keys in code-unit order, as stableStringify would put them: data, deleted, objectId.
  const hash = contentHash(JSON.stringify({ data, deleted: event.deleted, objectId: event.objectId }));
  const stamp: Stamp = {
    deleted: event.deleted,
    eventId: event.eventId,
    hash,
    objectId: event.objectId,
    origin: rank > 0 ? 'refetch' : event.origin,
    ...(event.versionPrecisionMs !== undefined && { precisionMs: event.versionPrecisionMs }),
    rank,
    type: event.type,
    version: event.version,
  };
  const keys = carriedKeys(event.data);
  let entry: AnyEntry;
  if (keys === null) entry = { data, stamp };
  else {
    const fieldStamps: Record<string, FieldStamp> = {};
    for (const k of [...new Set(keys)].sort()) fieldStamps[k] = { hash, rank, version: event.version };
    entry = { data, fieldStamps, stamp };
  }
  CANONICAL_ENTRIES.add(entry);
  return entry;
}

/**
 * Last writer wins, per entity, or per attribute for partial kinds. The
 * entity's stamp (and with it `deleted`) is always the newest write's, so an
 * older event can never resurrect a tombstone. Commutative, associative,
 * idempotent: merging is the max under a total order.
 */
function mergeEntries(a: AnyEntry, b: AnyEntry): AnyEntry {
  const newer = compareTotal(a.stamp, b.stamp) >= 0 ? a : b;
  if (a.fieldStamps === undefined && b.fieldStamps === undefined) return newer;
  const data = structuredClone(newer.data);
  const fieldStamps: Record<string, FieldStamp> = {};
  const keys = new Set([...Object.keys(a.fieldStamps ?? {}), ...Object.keys(b.fieldStamps ?? {})]);
  for (const key of keys) {
    const fa = own(a.fieldStamps, key);
    const fb = own(b.fieldStamps, key);
    // Equal field stamps share a hash, so both sides hold the same value.
    const fromA = fb === undefined || (fa !== undefined && compareStamps(fa, fb) >= 0);
    fieldStamps[key] = (fromA ? fa : fb)!;
    writeKey(data, key, readKey(fromA ? a.data : b.data, key));
  }
  return { data, stamp: newer.stamp, fieldStamps };
}

// The record's groups are typed per kind; PATHS guarantees a path only ever meets entries of its kind.
type LooseGroup = Record<string, AnyEntry | null | Record<string, AnyEntry>>;
type EntityPathNoPortal = Exclude<EntityPath, readonly ['portal']>;

function readEntry(record: CustomerRecord, path: EntityPathNoPortal): AnyEntry | undefined {
  const slot = (record[path[0]] as unknown as LooseGroup)[path[1]];
  if (path.length === 2) return (slot as AnyEntry | null) ?? undefined;
  return own(slot as Record<string, AnyEntry>, path[2]);
}

/**
 * A new record with one entry replaced. Only the entry is put in canonical form, and its map is
 * rebuilt in sorted key order, so the record serializes to the same bytes whatever the order of
 * writes — without re-sorting every other entry of a large record on each event.
 */
function withEntry(record: CustomerRecord, path: EntityPathNoPortal, entry: AnyEntry): CustomerRecord {
  const group = record[path[0]] as unknown as LooseGroup;
  const fresh = CANONICAL_ENTRIES.has(entry) ? entry : canonical(entry);
  let slot: AnyEntry | Record<string, AnyEntry> = fresh;
  if (path.length === 3) {
    const map = group[path[1]] as Record<string, AnyEntry>;
    const ids = Object.keys(map).includes(path[2]) ? Object.keys(map) : [...Object.keys(map), path[2]].sort();
    slot = Object.fromEntries(ids.map((id) => [id, id === path[2] ? fresh : map[id]!]));
  }
  return { ...record, [path[0]]: { ...group, [path[1]]: slot } };
}

type Portal = CustomerRecord['portal'];
const portalVersion = (p: Portal): number => (p.lastActivityAt === null ? -1 : Date.parse(p.lastActivityAt));
/** Newest activity by occurred time; the event id breaks ties so that order does not matter. The brands seen: both sets. */
function newerActivity(a: Portal, b: Portal): Portal {
  const order =
    cmp(portalVersion(a), portalVersion(b)) || cmp(a.lastActivityEventId ?? '', b.lastActivityEventId ?? '');
  const newer = order >= 0 ? a : b;
  const brandIds = unionBrands(a.brandIds, b.brandIds);
  if (sameBrands(brandIds, newer.brandIds)) return newer;
  const { brandIds: _old, ...rest } = newer;
  return brandIds.length > 0 ? { ...rest, brandIds } : rest;
}
/** At most this many brands are kept per customer (Zendesk accounts have few; the set stays bounded). */
const MAX_SEEN_BRANDS = 64;
const byBrandId = (x: string, y: string) => x.length - y.length || cmp(x, y);
const unionBrands = (a: readonly string[] = [], b: readonly string[] = []): string[] =>
  [...new Set([...a, ...b])].sort(byBrandId).slice(0, MAX_SEEN_BRANDS);
const sameBrands = (a: readonly string[], b: readonly string[] = []) =>
  a.length === b.length && a.every((x, i) => x === b[i]);
// Dates past year 275760 cannot be written as ISO; no parser lets one through, but stay total.
const isoFromMs = (ms: number): string => new Date(Math.min(ms, 8.64e15)).toISOString();

/** Stores a record: fresh derived views, built in canonical key order and sharing no object with the inputs (project.ts). */
const finish = (record: CustomerRecord): CustomerRecord => ({ ...record, derived: project(record) });

export type ApplyResult = {
  record: CustomerRecord;
  /** False when the event changed nothing; the input record is then returned as it was. */
  changed: boolean;
  /**
   * Two writes of one version with different content, neither of which can be known to be the later: two
   * webhooks, or a webhook after the refetch that settled an earlier tie of that version (the webhook may be
   * newer: Stripe sends several events in one second). Refetch the object and apply it with `rank`, one above
   * the stored entry's, at `version` — the higher of the two (they differ when a version is coarser than a
   * millisecond), so that the refetch wins over both.
   */
  tie: null | { path: EntityPath; source: Source; objectId: string; version: number; rank: number };
};

/**
 * Whether two entries serialize alike. A stamp is part of its entry, so stamps that differ in any field mean
 * entries that differ: only entries with equal stamps (a repeat, or a merge that took nothing new) are
 * serialized to compare.
 */
function sameEntry(a: AnyEntry, b: AnyEntry): boolean {
  const [x, y] = [a.stamp, b.stamp];
  if (
    x.version !== y.version ||
    x.hash !== y.hash ||
    x.eventId !== y.eventId ||
    x.rank !== y.rank ||
    x.deleted !== y.deleted ||
    x.objectId !== y.objectId ||
    x.type !== y.type ||
    x.origin !== y.origin ||
    x.precisionMs !== y.precisionMs
  )
    return false;
  return stableStringify(a) === stableStringify(b);
}

export function applyEvent(record: CustomerRecord, event: SourceEvent, opts: { rank?: number } = {}): ApplyResult {
  const key = entityKeyFor(event);
  if (key === null) return { record, changed: false, tie: null };
  const { path } = key;
  if (path[0] === 'portal') {
    const brand = event.data.kind === 'portal.activity' ? event.data.brandId : null;
    const incoming: Portal = {
      lastActivityAt: isoFromMs(event.version),
      lastActivityEventId: event.eventId,
      ...(brand ? { brandIds: [brand] } : {}),
    };
    const next = newerActivity(record.portal, incoming);
    if (next === record.portal) return { record, changed: false, tie: null };
    return { record: finish({ ...record, portal: next }), changed: true, tie: null };
  }
  const incoming = entryFor(event, opts.rank ?? 0);
  const current = readEntry(record, path);
  const merged = current === undefined ? incoming : mergeEntries(current, incoming);
  // A version coarser than a millisecond (versionPrecisionMs) cannot order writes within its resolution.
  // The coarser of the two: a second-resolution webhook after a minute-resolution trigger write of the same
  // minute cannot be ordered by version either (the trigger's "09:41" may be later than the webhook's "09:41:37").
  const precision = Math.max(event.versionPrecisionMs ?? 1, current?.stamp.precisionMs ?? 1);
  const tie =
    current !== undefined &&
    Math.floor(current.stamp.version / precision) === Math.floor(incoming.stamp.version / precision) &&
    incoming.stamp.rank <= current.stamp.rank &&
    comparableHash(current.stamp.hash) !== comparableHash(incoming.stamp.hash)
      ? {
          path,
          source: event.source,
          objectId: event.objectId,
          version: Math.max(current.stamp.version, incoming.stamp.version),
          rank: current.stamp.rank + 1,
        }
      : null;
  // The stored entry won outright (an older or repeated write): nothing to compare.
  if (merged === current) return { record, changed: false, tie };
  if (current !== undefined && sameEntry(current, merged)) return { record, changed: false, tie };
  return { record: finish(withEntry(record, path, merged)), changed: true, tie };
}

/** The rank of the entry the record holds for this event's object (0 when none): a refetch to settle it goes one above. */
export function storedRank(record: CustomerRecord, event: SourceEvent): number {
  const key = entityKeyFor(event);
  if (key === null || key.path[0] === 'portal') return 0;
  return readEntry(record, key.path as EntityPathNoPortal)?.stamp.rank ?? 0;
}

/** Every stored entity with its path. */
function entitiesOf(record: CustomerRecord): Array<[EntityPathNoPortal, AnyEntry]> {
  const out: Array<[EntityPathNoPortal, AnyEntry]> = [];
  const one = (path: EntityPathNoPortal, e: AnyEntry | null) => void (e && out.push([path, e]));
  const many = (path: (id: string) => EntityPathNoPortal, m: Record<string, AnyEntry>) =>
    Object.entries(m).forEach(([id, e]) => out.push([path(id), e]));
  const { stripe, salesforce, zendesk } = record;
  one(['stripe', 'customer'], stripe.customer);
  many((id) => ['stripe', 'subscriptions', id], stripe.subscriptions);
  many((id) => ['stripe', 'invoices', id], stripe.invoices);
  many((id) => ['stripe', 'paymentMethods', id], stripe.paymentMethods);
  many((id) => ['stripe', 'charges', id], stripe.charges);
  one(['salesforce', 'account'], salesforce.account);
  many((id) => ['salesforce', 'contacts', id], salesforce.contacts);
  one(['zendesk', 'organization'], zendesk.organization);
  many((id) => ['zendesk', 'users', id], zendesk.users);
  many((id) => ['zendesk', 'tickets', id], zendesk.tickets);
  return out;
}

/** Two records of one customer as one: the same per-entity merge as applyEvent, so order never matters. */
export function mergeRecords(a: CustomerRecord, b: CustomerRecord, keepId: string): CustomerRecord {
  let merged: CustomerRecord = { ...a, id: keepId, portal: newerActivity(a.portal, b.portal) };
  for (const [path, entry] of entitiesOf(b)) {
    const current = readEntry(merged, path);
    merged = withEntry(merged, path, current === undefined ? entry : mergeEntries(current, entry));
  }
  return finish(merged);
}
