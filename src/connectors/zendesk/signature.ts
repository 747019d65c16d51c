/**
 * Zendesk webhook signatures (documentation/webhooks/verifying):
 * `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + body)),
 * where the timestamp is the `X-Zendesk-Webhook-Signature-Timestamp` header
 * exactly as sent. Verification runs on the raw request bytes, before any
 * JSON parsing: a re-serialized body would not hash the same.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

type ZendeskSignatureFailure = 'missing_signature' | 'malformed_timestamp' | 'stale_timestamp' | 'bad_signature';

export type ZendeskSignatureResult = { ok: true } | { ok: false; reason: ZendeskSignatureFailure };

export interface ZendeskSignatureInput {
  rawBody: Buffer;
  /** The `X-Zendesk-Webhook-Signature` header. */
  signature: string | undefined;
  /** The `X-Zendesk-Webhook-Signature-Timestamp` header. */
  timestamp: string | undefined;
  /** The webhook's signing secret, used as-is (never base64-decoded). */
  secret: string;
  /** Allowed distance between the signed timestamp and `now`, in either direction. */
  toleranceSeconds: number;
  now?: Date;
}

// Zendesk sends `2024-04-17T17:18:10Z`. Date.parse alone would also accept
// things like "May 18, 2014", so the shape is checked before the value.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** The signature Zendesk would send for this body; also what tests and stand-ins sign with. */
export function signZendeskPayload(body: string | Buffer, secret: string, timestamp: string): string {
  return createHmac('sha256', secret).update(timestamp, 'utf8').update(body).digest('base64');
}

export function verifyZendeskSignature(input: ZendeskSignatureInput): ZendeskSignatureResult {
  const { rawBody, signature, timestamp, secret, toleranceSeconds } = input;
  // Without its timestamp a signature cannot be checked at all, so an absent
  // timestamp header counts as an absent signature rather than a malformed one.
  if (!signature || timestamp === undefined || timestamp === '') {
    return { ok: false, reason: 'missing_signature' };
  }

  const signedAt = ISO_8601.test(timestamp) ? Date.parse(timestamp) : Number.NaN;
  if (!Number.isFinite(signedAt)) return { ok: false, reason: 'malformed_timestamp' };

  // Zendesk documents no window; both directions count so that a timestamp
  // far in the future cannot be replayed for as long as it stays "fresh".
  const now = (input.now ?? new Date()).getTime();
  if (!(Math.abs(now - signedAt) <= toleranceSeconds * 1000)) {
    return { ok: false, reason: 'stale_timestamp' };
  }

  // Compare the base64 text, not decoded bytes: Buffer's base64 decoder skips
  // invalid characters, which would let altered signature strings through.
  const expected = Buffer.from(signZendeskPayload(rawBody, secret, timestamp), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // timingSafeEqual throws on a length mismatch; a different length is simply wrong.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad_signature' };
  }
  return { ok: true };
}
