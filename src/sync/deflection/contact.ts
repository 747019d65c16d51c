/**
 * Who was active, as the contract names them: the normalized email when it
 * is known (from the event, or from the record's contact with that platform
 * id), else the platform user id. Sessions are per contact, so the same
 * person seen by email and by Zendesk user id is one contact once the record
 * links the two. A person kept beside the record (past its first people,
 * people.ts) is resolved through their entry there, by the same rule as the
 * record's contacts (live, still of this customer).
 */
import { own, type CustomerRecord } from '../events/record.js';
import { normalizeEmail, type CustomerRefs } from '../events/source-event.js';

type Person = CustomerRecord['zendesk']['users'][string] | CustomerRecord['salesforce']['contacts'][string];

/**
 * `beside`: the entry kept beside the record for the person the refs name (besideField), when the caller read it.
 */
export function contactOf(
  refs: CustomerRefs,
  record: Pick<CustomerRecord, 'derived'> & Partial<Pick<CustomerRecord, 'zendesk' | 'salesforce'>>,
  beside: string | null = null,
): string | null {
  if (refs.email) return refs.email;
  const contacts = record.derived.links.contacts;
  if (refs.zendeskUserId) {
    return (
      contacts.find((c) => c.zendeskUserId === refs.zendeskUserId && c.email !== null)?.email ??
      emailBeside(record, beside, refs.zendeskUserId) ??
      `zendesk:user:${refs.zendeskUserId}`
    );
  }
  if (refs.salesforceContactId) {
    return (
      contacts.find((c) => c.salesforceContactId === refs.salesforceContactId && c.email !== null)?.email ??
      emailBeside(record, beside, refs.salesforceContactId) ??
      `salesforce:contact:${refs.salesforceContactId}`
    );
  }
  return null;
}

/** The people-hash field (people.ts) of the person an activity names by platform id only: read when the record's contacts do not resolve them. */
export function besideField(refs: CustomerRefs): string | null {
  if (refs.email) return null;
  if (refs.zendeskUserId) return `zduser:${refs.zendeskUserId}`;
  if (refs.salesforceContactId) return `sfcontact:${refs.salesforceContactId}`;
  return null;
}

/** The email of the person kept beside the record, when it is them (`id`), live, and still of this customer (project.ts's rule). */
function emailBeside(
  record: Partial<Pick<CustomerRecord, 'zendesk' | 'salesforce'>>,
  raw: string | null,
  id: string,
): string | null {
  if (raw === null) return null;
  const entry = JSON.parse(raw) as Person;
  if (entry.stamp.objectId !== id || entry.stamp.deleted) return null;
  const liveId = (e: { stamp: { objectId: string; deleted: boolean } } | null | undefined) =>
    e && !e.stamp.deleted ? e.stamp.objectId : null;
  const belongs = (parent: string | null | undefined, owner: string | null) =>
    owner === null || parent === null || parent === undefined || parent === owner;
  if (entry.data.kind === 'zendesk.user') {
    if (
      own(record.zendesk?.users, id) !== undefined ||
      !belongs(entry.data.organizationId, liveId(record.zendesk?.organization))
    )
      return null;
  } else if (
    own(record.salesforce?.contacts, id) !== undefined ||
    !belongs(entry.data.accountId, liveId(record.salesforce?.account))
  )
    return null;
  return normalizeEmail(entry.data.email) ?? null;
}

/** The record store's identity key of a contact, to find its customer again (e.g. after a merge). */
export function contactIdentityKey(contact: string): string {
  if (contact.startsWith('zendesk:user:')) return `zduser:${contact.slice('zendesk:user:'.length)}`;
  if (contact.startsWith('salesforce:contact:')) return `sfcontact:${contact.slice('salesforce:contact:'.length)}`;
  return `email:${contact}`;
}
