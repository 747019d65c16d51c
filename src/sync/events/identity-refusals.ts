/**
 * Identity refusals: ids an event named that linked nothing — a placeholder
 * or malformed cross-id (ids.ts), or a portal event's id that names another
 * customer than its strongest id. The event itself applied; the refusal is
 * kept here for admins (`identity refused`, `inspect --explain`), one entry
 * per id and object, so a redelivery or a resync does not add another.
 */
import type { Redis } from 'ioredis';
import { familyOf, parseStripeKey, type IdentityKey } from './identity.js';
import type { RefName, RefusedRef } from './ids.js';
import type { SourceEvent } from './source-event.js';

export interface IdentityRefusal extends RefusedRef {
  /** Deterministic: ref, value and the event's strongest key (or its object). */
  id: string;
  /** The record the event was applied to (it may have been merged since: match by `keys`). */
  recordId: string | null;
  /** The identity keys the event did link by. */
  keys: IdentityKey[];
  evidence: { source: string; eventId: string; type: string; version: number };
}

/** Past this many entries new refusals are only counted (metric and log), so the hash stays bounded. */
const MAX_REFUSALS = 10_000;

const FAMILY_REF: Record<string, RefName> = {
  stripe: 'stripeCustomerId',
  sfacct: 'salesforceAccountId',
  sfcontact: 'salesforceContactId',
  zdorg: 'zendeskOrganizationId',
  zduser: 'zendeskUserId',
  email: 'email',
};

/** An identity key as the ref it came from (`email:a@x` → { ref: 'email', value: 'a@x' }). */
export function refOfKey(key: IdentityKey): { ref: RefName; value: string } {
  const stripe = parseStripeKey(key);
  if (stripe) return { ref: 'stripeCustomerId', value: stripe.customerId };
  return { ref: FAMILY_REF[familyOf(key)] ?? 'email', value: key.slice(key.indexOf(':') + 1) };
}

export function refusalsFor(
  event: SourceEvent,
  keys: IdentityKey[],
  recordId: string | null,
  refused: readonly RefusedRef[],
): IdentityRefusal[] {
  const anchor = keys[0] ?? `${event.source}:${event.objectId}`;
  return refused.map((r) => ({
    id: `${r.ref}|${r.value}|${anchor}`,
    ...r,
    recordId,
    keys,
    evidence: { source: event.source, eventId: event.eventId, type: event.type, version: event.version },
  }));
}

export async function storeRefusals(
  redis: Redis,
  hashKey: string,
  refusals: readonly IdentityRefusal[],
): Promise<void> {
  if (refusals.length === 0) return;
  if ((await redis.hlen(hashKey)) >= MAX_REFUSALS) return;
  await redis.hset(hashKey, ...refusals.flatMap((r) => [r.id, JSON.stringify(r)]));
}

export async function listRefusals(redis: Redis, hashKey: string): Promise<IdentityRefusal[]> {
  const all = await redis.hvals(hashKey);
  return all.map((r) => JSON.parse(r) as IdentityRefusal).sort((a, b) => a.id.localeCompare(b.id));
}

/** The refusals that concern a record: filed under it, or made by an event that linked by one of its keys. */
export function refusalsOf(
  all: readonly IdentityRefusal[],
  recordId: string,
  owned: readonly IdentityKey[],
): IdentityRefusal[] {
  const mine = new Set(owned);
  return all.filter((r) => r.recordId === recordId || r.keys.some((k) => mine.has(k)));
}
