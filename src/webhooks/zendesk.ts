/**
 * POST /webhooks/zendesk — both kinds of Zendesk webhook: event-subscribed
 * (`zen:event-type:*` envelopes for users, organizations and tickets) and
 * trigger webhooks whose JSON body is our own template (see docs/setup-zendesk.md).
 */
import type { RequestHandler } from 'express';
import { parseZendeskWebhook } from '../connectors/zendesk/events.js';
import { verifyZendeskSignature } from '../connectors/zendesk/signature.js';
import { deliver, parseJson, rawBody, receiver, reject, type ReceiverDeps } from './receive.js';

const REJECTIONS = {
  missing_signature: {
    status: 400,
    message: 'missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp header',
  },
  malformed_timestamp: { status: 400, message: 'X-Zendesk-Webhook-Signature-Timestamp is not an ISO-8601 time' },
  stale_timestamp: { status: 401, message: 'X-Zendesk-Webhook-Signature-Timestamp is outside the tolerance window' },
  bad_signature: {
    status: 401,
    message: 'X-Zendesk-Webhook-Signature does not match the payload and ZENDESK_WEBHOOK_SECRET',
  },
} as const;

export function zendeskReceiver(
  deps: ReceiverDeps,
  opts: { webhookSecrets: string[]; toleranceSeconds: number },
): RequestHandler {
  return receiver(deps, 'zendesk', async (req, res) => {
    const body = rawBody(req);
    // One secret per Zendesk webhook (event-subscribed and trigger webhooks are separate registrations).
    let verified: ReturnType<typeof verifyZendeskSignature> = { ok: false, reason: 'bad_signature' };
    for (const secret of opts.webhookSecrets) {
      verified = verifyZendeskSignature({
        rawBody: body,
        signature: req.get('x-zendesk-webhook-signature'),
        timestamp: req.get('x-zendesk-webhook-signature-timestamp'),
        secret,
        toleranceSeconds: opts.toleranceSeconds,
      });
      if (verified.ok || verified.reason !== 'bad_signature') break;
    }
    if (!verified.ok) return reject(deps, res, 'zendesk', { reason: verified.reason, ...REJECTIONS[verified.reason] });
    const json = parseJson(body);
    if (!json.ok)
      return reject(deps, res, 'zendesk', { status: 400, reason: 'malformed_body', message: 'body is not valid JSON' });
    // Verified above, so it is exactly what was signed.
    const signedAt = req.get('x-zendesk-webhook-signature-timestamp')!;
    const result = parseZendeskWebhook(json.value, { signedAt });
    const delivery = await deliver(deps, 'zendesk', [result], { body, contentType: req.get('content-type'), signedAt });
    res.status(delivery.status).json({ received: true, ...delivery.counts });
  });
}
