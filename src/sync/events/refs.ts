/**
 * What an admin types to name a customer, turned into a record id or an
 * identity key: `cust_…` (internal id), an email, Stripe `cus_…` (of any account; `acct_…:cus_…` names
 * the account too), a
 * Salesforce Account (`001…`) or Contact (`003…`) id, `zendesk:org:ID`,
 * `zendesk:user:ID`.
 */
import { salesforceId18 } from './ids.js';
import { normalizeEmail } from './source-event.js';

export type CustomerRef = { kind: 'id'; id: string } | { kind: 'key'; key: string };

export function parseCustomerRef(input: string): CustomerRef | { error: string } {
  const ref = input.trim();
  if (/^cust_[A-Za-z0-9]+$/.test(ref)) return { kind: 'id', id: ref };
  if (/^cus_[A-Za-z0-9]+$/.test(ref)) return { kind: 'key', key: `stripe:${ref}` };
  const scoped = /^(?:stripe:)?(acct_[A-Za-z0-9]+):(cus_[A-Za-z0-9]+)$/.exec(ref);
  if (scoped) return { kind: 'key', key: `stripe:${scoped[1]}:${scoped[2]}` };
  // Keys hold the 18-character form (ids.ts), whichever form the admin typed.
  if (/^001[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/.test(ref)) return { kind: 'key', key: `sfacct:${salesforceId18(ref)}` };
  if (/^003[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/.test(ref))
    return { kind: 'key', key: `sfcontact:${salesforceId18(ref)}` };
  const zd = /^zendesk:(org|user):(\d+)$/.exec(ref);
  if (zd) return { kind: 'key', key: `${zd[1] === 'org' ? 'zdorg' : 'zduser'}:${zd[2]}` };
  const email = ref.includes('@') ? normalizeEmail(ref) : undefined;
  if (email) return { kind: 'key', key: `email:${email}` };
  return {
    error: `cannot tell what "${ref}" is: use an internal id (cust_…), an email, a Stripe customer (cus_…, or acct_…:cus_…), a Salesforce Account (001…) or Contact (003…) id, zendesk:org:ID or zendesk:user:ID`,
  };
}
