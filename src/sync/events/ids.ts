/**
 * The shapes of the ids that join records, checked at intake. Every id and
 * email inside a payload is untrusted: only a value with its system's real
 * shape may become an identity key. Everything else — blank, `N/A`, `none`,
 * `-`, `0`, `null`, `TBD`, a Contact id where an Account id belongs, an
 * 18-character Salesforce id whose checksum does not match — is refused: the
 * event still applies, the link is not made, and the refusal travels with the
 * event so that the store records it (`identity refused`, `inspect --explain`,
 * a metric).
 *
 * Pure: no I/O. Every connector parser that extracts a cross-id calls
 * screenRefs() (config/default.yaml's `identity` names which payload fields
 * carry them).
 *
 * Emails are normalized by one rule, NFKC + case folding (see normalizeEmail).
 */
import { z } from 'zod';

export const REF_NAMES = [
  'stripeCustomerId',
  'stripeAccountId',
  'salesforceAccountId',
  'salesforceContactId',
  'zendeskOrganizationId',
  'zendeskUserId',
  'email',
] as const;
export type RefName = (typeof REF_NAMES)[number];

/** `mismatch`: a portal event's id that names another customer than its strongest id (store.ts). */
const REFUSAL_REASONS = ['placeholder', 'shape', 'prefix', 'checksum', 'mismatch'] as const;
type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Longest refused value kept (it is payload text: shown to admins, never trusted). */
const REFUSED_VALUE_MAX = 80;

export const RefusedRefSchema = z.strictObject({
  ref: z.enum(REF_NAMES),
  value: z.string().max(REFUSED_VALUE_MAX),
  reason: z.enum(REFUSAL_REASONS),
});
export type RefusedRef = z.infer<typeof RefusedRefSchema>;

export type IdVerdict = { ok: true; value: string } | { ok: false; reason: RefusalReason };

/** What people type when they have no id: never an id of any system. */
const PLACEHOLDER =
  /^(?:n\/?a|n\.a\.?|none|null|nil|undefined|unknown|tbd|tba|todo|pending|missing|empty|test|xxx+|x|-+|_+|\?+|\.+|#+|0+|false|true)$/i;

function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value.trim());
}

// ---- Salesforce -------------------------------------------------------------------

const SF_CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** The 3-character suffix Salesforce appends to a 15-character id (one bit per upper-case letter, 5 per chunk). */
export function salesforceChecksum(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const ch = id15.charCodeAt(chunk * 5 + i);
      if (ch >= 65 && ch <= 90) bits |= 1 << i;
    }
    suffix += SF_CHECKSUM_ALPHABET[bits];
  }
  return suffix;
}

/** The 18-character form of a 15-character id (one record has one key, whichever form a system sent). */
export function salesforceId18(id15: string): string {
  return id15.length === 15 ? `${id15}${salesforceChecksum(id15)}` : id15;
}

/**
 * A Salesforce record id of the object with `keyPrefix` (`001` Account, `003` Contact): 15 case-sensitive
 * alphanumerics, or 18 whose last 3 are the checksum of the first 15. Canonical form: 18 characters.
 * A record number of all zeros (`001000000000000`) is Salesforce's empty key, not a record.
 */
export function checkSalesforceId(raw: string, keyPrefix: string): IdVerdict {
  const v = raw.trim();
  if (isPlaceholder(v)) return { ok: false, reason: 'placeholder' };
  if (!/^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/.test(v)) return { ok: false, reason: 'shape' };
  if (!v.startsWith(keyPrefix)) return { ok: false, reason: 'prefix' };
  const id15 = v.slice(0, 15);
  if (/^0+$/.test(id15.slice(6))) return { ok: false, reason: 'placeholder' };
  if (v.length === 18 && v.slice(15).toUpperCase() !== salesforceChecksum(id15))
    return { ok: false, reason: 'checksum' };
  return { ok: true, value: salesforceId18(id15) };
}

// ---- Zendesk and Stripe -------------------------------------------------------------

/** Zendesk ids are positive integers (sent as numbers or strings); 0 means "none". */
export function checkZendeskId(raw: string | number): IdVerdict {
  const v = String(raw).trim();
  if (isPlaceholder(v)) return { ok: false, reason: 'placeholder' };
  return /^[1-9]\d{0,19}$/.test(v) ? { ok: true, value: v } : { ok: false, reason: 'shape' };
}

/** Stripe customer ids: `cus_` and up to 255 characters in all. */
export function checkStripeCustomerId(raw: string): IdVerdict {
  const v = raw.trim();
  if (isPlaceholder(v)) return { ok: false, reason: 'placeholder' };
  if (!/^[A-Za-z0-9_]{1,255}$/.test(v)) return { ok: false, reason: 'shape' };
  return v.startsWith('cus_') && v.length > 4 ? { ok: true, value: v } : { ok: false, reason: 'prefix' };
}

/**
 * Stripe account ids: `acct_` and letters and digits. Never read from a payload on its own word: the
 * webhook edge sets it from the account whose secret verified the delivery, or, for a Connect platform's
 * endpoint, from the signed event's `account` (src/webhooks/stripe.ts).
 */
function checkStripeAccountId(raw: string): IdVerdict {
  const v = raw.trim();
  if (isPlaceholder(v)) return { ok: false, reason: 'placeholder' };
  if (!/^[A-Za-z0-9_]{1,255}$/.test(v)) return { ok: false, reason: 'shape' };
  return /^acct_[A-Za-z0-9]{1,64}$/.test(v) ? { ok: true, value: v } : { ok: false, reason: 'prefix' };
}

// ---- email ----------------------------------------------------------------------------

/**
 * One rule for every email we compare: trim, NFKC, lower-case, NFKC again (Unicode's NFKC_Casefold,
 * approximated). So the Kelvin sign `K` (U+212A), a full-width `Ｋ` and `K` are one letter, in
 * either direction and whichever arrives first; plus-addressing is kept (`ann+billing@` is its own
 * address). Returns undefined for anything that is not one address: no `@`, more than one, an empty
 * side, whitespace or control characters, over 254 characters.
 */
export function normalizeEmail(email: string | null | undefined): string | undefined {
  if (typeof email !== 'string') return undefined;
  const e = email.trim().normalize('NFKC').toLowerCase().normalize('NFKC');
  return isEmailShape(e) ? e : undefined;
}

function isEmailShape(e: string): boolean {
  if (e.length < 3 || e.length > 254 || /[\s\p{Cc}\p{Cf}]/u.test(e)) return false;
  const at = e.indexOf('@');
  return at > 0 && at === e.lastIndexOf('@') && at < e.length - 1;
}

export function checkEmail(raw: string): IdVerdict {
  const v = raw.trim();
  if (isPlaceholder(v)) return { ok: false, reason: 'placeholder' };
  const e = normalizeEmail(v);
  return e === undefined ? { ok: false, reason: 'shape' } : { ok: true, value: e };
}

// ---- all refs at once -------------------------------------------------------------------

const CHECKS: Record<RefName, (raw: string) => IdVerdict> = {
  stripeCustomerId: checkStripeCustomerId,
  stripeAccountId: checkStripeAccountId,
  salesforceAccountId: (v) => checkSalesforceId(v, '001'),
  salesforceContactId: (v) => checkSalesforceId(v, '003'),
  zendeskOrganizationId: checkZendeskId,
  zendeskUserId: checkZendeskId,
  email: checkEmail,
};

export function checkRef(ref: RefName, raw: string | number): IdVerdict {
  return CHECKS[ref](String(raw));
}

export type RawRefs = Partial<Record<RefName, string | number | null | undefined>>;

/**
 * The refs a payload names, each checked by its system's shape. Absent and blank values are simply
 * absent (there was nothing to link); any other value that fails is refused and listed.
 */
export function screenRefs(raw: RawRefs): { refs: Partial<Record<RefName, string>>; refused: RefusedRef[] } {
  const refs: Partial<Record<RefName, string>> = {};
  const refused: RefusedRef[] = [];
  for (const ref of REF_NAMES) {
    const value = raw[ref];
    if (value === null || value === undefined || String(value).trim() === '') continue;
    const verdict = checkRef(ref, value);
    if (verdict.ok) refs[ref] = verdict.value;
    else refused.push({ ref, value: String(value).trim().slice(0, REFUSED_VALUE_MAX), reason: verdict.reason });
  }
  return { refs, refused };
}

/** `refused` on a SourceEvent only when there is something in it, so events without refusals keep their shape. */
export function withRefused<T extends object>(
  event: T,
  refused: readonly RefusedRef[],
): T & { refused?: RefusedRef[] } {
  return refused.length > 0 ? { ...event, refused: [...refused] } : event;
}
