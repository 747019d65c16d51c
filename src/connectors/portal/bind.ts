/**
 * Portal activity sent from the browser with a help center JWT: the contact of
 * every event is the token's user, never what the body says. A body that names
 * a contact anyway must name that same user; one naming anybody else is refused
 * whole (nothing of it is stored), since only a broken or forged page sends it.
 * Pure: the token is verified before this runs (src/webhooks/portal.ts).
 */
import { checkSalesforceId } from '../../sync/events/ids.js';
import { normalizeEmail } from '../../sync/events/source-event.js';

export interface TokenContact {
  zendeskUserId: string;
  email: string | null;
  /** The user's external id when it is a Salesforce Contact id (18-character form). */
  salesforceContactId: string | null;
}

export type BindResult = { ok: true; body: unknown } | { ok: false; reason: string };

function sameContact(given: unknown, c: TokenContact): boolean {
  if (given === undefined || given === null) return true;
  if (typeof given !== 'object' || Array.isArray(given)) return false;
  const g = given as Record<string, unknown>;
  for (const [k, v] of Object.entries(g)) {
    if (v === null || v === undefined) continue;
    if (k === 'zendesk_user_id' && String(v) === c.zendeskUserId) continue;
    if (k === 'email' && typeof v === 'string' && c.email !== null && normalizeEmail(v) === normalizeEmail(c.email))
      continue;
    if (k === 'salesforce_contact_id' && typeof v === 'string' && c.salesforceContactId !== null) {
      const given = checkSalesforceId(v, '003');
      if (given.ok && given.value === c.salesforceContactId) continue;
    }
    return false;
  }
  return true;
}

function wireContact(c: TokenContact): Record<string, string> {
  return {
    zendesk_user_id: c.zendeskUserId,
    ...(c.email !== null && normalizeEmail(c.email) ? { email: c.email } : {}),
    ...(c.salesforceContactId ? { salesforce_contact_id: c.salesforceContactId } : {}),
  };
}

/** The body with the token's contact on every event; events that are not objects are left for the parser to reject. */
export function bindPortalContact(body: unknown, contact: TokenContact): BindResult {
  const bindOne = (e: unknown): unknown | false => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return e;
    const given = (e as Record<string, unknown>).contact;
    if (!sameContact(given, contact)) return false;
    return { ...(e as Record<string, unknown>), contact: wireContact(contact) };
  };
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.hasOwn(body, 'events')) {
    const events: unknown = (body as { events: unknown }).events;
    if (!Array.isArray(events)) return { ok: true, body };
    const bound = events.map(bindOne);
    if (bound.some((e) => e === false))
      return { ok: false, reason: 'an event names a contact other than the signed-in user' };
    return { ok: true, body: { ...(body as Record<string, unknown>), events: bound } };
  }
  const one = bindOne(body);
  return one === false
    ? { ok: false, reason: 'the event names a contact other than the signed-in user' }
    : { ok: true, body: one };
}
