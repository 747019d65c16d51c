import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signZendeskPayload, verifyZendeskSignature } from '../../../src/connectors/zendesk/signature.js';

// Zendesk's documented test vector: the static "Test webhook" secret, used un-decoded.
const SECRET = 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==';
const TIMESTAMP = '2024-04-17T17:18:10Z';
const BODY = '{"a":1}';
const SIGNATURE = 'MXtuhLwk+1QqKCoP4hNyn9HlCTQPH5uxlqbG/Lp8s7E=';
const SIGNED_AT = new Date(TIMESTAMP);

function verify(overrides: Partial<Parameters<typeof verifyZendeskSignature>[0]> = {}) {
  return verifyZendeskSignature({
    rawBody: Buffer.from(BODY),
    signature: SIGNATURE,
    timestamp: TIMESTAMP,
    secret: SECRET,
    toleranceSeconds: 300,
    now: SIGNED_AT,
    ...overrides,
  });
}

describe('signZendeskPayload', () => {
  it('reproduces the documented test vector from a string or a Buffer body', () => {
    expect(signZendeskPayload(BODY, SECRET, TIMESTAMP)).toBe(SIGNATURE);
    expect(signZendeskPayload(Buffer.from(BODY), SECRET, TIMESTAMP)).toBe(SIGNATURE);
  });
});

describe('verifyZendeskSignature', () => {
  it('accepts the documented test vector', () => {
    expect(verify()).toEqual({ ok: true });
  });

  it('rejects a body with one byte changed', () => {
    const tampered = Buffer.from(BODY);
    tampered[5] = '2'.charCodeAt(0);
    expect(verify({ rawBody: tampered })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a re-serialized body even when it means the same JSON', () => {
    expect(verify({ rawBody: Buffer.from('{"a": 1}') })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a replay under a fresh timestamp, because the timestamp is signed too', () => {
    const later = '2024-04-17T17:19:10Z';
    expect(verify({ timestamp: later, now: new Date(later) })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a secret that was base64-decoded before use', () => {
    expect(verify({ secret: Buffer.from(SECRET, 'base64').toString('utf8') })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('rejects a signature of the wrong length without throwing', () => {
    expect(verify({ signature: 'c2hvcnQ=' })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify({ signature: `${SIGNATURE}AAAA` })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('rejects a timestamp older than the tolerance', () => {
    const now = new Date(SIGNED_AT.getTime() + 301_000);
    expect(verify({ now })).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('rejects a timestamp far in the future', () => {
    const now = new Date(SIGNED_AT.getTime() - 3_600_000);
    expect(verify({ now })).toEqual({ ok: false, reason: 'stale_timestamp' });
  });

  it('accepts clock skew up to the tolerance in both directions', () => {
    expect(verify({ now: new Date(SIGNED_AT.getTime() + 300_000) })).toEqual({ ok: true });
    expect(verify({ now: new Date(SIGNED_AT.getTime() - 300_000) })).toEqual({ ok: true });
  });

  it('reports a missing signature or timestamp header as a missing signature', () => {
    expect(verify({ signature: undefined })).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verify({ signature: '' })).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verify({ timestamp: undefined })).toEqual({ ok: false, reason: 'missing_signature' });
  });

  it('rejects a timestamp that is not ISO-8601, even one Date.parse would read', () => {
    expect(verify({ timestamp: 'April 17, 2024' })).toEqual({ ok: false, reason: 'malformed_timestamp' });
    expect(verify({ timestamp: '1713374290' })).toEqual({ ok: false, reason: 'malformed_timestamp' });
    expect(verify({ timestamp: '2024-13-45T99:99:99Z' })).toEqual({ ok: false, reason: 'malformed_timestamp' });
  });

  it('never throws, and accepts only what signZendeskPayload signed', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.option(fc.string(), { nil: undefined }),
        fc.option(
          fc.oneof(
            fc.string(),
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          ),
          { nil: undefined },
        ),
        fc.string(),
        fc.integer({ min: -10, max: 1_000_000 }),
        fc.date({ noInvalidDate: true }),
        (bytes, signature, timestamp, secret, toleranceSeconds, now) => {
          const rawBody = Buffer.from(bytes);
          const result = verifyZendeskSignature({ rawBody, signature, timestamp, secret, toleranceSeconds, now });
          if (result.ok) expect(signature).toBe(signZendeskPayload(rawBody, secret, timestamp ?? ''));
        },
      ),
    );
  });

  it('accepts any body it signed within the window', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.string({ minLength: 1 }), (bytes, secret) => {
        const rawBody = Buffer.from(bytes);
        const signature = signZendeskPayload(rawBody, secret, TIMESTAMP);
        expect(verify({ rawBody, secret, signature })).toEqual({ ok: true });
      }),
    );
  });
});
