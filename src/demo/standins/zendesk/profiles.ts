/** The Zendesk stand-in's user profiles and profile events: identifier queries, Zendesk's match for a profile, and an event filed under its profile (created with its user when none matches). */
import { HttpError, isRecord, zendeskErrors, type Json } from './render.js';
import type { ZendeskStore } from './store.js';
import type { ZendeskWrites } from './writes.js';
import type { ZendeskProfile, ZendeskProfileIdentifier, ZendeskUser } from './types.js';

/** `email:x` or `source:type:email:x` (Zendesk's identifier query). */
export function parseIdentifierQuery(query: string) {
  const parts = query.split(':');
  if (parts.length >= 4)
    return { source: parts[0], type: parts[1], idType: parts[2] ?? '', value: parts.slice(3).join(':') };
  if (parts.length >= 2) return { idType: parts[0] ?? '', value: parts.slice(1).join(':') };
  return undefined;
}

const sameIdentifier = (a: ZendeskProfileIdentifier, b: ZendeskProfileIdentifier) =>
  a.type === b.type && (a.type === 'email' ? a.value.toLowerCase() === b.value.toLowerCase() : a.value === b.value);

/** The profile with this source and type holding any of these identifiers (Zendesk's match for a profile). */
export const profileMatching = (
  store: ZendeskStore,
  source: string,
  type: string,
  identifiers: readonly ZendeskProfileIdentifier[],
) =>
  [...store.state.profiles.values()].find(
    (p) =>
      p.source === source &&
      p.type === type &&
      p.identifiers.some((i) => identifiers.some((j) => sameIdentifier(i, j))),
  );

export const profileNotFound = () => new HttpError(404, zendeskErrors.errorsList(404, 'NotFound', 'Profile not found'));

/** The body of POST /user_profiles/events, checked as Zendesk checks it (every problem in one 400). */
function validEvent(body: Json): { profile: Json; event: Json; identifiers: Json[] } {
  const { profile, event } = body;
  const identifiers =
    isRecord(profile) && Array.isArray(profile.identifiers) ? profile.identifiers.filter(isRecord) : [];
  const problems = [
    !isRecord(profile) && 'profile is required',
    isRecord(profile) && (typeof profile.source !== 'string' || !profile.source) && 'profile.source is required',
    isRecord(profile) && (typeof profile.type !== 'string' || !profile.type) && 'profile.type is required',
    isRecord(profile) && identifiers.length === 0 && 'profile.identifiers must have at least one identifier',
    !isRecord(event) && 'event is required',
    isRecord(event) && (typeof event.source !== 'string' || !event.source) && 'event.source is required',
    isRecord(event) && (typeof event.type !== 'string' || !event.type) && 'event.type is required',
    isRecord(event) && !isRecord(event.properties) && 'event.properties must be an object',
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0 || !isRecord(profile) || !isRecord(event)) {
    throw new HttpError(400, zendeskErrors.errorsList(400, 'InvalidRequest', problems.join('; ')));
  }
  return { profile, event, identifiers };
}

/** A profile belongs to a Zendesk user: matched by email or external_id, or created (as Zendesk does). */
function userFor(
  store: ZendeskStore,
  writes: ZendeskWrites,
  profile: Json,
  ids: ZendeskProfileIdentifier[],
): ZendeskUser {
  const email = ids.find((i) => i.type === 'email')?.value;
  const externalId = ids.find((i) => i.type === 'external_id')?.value;
  const user =
    (email ? store.userByEmail(email) : undefined) ?? (externalId ? store.userByExternalId(externalId) : undefined);
  if (user) return user;
  const name =
    typeof profile.name === 'string' && profile.name ? profile.name : (email ?? externalId ?? `${profile.source} user`);
  return writes.user(undefined, {
    name,
    ...(email && { email }),
    ...(!email && externalId && { external_id: externalId }),
  }).user;
}

/** The matching profile, with any new identifiers added, or a new one for this user. */
function profileFor(
  store: ZendeskStore,
  user: ZendeskUser,
  profile: Json,
  ids: ZendeskProfileIdentifier[],
  receivedAt: string,
): ZendeskProfile {
  const source = String(profile.source);
  const type = String(profile.type);
  let filedUnder = profileMatching(store, source, type, ids);
  if (filedUnder) {
    for (const i of ids) if (!filedUnder.identifiers.some((j) => sameIdentifier(i, j))) filedUnder.identifiers.push(i);
    filedUnder.updated_at = receivedAt;
  } else {
    filedUnder = {
      id: `01STANDINPRF${String(++store.sequences.profile).padStart(14, '0')}`,
      user_id: user.id,
      source,
      type,
      ...(typeof profile.name === 'string' && profile.name && { name: profile.name }),
      identifiers: ids.map((i) => ({ ...i })),
      attributes: isRecord(profile.attributes) ? (profile.attributes as Json) : {},
      created_at: receivedAt,
      updated_at: receivedAt,
    };
    store.state.profiles.set(filedUnder.id, filedUnder);
  }
  return filedUnder;
}

/** POST /user_profiles/events: files the event under its profile. */
export function fileProfileEvent(store: ZendeskStore, writes: ZendeskWrites, body: Json): void {
  const { profile, event, identifiers } = validEvent(body);
  const ids = identifiers.map((i) => ({ type: String(i.type ?? ''), value: String(i.value ?? '') }));
  const user = userFor(store, writes, profile, ids);
  const receivedAt = store.stamp();
  const filedUnder = profileFor(store, user, profile, ids, receivedAt);
  store.state.profileEvents.push({
    id: `01STANDINEVT${String(++store.sequences.event).padStart(14, '0')}`,
    profile_id: filedUnder.id,
    user_id: user.id,
    received_at: receivedAt,
    profile: { ...profile, source: String(profile.source), type: String(profile.type), identifiers: ids },
    event: {
      ...event,
      source: String(event.source),
      type: String(event.type),
      properties: event.properties as Json,
      created_at: typeof event.created_at === 'string' ? event.created_at : receivedAt,
    },
  });
}
