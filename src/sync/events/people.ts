/**
 * A record's people (Salesforce contacts, Zendesk users) past the first MAX_INLINE_PEOPLE are kept
 * beside the record, in a hash of their own (`<prefix>:rec:<id>:people`, one field per person), not in
 * the record: a customer with 5,000 contacts would otherwise be one multi-megabyte value, read, parsed,
 * projected and rewritten whole on every event of that customer, stalling every other customer's
 * events behind it. Such a person still belongs to the customer (its identity key finds the record,
 * its own events are ordered as usual), but it is not in the record's projection: the portal links
 * (`derived.links.contacts`) list the record's first MAX_INLINE_PEOPLE people.
 *
 * Pure: the record store reads and writes the hash; this module decides and applies.
 */
import { applyEvent } from './merge.js';
import { project } from './project.js';
import { emptyRecord, own, type CustomerRecord, type Entry } from './record.js';
import { normalizeEmail, type EventData, type SourceEvent } from './source-event.js';

/**
 * People (contacts and users together) a record holds itself; later ones are kept beside it. Small, because
 * each person stored costs ~1.3 KB of the record (its per-field stamps), and every event that changes the
 * record reads, parses and rewrites it whole: at 100, a customer of 66 contacts paid twice what one of 10 did
 * per event (bench:record-growth). The customer view reads a signed-in person's entry beside the record
 * (view/read.ts), so no reader needs them inline.
 */
export const MAX_INLINE_PEOPLE = 16;

type PersonGroup = { system: 'salesforce'; map: 'contacts' } | { system: 'zendesk'; map: 'users' };
const GROUPS: Record<string, PersonGroup> = {
  sfcontact: { system: 'salesforce', map: 'contacts' },
  zduser: { system: 'zendesk', map: 'users' },
};

/** The hash field of the person an event is about (`sfcontact:<id>`, `zduser:<id>`), or null for other kinds. */
export function personField(event: Pick<SourceEvent, 'objectId' | 'data'>): string | null {
  if (event.data.kind === 'salesforce.contact') return `sfcontact:${event.objectId}`;
  if (event.data.kind === 'zendesk.user') return `zduser:${event.objectId}`;
  return null;
}

function parseField(field: string): { group: PersonGroup; id: string } {
  const at = field.indexOf(':');
  const group = GROUPS[field.slice(0, at)];
  if (!group) throw new Error(`programming error: not a person field: ${field}`);
  return { group, id: field.slice(at + 1) };
}

const mapOf = (record: CustomerRecord, group: PersonGroup): Record<string, Entry<EventData>> =>
  (group.map === 'contacts' ? record.salesforce.contacts : record.zendesk.users) as Record<string, Entry<EventData>>;

function inlinePeople(record: CustomerRecord): number {
  return Object.keys(record.salesforce.contacts).length + Object.keys(record.zendesk.users).length;
}

export function isInline(record: CustomerRecord, field: string): boolean {
  const { group, id } = parseField(field);
  return own(mapOf(record, group), id) !== undefined;
}

/** Where a person's event goes: into the record, or beside it (already there, or no room left). */
export function keepsBeside(record: CustomerRecord, field: string, storedBeside: string | null): boolean {
  return !isInline(record, field) && (storedBeside !== null || inlinePeople(record) >= MAX_INLINE_PEOPLE);
}

/**
 * Applies a person's event to its entry kept beside the record (JSON, or null when new): the same
 * per-entity merge as in the record, run on a record holding that one entity.
 */
export function applyBeside(
  recordId: string,
  field: string,
  stored: string | null,
  event: SourceEvent,
  opts: { rank?: number } = {},
) {
  const { group, id } = parseField(field);
  const scratch = emptyRecord(recordId);
  if (stored !== null)
    Object.defineProperty(mapOf(scratch, group), id, {
      value: JSON.parse(stored) as Entry<EventData>,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  const applied = applyEvent(scratch, event, opts);
  const entry = own(mapOf(applied.record, group), id);
  return { changed: applied.changed, tie: applied.tie, value: JSON.stringify(entry) };
}

/** A field of the people hash that holds a person (`sfcontact:<id>`, `zduser:<id>`), not an email's pointer. */
export function isPersonField(field: string): boolean {
  return Object.hasOwn(GROUPS, field.slice(0, field.indexOf(':')));
}

/**
 * The people hash's pointer from a normalized email to a person kept beside the record with that email
 * (`email:<normalized>` → `sfcontact:<id>` / `zduser:<id>`), so that the customer view can find a signed-in
 * person by email without reading the whole hash. Written with the person; the last one written with the
 * email wins, and one that no longer has it (it changed) is not held by that email any more (the view
 * checks the entry it points at, view.ts): such a pointer finds no one, it never finds someone else.
 */
function emailPointer(email: string): string {
  return `email:${email}`;
}

/** Adds to the people hash's writes a pointer for the email of each person written (emailPointer). */
export function withEmailPointers(writes: Map<string, string>): Map<string, string> {
  for (const [field, value] of [...writes]) {
    if (!isPersonField(field)) continue;
    const email = normalizeEmail((JSON.parse(value) as Entry<{ email?: string | null }> | null)?.data?.email ?? null);
    if (email) writes.set(emailPointer(email), field);
  }
  return writes;
}

/** The record with the people kept beside it put back in (its stored projection unchanged): what readers of a whole customer see. */
export function withPeopleBeside(record: CustomerRecord, beside: Record<string, string>): CustomerRecord {
  const fields = Object.keys(beside).filter(isPersonField);
  if (fields.length === 0) return record;
  const full: CustomerRecord = {
    ...record,
    salesforce: { ...record.salesforce, contacts: { ...record.salesforce.contacts } },
    zendesk: { ...record.zendesk, users: { ...record.zendesk.users } },
  };
  for (const field of fields.sort()) {
    const { group, id } = parseField(field);
    const map = mapOf(full, group);
    if (own(map, id) === undefined)
      Object.defineProperty(map, id, {
        value: JSON.parse(beside[field]!) as Entry<EventData>,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return full;
}

/**
 * People past MAX_INLINE_PEOPLE after a merge joined two records' people: the last ones in field order
 * move beside the record. Returns the record without them, and the fields and values to keep beside it.
 */
export function spillPeople(record: CustomerRecord): { record: CustomerRecord; spilled: Array<[string, string]> } {
  const over = inlinePeople(record) - MAX_INLINE_PEOPLE;
  if (over <= 0) return { record, spilled: [] };
  const fields = [
    ...Object.keys(record.salesforce.contacts).map((id) => `sfcontact:${id}`),
    ...Object.keys(record.zendesk.users).map((id) => `zduser:${id}`),
  ].sort();
  const moving = fields.slice(-over);
  const contacts = { ...record.salesforce.contacts };
  const users = { ...record.zendesk.users };
  const spilled: Array<[string, string]> = [];
  for (const field of moving) {
    const { group, id } = parseField(field);
    const map = group.map === 'contacts' ? contacts : users;
    spilled.push([field, JSON.stringify((map as Record<string, unknown>)[id])]);
    delete (map as Record<string, unknown>)[id];
  }
  const kept: CustomerRecord = {
    ...record,
    salesforce: { ...record.salesforce, contacts },
    zendesk: { ...record.zendesk, users },
  };
  return { record: { ...kept, derived: project(kept) }, spilled };
}
