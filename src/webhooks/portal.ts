/** POST /events/portal — activity from the customer portal, HMAC-signed (see hmac.ts and the README). */
import type { RequestHandler } from 'express';
import { parsePortalEvents } from '../connectors/portal/events.js';
import { HMAC_HEADER, verifyHmac } from './hmac.js';
import { deliver, parseJson, rawBody, receiver, reject, type ReceiverDeps } from './receive.js';

export const HMAC_REJECTIONS = {
  missing_signature: { status: 400, message: 'missing X-Portal-Sync-Signature header' },
  malformed_signature: { status: 400, message: 'X-Portal-Sync-Signature must look like t=<unix seconds>,v1=<hex>' },
  stale_timestamp: { status: 401, message: 'X-Portal-Sync-Signature timestamp is outside the tolerance window' },
  bad_signature: { status: 401, message: 'X-Portal-Sync-Signature does not match the payload and the shared secret' },
} as const;

export function portalReceiver(deps: ReceiverDeps, opts: { secret: string; toleranceSeconds: number }): RequestHandler {
  return receiver(deps, 'portal', async (req, res) => {
    const body = rawBody(req);
    const verified = verifyHmac(body, req.get(HMAC_HEADER), [opts.secret], opts.toleranceSeconds);
    if (!verified.ok) return reject(deps, res, 'portal', { reason: verified.reason, ...HMAC_REJECTIONS[verified.reason] });
    const json = parseJson(body);
    if (!json.ok) return reject(deps, res, 'portal', { status: 400, reason: 'malformed_body', message: 'body is not valid JSON' });
    const delivery = await deliver(deps, 'portal', parsePortalEvents(json.value), { body, contentType: req.get('content-type') });
    res.status(delivery.status).json({ received: true, ...delivery.counts });
  });
}
