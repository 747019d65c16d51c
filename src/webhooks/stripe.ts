/** POST /webhooks/stripe — verified by the stripe SDK on the raw bytes, 300 s tolerance. */
import type { RequestHandler } from 'express';
import { parseStripeEvent, type StripeCrossIdKeys } from '../connectors/stripe/events.js';
import { verifyStripeWebhook } from '../connectors/stripe/webhook.js';
import { deliver, rawBody, receiver, reject, type ReceiverDeps } from './receive.js';

const REJECTIONS = {
  missing_signature: { status: 400, message: 'missing Stripe-Signature header' },
  bad_signature: { status: 401, message: 'Stripe-Signature does not match the payload and STRIPE_WEBHOOK_SECRET' },
  stale_timestamp: { status: 401, message: 'Stripe-Signature timestamp is outside the tolerance window (replayed or delayed delivery)' },
  malformed_body: { status: 400, message: 'body is not valid JSON' },
  thin_event: { status: 400, message: 'thin (v2) event notifications are not supported: send snapshot events to this endpoint' },
} as const;

/** The `livemode` of a verified event, when it says one. */
function livemodeOf(event: unknown): boolean | undefined {
  const value = typeof event === 'object' && event !== null ? (event as { livemode?: unknown }).livemode : undefined;
  return typeof value === 'boolean' ? value : undefined;
}

export function stripeReceiver(
  deps: ReceiverDeps,
  opts: { webhookSecrets: string[]; toleranceSeconds: number; crossIdKeys: StripeCrossIdKeys; mode: 'test' | 'live' | null },
): RequestHandler {
  return receiver(deps, 'stripe', async (req, res) => {
    const body = rawBody(req);
    const verified = verifyStripeWebhook(body, req.get('stripe-signature'), opts.webhookSecrets, opts.toleranceSeconds);
    if (!verified.ok) return reject(deps, res, 'stripe', { reason: verified.reason, ...REJECTIONS[verified.reason] });
    // A test event in a live deployment (or the other way round) is never applied: answered, counted, logged.
    const livemode = livemodeOf(verified.event);
    if (opts.mode !== null && livemode !== undefined && livemode !== (opts.mode === 'live')) {
      const eventId = (verified.event as { id?: unknown }).id;
      deps.metrics.stripeOtherMode.inc({ livemode: String(livemode) });
      deps.logger.warn({ source: 'stripe', eventId, livemode }, `Stripe event of the other mode ignored (stripe.mode is ${opts.mode})`);
      const delivery = await deliver(deps, 'stripe', [{ kind: 'ignored', reason: `${livemode ? 'live' : 'test'}-mode event, stripe.mode is ${opts.mode}` }], { body, contentType: req.get('content-type') });
      res.status(delivery.status).json({ received: true, ...delivery.counts });
      return;
    }
    const result = parseStripeEvent(verified.event, opts.crossIdKeys);
    const delivery = await deliver(deps, 'stripe', [result], { body, contentType: req.get('content-type') });
    res.status(delivery.status).json({ received: true, ...delivery.counts });
  });
}
