/**
 * Which customer a verified viewer is: the record the identity index names for
 * the viewer's Zendesk user id, else their external id (a Salesforce Contact
 * id), else their email — the first key the index knows decides, and is never
 * skipped for a later one. That record must hold the viewer as its own contact
 * (view.ts), and no record it is in an identity conflict with may hold a newer
 * copy of the viewer's Zendesk user: a user who moved to another organization
 * lands in that organization's record while the index (and the old record's
 * stale copy of them) stays with the old customer until an admin settles the
 * conflict. Conflicts are matched by their system keys, which follow merges.
 * Otherwise the viewer has no customer. Nothing is guessed.
 */
import { own, type CustomerRecord } from '../events/record.js';
import type { RecordStore } from '../events/store.js';
import { holdsViewer, viewerKeys, type Viewer } from './view.js';

export type Resolution =
  | { kind: 'customer'; record: CustomerRecord; via: string }
  /** No key of the viewer is known, the record it names does not hold them (any more), or a newer copy of them is elsewhere. */
  | { kind: 'none'; reason: 'unknown_user' | 'not_a_contact' | 'moved' };

export async function resolveViewer(store: RecordStore, viewer: Viewer): Promise<Resolution> {
  for (const key of viewerKeys(viewer)) {
    const record = await store.findByKey(key, { trusted: true });
    if (record === null) continue;
    return judgeFound(
      store,
      viewer,
      record,
      key,
      true,
      await store.peopleBeside(record.id, personKeys(viewerKeys(viewer))),
    );
  }
  return { kind: 'none', reason: 'unknown_user' };
}

/**
 * Of the viewer's keys, those that name a person the record may keep beside it (people.ts): the hash field is
 * the key (for an email, the field is the pointer to the person with it: people.ts's emailPointer).
 */
export function personKeys(keys: readonly string[]): string[] {
  return keys.filter((k) => k.startsWith('zduser:') || k.startsWith('sfcontact:') || k.startsWith('email:'));
}

/**
 * The found record, found under `key` (the first of the viewer's keys whose record exists), judged:
 * does it hold the viewer, and is there no newer copy of them elsewhere (in a record one of the record's
 * own conflicts names: store.conflictsNaming); `mayConflict: false` says no conflict is stored at all (read with the index).
 * `beside`: the record's entries kept beside it for the viewer's person keys (personKeys), read with the record.
 */
export async function judgeFound(
  store: RecordStore,
  viewer: Viewer,
  record: CustomerRecord,
  key: string,
  mayConflict = true,
  beside: ReadonlyMap<string, string | null> = new Map(),
): Promise<Resolution> {
  if (!holdsViewer(record, key, beside.get(key) ?? null)) return { kind: 'none', reason: 'not_a_contact' };
  if (mayConflict && (await newerCopyElsewhere(store, record, viewer.zendeskUserId, beside)))
    return { kind: 'none', reason: 'moved' };
  return { kind: 'customer', record, via: key };
}

/** The version of a Zendesk user's copy in the record, or kept beside it. */
function userVersion(record: CustomerRecord, zendeskUserId: string, beside: string | null): number | null {
  const inline = own(record.zendesk.users, zendeskUserId);
  if (inline) return inline.stamp.version;
  if (beside === null) return null;
  const entry = JSON.parse(beside) as { stamp: { objectId: string; version: number } };
  return entry.stamp.objectId === zendeskUserId ? entry.stamp.version : null;
}

async function newerCopyElsewhere(
  store: RecordStore,
  record: CustomerRecord,
  zendeskUserId: string,
  beside: ReadonlyMap<string, string | null>,
): Promise<boolean> {
  // The system keys from the record's key index: the whole key set grows with its contacts.
  const ours = new Set(await store.systemKeys(record.id));
  // Only the conflicts naming one of them (the per-key index): never every conflict of the deployment.
  const conflicts = await store.conflictsNaming([...ours]);
  if (conflicts.length === 0) return false;
  const others = new Set(conflicts.flatMap((c) => c.keys.filter((k) => !ours.has(k))));
  const field = `zduser:${zendeskUserId}`;
  const mine = userVersion(record, zendeskUserId, beside.get(field) ?? null) ?? Number.NEGATIVE_INFINITY;
  for (const key of others) {
    const other = await store.findByKey(key, { trusted: true });
    if (other === null || other.id === record.id) continue;
    const theirs = own(other.zendesk.users, zendeskUserId)
      ? userVersion(other, zendeskUserId, null)
      : userVersion(other, zendeskUserId, (await store.peopleBeside(other.id, [field])).get(field) ?? null);
    if (theirs !== null && theirs >= mine) return true;
  }
  return false;
}
