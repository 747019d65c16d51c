/**
 * The Zendesk profiles portal-sync's deflection events were filed under, found
 * and deleted for `identity forget --portal clear`. Zendesk deletes events only
 * with the profile they belong to (`DELETE /user_profiles/{profile_id}`, 204),
 * and a profile is found by an identifier query
 * (`GET /user_profiles?identifier=<source>:<type>:email:<email>`, answered
 * `{profile}` or 404) or by its Zendesk user (`GET /users/{user_id}/profiles`,
 * answered `{profiles: […]}`). Only profiles of portal-sync's own source
 * (`targets.zendesk.profileEventSource`) and type are touched: another
 * application's profile of the same person, and the user, are left alone.
 *
 * The identifier query needs the email, which the erasure sweep removes: so the
 * profiles are looked up at forget time and kept in the plan by id and user id.
 */
import type { ClearResult, LocateResult, PortalClear, ZendeskProfileRef } from '../../sync/push/portal-target.js';
import { normalizeEmail } from '../../sync/events/source-event.js';
import { classifyZendeskError, zendeskRequest, type ZendeskClient } from './client.js';
import { DEFLECTION_PROFILE_TYPE, type ZendeskTargetConfig } from './target-format.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Zendesk's profile ids are ULID-like strings: anything else must not reach a path. */
const PROFILE_ID = /^[A-Za-z0-9]{1,64}$/;
const USER_ID = /^[1-9]\d{0,18}$/;

/** A profile of the wire, if it is one of portal-sync's own (source and type). */
function ownProfile(v: unknown, cfg: ZendeskTargetConfig): ZendeskProfileRef | null {
  if (!isRecord(v) || v['source'] !== cfg.profileEventSource || v['type'] !== DEFLECTION_PROFILE_TYPE) return null;
  const id = v['id'];
  if (typeof id !== 'string' || !PROFILE_ID.test(id)) return null;
  const user = v['user_id'];
  return { id, userId: typeof user === 'string' || typeof user === 'number' ? String(user) : null };
}

/** Each email's deflection profile, by identifier query; an email without one (404) has nothing to take back. */
export async function locateDeflectionProfiles(
  client: ZendeskClient,
  cfg: ZendeskTargetConfig,
  emails: readonly string[],
): Promise<LocateResult> {
  const found = new Map<string, ZendeskProfileRef>();
  const failures = new Map<string, number>();
  const wanted = [...new Set(emails.map((e) => normalizeEmail(e)).filter((e): e is string => e !== undefined))];
  for (const email of wanted) {
    try {
      const res = await zendeskRequest(client, 'GET', [
        'user_profiles',
        { identifier: `${cfg.profileEventSource}:${DEFLECTION_PROFILE_TYPE}:email:${email}` },
      ]);
      const profile = ownProfile(isRecord(res) ? res['profile'] : undefined, cfg);
      if (profile) found.set(profile.id, profile);
    } catch (err) {
      const verdict = classifyZendeskError(err);
      if (verdict.status === 404) continue;
      failures.set(verdict.message, (failures.get(verdict.message) ?? 0) + 1);
    }
  }
  // The emails are never named: the reason and how many lookups it stopped.
  const failed = [...failures].map(([reason, n]) => `deflection profiles of ${n} email(s) not looked up: ${reason}`);
  return { zendeskProfiles: [...found.values()], failed };
}

/**
 * Deletes portal-sync's deflection profiles of a forgotten customer: those the plan kept, and those
 * of every Zendesk user it names (a contact's user, a kept profile's user). Labels:
 * `deflection_profile:<id>`; a profile already deleted (404) is absent.
 */
export async function clearDeflectionProfiles(
  client: ZendeskClient,
  cfg: ZendeskTargetConfig,
  c: PortalClear,
  out: ClearResult,
): Promise<void> {
  const profiles = new Set((c.zendeskProfiles ?? []).map((p) => p.id).filter((id) => PROFILE_ID.test(id)));
  const users = new Set<string>();
  for (const place of c.places)
    for (const contact of place.contacts) if (contact.zendeskUserId) users.add(contact.zendeskUserId);
  for (const p of c.zendeskProfiles ?? []) if (p.userId) users.add(p.userId);
  for (const user of users) {
    if (!USER_ID.test(user)) continue; // never a path; the billing part reports a malformed id where it is its owner
    out.calls++;
    try {
      const res = await zendeskRequest(client, 'GET', ['users', user, 'profiles']);
      const list = isRecord(res) && Array.isArray(res['profiles']) ? res['profiles'] : [];
      for (const v of list) {
        const own = ownProfile(v, cfg);
        if (own) profiles.add(own.id);
      }
    } catch (err) {
      const verdict = classifyZendeskError(err);
      // A user deleted since: Zendesk deleted its profiles with it.
      if (verdict.status !== 404) out.failed.push(`deflection_profiles:user-${user}: ${verdict.message}`);
    }
  }
  for (const id of [...profiles].sort()) {
    const label = `deflection_profile:${id}`;
    out.calls++;
    try {
      await zendeskRequest(client, 'DELETE', ['user_profiles', id]);
      out.cleared.push(label);
    } catch (err) {
      const verdict = classifyZendeskError(err);
      if (verdict.status === 404) out.absent.push(label);
      else out.failed.push(`${label}: ${verdict.message}`);
    }
  }
}
