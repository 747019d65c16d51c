/**
 * Finding a customer from what an admin has at hand: an internal id, an email
 * or a system id with an index (src/sync/events/refs.ts), and beyond those a Stripe
 * subscription (`sub_…`), invoice (`in_…`) or invoice number, a Zendesk ticket
 * (`zendesk:ticket:ID`) or a name (a case-insensitive prefix of the CRM,
 * billing or helpdesk name). The latter are not indexed: they are found by
 * reading the records in batches (admin use, not the hot path). A name that
 * fits several customers names none: the candidates are returned to choose from.
 */
import type { CustomerRecord } from '../events/record.js';
import { parseCustomerRef } from '../events/refs.js';
import type { RecordStore } from '../events/store.js';

interface Candidate {
  id: string;
  name: string | null;
  /** What matched: `name "Acme Corp"`, `invoice number INV-7`, … */
  via: string;
}

export type Lookup =
  | { kind: 'found'; record: CustomerRecord; via: string }
  | { kind: 'none'; message: string }
  | { kind: 'several'; message: string; candidates: Candidate[] };

const MAX_CANDIDATES = 20;

const live = <T>(e: { data: T; stamp: { deleted?: boolean | undefined } } | null | undefined): T | null =>
  e && !e.stamp.deleted ? e.data : null;

/** The names a customer goes by: the CRM Account's, the billing customer's, the helpdesk organization's. */
function customerNames(r: CustomerRecord): string[] {
  const names = [r.derived.profile?.name, live(r.stripe.customer)?.name, live(r.zendesk.organization)?.name];
  return [...new Set(names.filter((n): n is string => typeof n === 'string' && n.trim() !== ''))];
}

type Matcher = (r: CustomerRecord) => string | null;

/** What `ref` asks for when it is not an indexed reference; null when it can only be a name. */
function matcherFor(ref: string): { what: string; match: Matcher; exact: boolean } {
  const sub = /^sub_[A-Za-z0-9]+$/.test(ref) ? ref : null;
  if (sub)
    return {
      what: `Stripe subscription ${sub}`,
      exact: true,
      match: (r) => (r.stripe.subscriptions[sub] ? `subscription ${sub}` : null),
    };
  const inv = /^in_[A-Za-z0-9]+$/.test(ref) ? ref : null;
  if (inv)
    return {
      what: `Stripe invoice ${inv}`,
      exact: true,
      match: (r) => (r.stripe.invoices[inv] ? `invoice ${inv}` : null),
    };
  const ticket = /^zendesk:ticket:(\d+)$/.exec(ref)?.[1];
  if (ticket)
    return {
      what: `Zendesk ticket ${ticket}`,
      exact: true,
      match: (r) => (r.zendesk.tickets[ticket] ? `ticket ${ticket}` : null),
    };
  const lower = ref.toLowerCase();
  return {
    what: `a name starting with "${ref}" or an invoice number "${ref}"`,
    exact: false,
    match: (r) => {
      const number = Object.values(r.stripe.invoices).find((e) => e.data.number?.toLowerCase() === lower)?.data.number;
      if (number) return `invoice number ${number}`;
      const name = customerNames(r).find((n) => n.toLowerCase().startsWith(lower));
      return name ? `name "${name}"` : null;
    },
  };
}

/** The customer `cus_…` names in any account: one, several (equal ids in two accounts are two customers), or none (null). */
async function stripeCustomerInAccounts(store: RecordStore, customerId: string): Promise<Lookup | null> {
  const found: Array<{ record: CustomerRecord; via: string }> = [];
  for (const key of await store.stripeKeysOf(customerId)) {
    const record = await store.findByKey(key);
    if (record) found.push({ record, via: key.slice('stripe:'.length) });
  }
  if (found.length === 0) return null;
  if (found.length === 1) return { kind: 'found', record: found[0]!.record, via: found[0]!.via };
  return {
    kind: 'several',
    message: `${found.length} Stripe accounts have a customer ${customerId}; name one as acct_…:${customerId}`,
    candidates: found.map((f) => ({ id: f.record.id, name: customerNames(f.record)[0] ?? null, via: f.via })),
  };
}

export async function findCustomer(store: RecordStore, input: string): Promise<Lookup> {
  const ref = input.trim();
  if (ref === '') return { kind: 'none', message: 'an empty reference names no customer' };
  const parsed = parseCustomerRef(ref);
  if (!('error' in parsed)) {
    const record = parsed.kind === 'id' ? await store.get(parsed.id) : await store.findByKey(parsed.key);
    if (record) return { kind: 'found', record, via: ref };
    // A bare cus_… of a deployment with several Stripe accounts: its keys name the account (stripe:<acct_…>:cus_…).
    if (parsed.kind === 'key' && /^stripe:cus_/.test(parsed.key)) {
      const inAccounts = await stripeCustomerInAccounts(store, parsed.key.slice('stripe:'.length));
      if (inAccounts) return inAccounts;
    }
    return { kind: 'none', message: `no customer record for ${ref}: no event has named it yet; check the reference` };
  }
  const { what, match, exact } = matcherFor(ref);
  const found: Array<{ record: CustomerRecord; via: string }> = [];
  for await (const record of store.scanRecords()) {
    const via = match(record);
    if (via) found.push({ record, via });
  }
  // An invoice number names one invoice: it wins over names that merely start with the same letters.
  // And a name typed in full wins over the longer names it is a prefix of.
  const byNumber = exact ? found : found.filter((f) => f.via.startsWith('invoice number'));
  const byFullName = found.filter((f) => f.via.toLowerCase() === `name "${ref.toLowerCase()}"`);
  const hits = byNumber.length > 0 ? byNumber : byFullName.length === 1 ? byFullName : found;
  if (hits.length === 1) return { kind: 'found', record: hits[0]!.record, via: hits[0]!.via };
  if (hits.length === 0) return { kind: 'none', message: `no customer record for ${what}` };
  const candidates = hits
    .map((h) => ({ id: h.record.id, name: customerNames(h.record)[0] ?? null, via: h.via }))
    .sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.id.localeCompare(b.id));
  return {
    kind: 'several',
    message: `${hits.length} customers match ${what}; name one by its id${hits.length > MAX_CANDIDATES ? ` (the first ${MAX_CANDIDATES} are listed)` : ''}`,
    candidates: candidates.slice(0, MAX_CANDIDATES),
  };
}
