/**
 * What the apply path reads of a record's identity keys, so that an event costs the same whether its
 * customer holds 10 keys or 10,000. A record owns a set of keys (`<prefix>:rec:<id>:keys`: two per
 * contact, `sfcontact:` and `email:`, so it grows with the customer), but planning an event's identity
 * (identity.ts) looks at only three things of it: its SYSTEM keys (a handful: clashes, weak joins),
 * whether it holds the event's own keys, and whether it holds a key an admin kept apart from another.
 * So the store keeps the system keys beside the set (`<prefix>:rec:<id>:sys`, a hash: key → `1`, plus
 * `#keys`, the size of the whole set when they were written), and asks the set only about those keys
 * (SMISMEMBER). The partial set this builds gives planIdentity the answers the whole one would.
 *
 * The `#keys` count makes the index check itself: a writer that changes the key set without it (a
 * record stored by an earlier release, an older worker during a rolling deploy) leaves a count that
 * differs from SCARD, and the store then reads the whole set once and writes the index again.
 *
 * Pure: the record store reads and writes; this module decides.
 */
import { apartPair, isSystemKey, type IdentityKey } from './identity.js';

/** The hash field holding the size of the record's key set when its system keys were written. */
const KEY_COUNT_FIELD = '#keys';
/**
 * The hash field holding how many Zendesk user keys (`zduser:`) the set holds: a push with nowhere else to
 * write in Zendesk writes to the first of them (push/worker.ts's linksFor), and reads them only when there are any.
 */
const USER_COUNT_FIELD = '#zduser';
const isUserKey = (k: IdentityKey) => k.startsWith('zduser:');

const FAMILY_AT = /^(?:stripe|sfacct|zdorg|sfcontact|zduser|email):/;

/**
 * The keys an admin's unlinks name (`apartPair`: two keys, sorted, joined by `|`). An email may hold a
 * `|` itself, so every split that leaves a key on both sides is taken: asking the set about a key
 * that is not one costs a membership test and changes nothing.
 */
export function keysKeptApart(apart: Iterable<string>): IdentityKey[] {
  const keys = new Set<IdentityKey>();
  for (const pair of apart) {
    for (let at = pair.indexOf('|'); at !== -1; at = pair.indexOf('|', at + 1)) {
      const [a, b] = [pair.slice(0, at), pair.slice(at + 1)];
      if (FAMILY_AT.test(a) && FAMILY_AT.test(b) && apartPair(a, b) === pair) keys.add(a).add(b);
    }
  }
  return [...keys];
}

/**
 * The record's system keys, from its index hash, or null when the index cannot be trusted: missing
 * (and the set is not empty), written when the set had another size, or by a release that did not
 * count the user keys.
 */
export function systemKeysOf(hash: Readonly<Record<string, string>>, setSize: number): Set<IdentityKey> | null {
  const count = hash[KEY_COUNT_FIELD];
  if (count === undefined) return setSize === 0 ? new Set() : null;
  if (Number(count) !== setSize || hash[USER_COUNT_FIELD] === undefined) return null;
  return new Set(Object.keys(hash).filter((k) => k !== KEY_COUNT_FIELD && k !== USER_COUNT_FIELD));
}

/** How many Zendesk user keys the set holds, from an index systemKeysOf trusts (an empty set's missing index: none). */
export function userKeyCount(hash: Readonly<Record<string, string>>): number {
  return Number(hash[USER_COUNT_FIELD] ?? 0);
}

/**
 * The part of a record's key set planning needs: its system keys, and those of `probes` it holds
 * (`held[i]` answers `probes[i]`, as SMISMEMBER does).
 */
export function partialKeys(
  system: ReadonlySet<IdentityKey>,
  probes: readonly IdentityKey[],
  held: ReadonlyArray<number | boolean>,
): Set<IdentityKey> {
  const keys = new Set(system);
  probes.forEach((k, i) => {
    if (held[i]) keys.add(k);
  });
  return keys;
}

/** The index hash of a record whose whole key set is `keys`. */
export function keyIndexOf(keys: Iterable<IdentityKey>): Record<string, string> {
  const all = new Set(keys);
  const hash: Record<string, string> = {
    [KEY_COUNT_FIELD]: String(all.size),
    [USER_COUNT_FIELD]: String([...all].filter(isUserKey).length),
  };
  for (const k of all) if (isSystemKey(k)) hash[k] = '1';
  return hash;
}

/** What to add to a trusted index when `added` (keys the set did not hold) join a set of `setSize` keys, `userKeys` of them user keys. */
export function keyIndexAdding(
  setSize: number,
  userKeys: number,
  added: readonly IdentityKey[],
): Record<string, string> {
  const unique = new Set(added);
  const hash: Record<string, string> = {
    [KEY_COUNT_FIELD]: String(setSize + unique.size),
    [USER_COUNT_FIELD]: String(userKeys + [...unique].filter(isUserKey).length),
  };
  for (const k of added) if (isSystemKey(k)) hash[k] = '1';
  return hash;
}
