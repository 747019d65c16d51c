/**
 * The signature scheme of the endpoints whose senders we write ourselves
 * (Salesforce Flow/Apex callouts, the customer portal): Stripe's well-known
 * shape, so that any engineer who has verified a Stripe webhook can sign one.
 *
 *   X-Portal-Sync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * Several v1 values may be sent while a secret is being rotated.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const HMAC_HEADER = 'x-portal-sync-signature';

export type HmacVerifyResult =
  | { ok: true }
  | { ok: false; reason: 'missing_signature' | 'malformed_signature' | 'stale_timestamp' | 'bad_signature' };

export function signHmac(body: string | Buffer, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

export function verifyHmac(
  rawBody: Buffer,
  header: string | undefined,
  secrets: readonly string[],
  toleranceSeconds: number,
  now = Date.now(),
): HmacVerifyResult {
  if (!header) return { ok: false, reason: 'missing_signature' };
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v && /^\d{1,12}$/.test(v)) timestamp = Number(v);
    if (k === 'v1' && v && /^[0-9a-f]{64}$/i.test(v)) signatures.push(Buffer.from(v, 'hex'));
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'malformed_signature' };
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
    if (signatures.some((s) => timingSafeEqual(s, expected))) {
      // Check the age only after the MAC: an attacker learns nothing from a timing difference on forged headers.
      return Math.abs(Math.floor(now / 1000) - timestamp) > toleranceSeconds
        ? { ok: false, reason: 'stale_timestamp' }
        : { ok: true };
    }
  }
  return { ok: false, reason: 'bad_signature' };
}

/** Per process: the digests compared below cannot be precomputed by anyone. */
const COMPARE_KEY = randomBytes(32);
const compareDigest = (s: string) => createHmac('sha256', COMPARE_KEY).update(s, 'utf8').digest();

/**
 * A secret sent as-is (a URL token, a bearer token) against the configured one, in constant time in both
 * content and length: both sides become 32-byte HMACs first, so a wrong length takes as long as a wrong byte.
 */
export function secretsMatch(given: string, expected: string): boolean {
  return timingSafeEqual(compareDigest(given), compareDigest(expected));
}
