/**
 * Who was active, as the contract names them: the normalized email when it
 * is known (from the event, or from the record's contact with that platform
 * id), else the platform user id. Sessions are per contact, so the same
 * person seen by email and by Zendesk user id is one contact once the record
 * links the two.
 */
import type { CustomerRecord } from '../record.js';
import type { CustomerRefs } from '../source-event.js';

export function contactOf(refs: CustomerRefs, record: Pick<CustomerRecord, 'derived'>): string | null {
  if (refs.email) return refs.email;
  const contacts = record.derived.links.contacts;
  if (refs.zendeskUserId) {
    return contacts.find((c) => c.zendeskUserId === refs.zendeskUserId && c.email !== null)?.email ?? `zendesk:user:${refs.zendeskUserId}`;
  }
  if (refs.salesforceContactId) {
    return contacts.find((c) => c.salesforceContactId === refs.salesforceContactId && c.email !== null)?.email ?? `salesforce:contact:${refs.salesforceContactId}`;
  }
  return null;
}

/** The record store's identity key of a contact, to find its customer again (e.g. after a merge). */
export function contactIdentityKey(contact: string): string {
  if (contact.startsWith('zendesk:user:')) return `zduser:${contact.slice('zendesk:user:'.length)}`;
  if (contact.startsWith('salesforce:contact:')) return `sfcontact:${contact.slice('salesforce:contact:'.length)}`;
  return `email:${contact}`;
}
