/**
 * Identity resolution, as a pure planner: given an event, who owns each of
 * its identity keys now, and those records, decide which record the event
 * lands in, which records it proves to be one customer (merge), and which
 * links it would make that must not be made (conflicts).
 *
 * Identity keys: `stripe:<acct_…>:cus_…` (`stripe:cus_…` for the unnamed account of a single-account
 * deployment), `sfacct:001…`, `zdorg:…` are SYSTEM keys —
 * a customer has at most one of each system, so two different ones of the
 * same system can never be merged (that is a conflict, recorded, never
 * guessed). Contact keys (`sfcontact:`, `zduser:`) and `email:` link records
 * but are not exclusive, and prove no company: a record they alone reach
 * joins only if that brings no system key of another company along (else a
 * conflict for an admin). Portal activity links nothing (planAttribution).
 */
import { salesforceId18 } from './ids.js';
import type { CustomerRefs, SourceEvent } from './source-event.js';

export const SYSTEM_FAMILIES = ['stripe', 'sfacct', 'zdorg'] as const;
export type IdentityKey = string;

const REF_FAMILIES: Array<[keyof CustomerRefs, string]> = [
  ['stripeCustomerId', 'stripe'],
  ['salesforceAccountId', 'sfacct'],
  ['zendeskOrganizationId', 'zdorg'],
  ['salesforceContactId', 'sfcontact'],
  ['zendeskUserId', 'zduser'],
  ['email', 'email'],
];

export function familyOf(key: IdentityKey): string {
  return key.slice(0, key.indexOf(':'));
}

export function isSystemKey(key: IdentityKey): boolean {
  return (SYSTEM_FAMILIES as readonly string[]).includes(familyOf(key));
}

/** The identity key of Stripe customer `customerId` of `accountId` (null: the unnamed account of a single-account deployment). */
export function stripeKey(customerId: string, accountId?: string | null): IdentityKey {
  return accountId ? `stripe:${accountId}:${customerId}` : `stripe:${customerId}`;
}

/** The account (null: the unnamed one) and customer of a `stripe:` key; null for any other key. */
export function parseStripeKey(key: IdentityKey): { accountId: string | null; customerId: string } | null {
  const m = /^stripe:(?:(acct_[A-Za-z0-9]+):)?([^:]+)$/.exec(key);
  return m ? { accountId: m[1] ?? null, customerId: m[2]! } : null;
}

/**
 * The keys last worked out for a refs object (an event's refs are never changed once screened), per kind: an
 * event's keys are asked for by the worker, the store and identity planning, several times per apply.
 */
const keysOfRefs = new WeakMap<object, { kind: string; keys: readonly IdentityKey[] }>();

/** The event's identity keys, strongest first: its own object's key, then system keys, contacts, email. */
export function eventIdentityKeys(event: Pick<SourceEvent, 'refs' | 'data'>): IdentityKey[] {
  const known = keysOfRefs.get(event.refs);
  if (known !== undefined && known.kind === event.data.kind) return [...known.keys];
  const keys = identityKeysOf(event);
  keysOfRefs.set(event.refs, { kind: event.data.kind, keys });
  return [...keys];
}

function identityKeysOf(event: Pick<SourceEvent, 'refs' | 'data'>): IdentityKey[] {
  const all = REF_FAMILIES.flatMap(([ref, family]) => {
    const value = event.refs[ref];
    if (!value) return [];
    return [family === 'stripe' ? stripeKey(value, event.refs.stripeAccountId) : `${family}:${value}`];
  });
  const own = ownFamily(event.data.kind, event.refs);
  const rank = (k: IdentityKey) => (familyOf(k) === own ? 0 : isSystemKey(k) ? 1 : familyOf(k) === 'email' ? 3 : 2);
  return [...new Set(all)].sort((a, b) => rank(a) - rank(b));
}

function ownFamily(kind: SourceEvent['data']['kind'], refs: CustomerRefs): string {
  if (kind.startsWith('stripe.')) return 'stripe';
  if (kind === 'salesforce.account') return 'sfacct';
  if (kind === 'salesforce.contact') return 'sfcontact';
  if (kind === 'zendesk.organization') return 'zdorg';
  if (kind === 'zendesk.user') return 'zduser';
  if (kind === 'zendesk.ticket') return refs.zendeskOrganizationId ? 'zdorg' : 'zduser';
  return refs.zendeskUserId ? 'zduser' : refs.salesforceContactId ? 'sfcontact' : 'email';
}

/**
 * Whether two keys name one id. Salesforce ids are stored in their 18-character form (ids.ts), but a
 * record written before that may hold the 15-character one of the same Account: not a different Account.
 */
function sameId(a: IdentityKey, b: IdentityKey): boolean {
  if (a === b) return true;
  if (familyOf(a) !== familyOf(b) || !['sfacct', 'sfcontact'].includes(familyOf(a))) return false;
  const id = (k: IdentityKey) => salesforceId18(k.slice(k.indexOf(':') + 1));
  return id(a) === id(b);
}

/**
 * A system key of `keys` whose family `owned` already holds with another value, if any. When
 * several families clash, the first in SYSTEM_FAMILIES order is reported, whatever order the
 * inputs come in (owned keys come from a Redis set, whose order is not defined).
 */
export function clashingKey(
  owned: Iterable<IdentityKey>,
  keys: Iterable<IdentityKey>,
): { ours: IdentityKey; theirs: IdentityKey } | null {
  const bySystem = new Map<string, IdentityKey>();
  for (const k of owned) if (isSystemKey(k)) bySystem.set(familyOf(k), k);
  let found: { ours: IdentityKey; theirs: IdentityKey; rank: number } | null = null;
  for (const k of keys) {
    if (!isSystemKey(k)) continue;
    const held = bySystem.get(familyOf(k));
    const rank = (SYSTEM_FAMILIES as readonly string[]).indexOf(familyOf(k));
    if (held !== undefined && sameId(held, k) === false && (found === null || rank < found.rank))
      found = { ours: held, theirs: k, rank };
  }
  return found && { ours: found.ours, theirs: found.theirs };
}

/** The pair key under which an admin's unlink is remembered. */
export function apartPair(a: IdentityKey, b: IdentityKey): string {
  return [a, b].sort().join('|');
}

function keptApart(apart: ReadonlySet<string>, a: Iterable<IdentityKey>, b: Iterable<IdentityKey>): boolean {
  if (apart.size === 0) return false;
  const bs = [...b];
  for (const x of a) for (const y of bs) if (apart.has(apartPair(x, y))) return true;
  return false;
}

export interface IdentityConflict {
  /** Deterministic, so a retried job records the same conflict once. */
  id: string;
  recordIds: [string, string];
  system: string;
  keys: [IdentityKey, IdentityKey];
  evidence: { source: string; eventId: string; type: string; via: IdentityKey };
}

export interface IdentityPlan {
  /** The record the event is applied to (existing, or `newId`). */
  targetId: string;
  /** Existing records proven to be the same customer: merged into the target, then deleted. */
  mergeIds: string[];
  conflicts: IdentityConflict[];
  /** Keys to point at the target (its own, the event's, and the merged records'). */
  claimKeys: IdentityKey[];
}

/** The system keys among `keys`. */
function systemKeys(keys: Iterable<IdentityKey>): IdentityKey[] {
  return [...keys].filter(isSystemKey);
}

/**
 * A record reached only through a contact key or an email may join the event's record only when
 * that brings no system key of another company along: if both sides hold system keys (of any
 * system), only an admin can say they are one customer. Returns the pair to report, or null.
 */
function weakClash(
  ours: Iterable<IdentityKey>,
  theirs: Iterable<IdentityKey>,
): { ours: IdentityKey; theirs: IdentityKey } | null {
  const a = systemKeys(ours).sort();
  const b = systemKeys(theirs).sort();
  return a.length > 0 && b.length > 0 ? { ours: a[0]!, theirs: b[0]! } : null;
}

/**
 * @param owners  for each event key, the id of the record it points at now (or null)
 * @param ownedKeys  for each record id in `owners`, the identity keys it owns
 */
export function planIdentity(
  event: Pick<SourceEvent, 'refs' | 'data' | 'source' | 'eventId' | 'type'>,
  owners: ReadonlyMap<IdentityKey, string | null>,
  ownedKeys: ReadonlyMap<string, ReadonlySet<IdentityKey>>,
  newId: string,
  apart: ReadonlySet<string> = new Set(),
): IdentityPlan {
  const keys = eventIdentityKeys(event);
  const separated = (id: string, ours: Iterable<IdentityKey>) => keptApart(apart, ours, ownedKeys.get(id) ?? []);
  const candidates = [...new Set(keys.map((k) => owners.get(k)).filter((id): id is string => !!id))];
  // Records the event names by a system id: the event is evidence that they are this customer.
  // Any other candidate is reached only by a contact or an email, which prove no company.
  const strong = new Set(
    systemKeys(keys)
      .map((k) => owners.get(k))
      .filter((id): id is string => !!id),
  );
  const conflicts: IdentityConflict[] = [];
  const conflict = (
    a: string,
    b: string,
    clash: { ours: IdentityKey; theirs: IdentityKey },
    via: IdentityKey,
    system: string,
  ) => {
    const [x, y] = [a, b].sort() as [string, string];
    conflicts.push({
      id: `${x}|${y}|${[clash.ours, clash.theirs].sort().join('|')}`,
      recordIds: [a, b],
      system,
      keys: [clash.ours, clash.theirs],
      evidence: { source: event.source, eventId: event.eventId, type: event.type, via },
    });
  };
  const weakly = (id: string) => !strong.has(id);

  // The target: the first candidate (strongest key first) whose system ids agree with the event's,
  // and that the event does not reach by a contact or email alone while bringing a system id of its own.
  let targetId = newId;
  for (const id of candidates) {
    const theirs = ownedKeys.get(id) ?? [];
    if (clashingKey(theirs, keys) === null && !(weakly(id) && weakClash(keys, theirs))) {
      targetId = id;
      break;
    }
  }
  const owned = new Set<IdentityKey>([...(ownedKeys.get(targetId) ?? []), ...keys]);

  // Every other record the event's keys reach is the same customer — unless its system ids disagree,
  // or it is reached by a contact or email alone and both sides hold system ids.
  const mergeIds: string[] = [];
  for (const id of candidates) {
    if (id === targetId) continue;
    const via = keys.find((k) => owners.get(k) === id) ?? '';
    const theirs = ownedKeys.get(id) ?? new Set<IdentityKey>();
    // An admin unlinked these two: keep them apart without calling it a conflict again.
    if (separated(id, owned)) continue;
    const clash = clashingKey(owned, theirs) ?? clashingKey(theirs, keys);
    if (clash) {
      conflict(targetId, id, clash, via, familyOf(clash.ours));
      continue;
    }
    const weak = weakly(id) ? weakClash(owned, theirs) : null;
    if (weak) {
      conflict(targetId, id, weak, via, familyOf(via));
      continue;
    }
    mergeIds.push(id);
    for (const k of theirs) owned.add(k);
  }

  // Keys already held by a record we could not merge with stay where they are: nothing is taken by guessing.
  const claimKeys = [...owned].filter((k) => {
    const owner = owners.get(k);
    return (
      (!owner || owner === targetId || mergeIds.includes(owner)) &&
      !keptApart(apart, [k], ownedKeys.get(targetId) ?? [])
    );
  });
  return { targetId, mergeIds, conflicts, claimKeys };
}

/**
 * Where a portal event (activity, not identity evidence) is filed: the record its strongest id points
 * at — never a merge, never a new link between ids. Its weaker ids that point at another record are
 * reported (`mismatched`) and otherwise ignored. When no record holds its strongest id (`targetId`
 * null) the caller files it under a new record holding that id alone, so that the contact's later
 * activity and tickets find it.
 */
export function planAttribution(
  event: Pick<SourceEvent, 'refs' | 'data'>,
  owners: ReadonlyMap<IdentityKey, string | null>,
): { targetId: string | null; strongest: IdentityKey | null; mismatched: IdentityKey[] } {
  const keys = eventIdentityKeys(event);
  const strongest = keys[0] ?? null;
  const targetId = (strongest && owners.get(strongest)) || null;
  return {
    targetId,
    strongest,
    mismatched: keys.filter((k) => {
      const o = owners.get(k);
      return !!o && o !== targetId;
    }),
  };
}
