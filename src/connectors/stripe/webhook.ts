/**
 * Stripe signature verification, done by the stripe SDK on the raw bytes
 * (never on a re-serialized body: JSON.stringify changes the bytes and every
 * signature then fails).
 */
import Stripe from 'stripe';

export type StripeVerifyResult =
  | { ok: true; event: unknown }
  | { ok: false; reason: 'missing_signature' | 'bad_signature' | 'stale_timestamp' | 'malformed_body' | 'thin_event' };

/** Tries each configured secret (several endpoints, or a rotation); the first that matches wins. */
export function verifyStripeWebhook(rawBody: Buffer, header: string | undefined, secrets: readonly string[], toleranceSeconds: number): StripeVerifyResult {
  if (!header) return { ok: false, reason: 'missing_signature' };
  let result: StripeVerifyResult = { ok: false, reason: 'bad_signature' };
  for (const secret of secrets) {
    result = verifyWithSecret(rawBody, header, secret, toleranceSeconds);
    if (result.ok || result.reason !== 'bad_signature') return result;
  }
  return result;
}

/**
 * The signed `t=` of a Stripe-Signature header, in unix seconds, read as the SDK reads it (the last `t=`,
 * parseInt), so that `t=<now>,t=<future>` or `t=<future>x` cannot show this check another time than the one signed.
 */
function signedAt(header: string): number | undefined {
  let t: number | undefined;
  for (const item of header.split(',')) {
    const [key, value] = item.split('=');
    if (key === 't' && value !== undefined) t = Number.parseInt(value, 10);
  }
  return t === undefined || Number.isNaN(t) ? undefined : t;
}

function verifyWithSecret(rawBody: Buffer, header: string, secret: string, toleranceSeconds: number): StripeVerifyResult {
  try {
    const event = Stripe.webhooks.constructEvent(rawBody, header, secret, toleranceSeconds);
    // The SDK only refuses timestamps too far in the past; one far in the future is outside the window too (as for
    // Zendesk and our HMAC endpoints), or a signature made with a skewed clock could be replayed for that long.
    const t = signedAt(header);
    if (t !== undefined && t - Math.floor(Date.now() / 1000) > toleranceSeconds) return { ok: false, reason: 'stale_timestamp' };
    return { ok: true, event };
  } catch (err) {
    if (err instanceof Stripe.errors.StripeSignatureVerificationError) {
      return { ok: false, reason: /tolerance/i.test(err.message) ? 'stale_timestamp' : 'bad_signature' };
    }
    // The signature matched, so the bytes are Stripe's: a parse failure is a malformed body, a thin
    // (v2) notification is a kind of event this endpoint does not take.
    if (err instanceof SyntaxError) return { ok: false, reason: 'malformed_body' };
    if (err instanceof Error && /thin event/i.test(err.message)) return { ok: false, reason: 'thin_event' };
    throw err;
  }
}

/** Signs a payload the way Stripe does; for tests, stand-ins and benchmarks. */
export function signStripePayload(payload: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp === undefined ? {} : { timestamp }) });
}
