/**
 * Stripe deliveries are verified on the body decoded once (src/connectors/stripe/webhook.ts), and the outcome is the
 * SDK's own on the raw bytes: the same event, or the same refusal, for any body — a UTF-8 BOM, bytes that are not
 * UTF-8, an empty body — under the right secret and a wrong one.
 */
import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { verifyStripeDelivery, verifyStripeWebhook } from '../../../src/connectors/stripe/webhook.js';

const secret = 'whsec_test_webhook_secret_not_real';
const other = 'whsec_other_webhook_secret_not_real';
const account = {
  id: null,
  label: 'default',
  mode: null,
  webhookSecrets: [other, secret],
  connect: false,
  connectWebhookSecrets: [],
};

/** Signs bytes as Stripe signs its body: HMAC-SHA256 of `<t>.<body>`, the body as the SDK reads it. */
function signBytes(body: Buffer, key: string, t = Math.floor(Date.now() / 1000)): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload: new TextDecoder('utf8').decode(body),
    secret: key,
    timestamp: t,
  });
}

/** What the SDK itself says of the raw bytes: the event, or the class of its refusal. */
function sdkOutcome(body: Buffer, header: string): unknown {
  try {
    return { event: Stripe.webhooks.constructEvent(body, header, secret, 300) };
  } catch (err) {
    if (err instanceof Stripe.errors.StripeSignatureVerificationError) return 'bad_signature';
    if (err instanceof SyntaxError) return 'malformed_body';
    throw err;
  }
}

const ours = (body: Buffer, header: string): unknown => {
  const r = verifyStripeWebhook(body, header, [secret], 300);
  return r.ok ? { event: r.event } : r.reason;
};

const event = Buffer.from(JSON.stringify({ id: 'evt_1', object: 'event', type: 'customer.updated', data: {} }));
const bodies: Record<string, Buffer> = {
  'a plain event': event,
  'an event after a UTF-8 BOM': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), event]),
  'an event holding bytes that are not UTF-8': Buffer.concat([
    event.subarray(0, -2),
    Buffer.from([0xff, 0xfe]),
    event.subarray(-2),
  ]),
  'an empty body': Buffer.alloc(0),
  'a body that is not JSON': Buffer.from('not json'),
};

describe('Stripe verification on the body decoded once', () => {
  for (const [what, body] of Object.entries(bodies)) {
    it(`gives the SDK's own outcome on the bytes for ${what}, signed right or wrong`, () => {
      for (const header of [signBytes(body, secret), signBytes(body, other), signBytes(Buffer.from('x'), secret)]) {
        expect(ours(body, header)).toEqual(sdkOutcome(body, header));
      }
    });
  }

  it('gives the SDK’s own outcome for any bytes signed with the secret', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const body = Buffer.from(bytes);
        const header = signBytes(body, secret);
        expect(ours(body, header)).toEqual(sdkOutcome(body, header));
      }),
    );
  });

  it('finds the secret that verifies among an account’s endpoints, the delivery decoded once for all of them', () => {
    const verified = verifyStripeDelivery(event, signBytes(event, secret), [account], 300);
    expect(verified).toMatchObject({ ok: true, endpoint: 'account', event: { id: 'evt_1' } });
    expect(verifyStripeDelivery(event, signBytes(event, 'whsec_nobody_not_real'), [account], 300)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });
});
