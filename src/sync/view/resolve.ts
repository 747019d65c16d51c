/**
 * Which customer a verified viewer is: the record the identity index names for
 * the viewer's Zendesk user id, else their external id (a Salesforce Contact
 * id), else their email — the first key the index knows decides, and is never
 * skipped for a later one. That record must hold the viewer as its own
 * contact, and no identity conflict may have been raised through that key (a
 * user who moved to another organization leaves the old record holding a
 * stale copy of them until an admin settles the conflict): otherwise the
 * viewer has no customer. Nothing is guessed.
 */
import type { RecordStore } from '../store.js';
import type { CustomerRecord } from '../record.js';
import { holdsViewer, viewerKeys, type Viewer } from './view.js';

export type Resolution =
  | { kind: 'customer'; record: CustomerRecord; via: string }
  /** No key of the viewer is known, or the record it names does not hold them (any more). */
  | { kind: 'none'; reason: 'unknown_user' | 'not_a_contact' | 'identity_conflict' };

export async function resolveViewer(store: RecordStore, viewer: Viewer): Promise<Resolution> {
  for (const key of viewerKeys(viewer)) {
    const record = await store.findByKey(key);
    if (record === null) continue;
    if (!holdsViewer(record, key)) return { kind: 'none', reason: 'not_a_contact' };
    const conflicts = await store.listConflicts();
    if (conflicts.some((c) => c.evidence.via === key && c.recordIds.includes(record.id))) return { kind: 'none', reason: 'identity_conflict' };
    return { kind: 'customer', record, via: key };
  }
  return { kind: 'none', reason: 'unknown_user' };
}
