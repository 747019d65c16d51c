/**
 * The manual identity fixes as an admin names them (`identity link REF REF`, `identity unlink REF ID`):
 * records by whatever REF `inspect` takes (inspect.ts), an identity by its key or by a ref that names one
 * (`cus_…`, `001…`, `zendesk:org:ID`, an email…); the change itself is IdentityAdmin's, audited.
 */
import type { CustomerRecord } from '../events/record.js';
import { parseCustomerRef } from '../events/refs.js';
import type { RecordStore } from '../events/store.js';
import type { IdentityAdmin } from './identity-admin.js';
import { inspectRecord } from './inspect.js';

type Who = { by: string; reason: string };

/** The identity key an admin means: a key as stored (`stripe:cus_…`, `email:…`), or a ref that names one; a record id names none. */
export function identityKeyOf(input: string): { key: string } | { error: string } {
  if (/^(stripe|sfacct|sfcontact|zdorg|zduser|email):.+/.test(input)) return { key: input };
  const ref = parseCustomerRef(input);
  if ('error' in ref) return ref;
  if (ref.kind === 'id')
    return { error: `${input} is a record id; name the identity to unlink (cus_…, 001…, zendesk:org:ID, an email…)` };
  return { key: ref.key };
}

/** Merges the record `other` names into the one `ref` names; refused when they hold different ids of one system. */
export async function linkRefs(
  store: RecordStore,
  admin: IdentityAdmin,
  ref: string,
  other: string,
  who: Who,
): Promise<CustomerRecord> {
  const [a, b] = [await inspectRecord(store, ref), await inspectRecord(store, other)];
  return admin.link(a.record.id, b.record.id, who);
}

/** Takes identity `key` (and what came with it) out of the record `ref` names. */
export async function unlinkRef(
  store: RecordStore,
  admin: IdentityAdmin,
  ref: string,
  key: string,
  who: Who,
): ReturnType<IdentityAdmin['unlink']> {
  return admin.unlink((await inspectRecord(store, ref)).record.id, key, who);
}
