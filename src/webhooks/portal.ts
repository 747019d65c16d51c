/**
 * POST /events/portal — activity from the customer portal: HMAC-signed by a
 * server (see hmac.ts and docs/deflection.md), or sent from the browser with
 * `Authorization: Bearer <help center JWT>`, whose verified user is the
 * contact of every event (src/connectors/portal/bind.ts; a body naming
 * another contact is refused with 403).
 */
import type { Request, RequestHandler, Response } from 'express';
import { bindPortalContact } from '../connectors/portal/bind.js';
import { externalContactId } from '../sync/view/view.js';
import { parsePortalEvents } from '../connectors/portal/events.js';
import { brandOfHost, hostOfOrigin, type BrandScope } from '../sync/events/brands.js';
import { HMAC_HEADER, verifyHmac } from './hmac.js';
import type { HelpCenterAuth } from './portal-view.js';
import { deliver, parseJson, rawBody, receiver, reject, type ReceiverDeps } from './receive.js';
import { setRetryAfter, UNAVAILABLE_RETRY_AFTER_MS } from './retry-after.js';

export const HMAC_REJECTIONS = {
  missing_signature: { status: 400, message: 'missing X-Portal-Sync-Signature header' },
  malformed_signature: { status: 400, message: 'X-Portal-Sync-Signature must look like t=<unix seconds>,v1=<hex>' },
  stale_timestamp: { status: 401, message: 'X-Portal-Sync-Signature timestamp is outside the tolerance window' },
  bad_signature: { status: 401, message: 'X-Portal-Sync-Signature does not match the payload and the shared secret' },
} as const;

export interface PortalReceiverOptions {
  /** HMAC secret of server-side senders; unset: only browser events with a help center JWT. */
  secret?: string;
  toleranceSeconds: number;
  auth?: HelpCenterAuth;
  /** The deployment's brands (zendesk.brands): a browser event from a listed Help Center host is of that host's brand. */
  brands?: BrandScope;
}

export function portalReceiver(deps: ReceiverDeps, opts: PortalReceiverOptions): RequestHandler {
  return receiver(deps, 'portal', async (req, res) => {
    if (/^Bearer\s/i.test(req.get('authorization') ?? '')) return fromBrowser(deps, opts, req, res);
    if (!opts.secret) {
      return reject(deps, res, 'portal', {
        status: 401,
        reason: 'missing_token',
        message:
          'send Authorization: Bearer <help center JWT> (signed server events are not enabled here: PORTAL_EVENTS_SECRET)',
      });
    }
    const body = rawBody(req);
    const verified = verifyHmac(body, req.get(HMAC_HEADER), [opts.secret], opts.toleranceSeconds);
    if (!verified.ok)
      return reject(deps, res, 'portal', { reason: verified.reason, ...HMAC_REJECTIONS[verified.reason] });
    const json = parseJson(body);
    if (!json.ok)
      return reject(deps, res, 'portal', { status: 400, reason: 'malformed_body', message: 'body is not valid JSON' });
    const delivery = await deliver(deps, 'portal', parsePortalEvents(json.value), {
      body,
      contentType: req.get('content-type'),
    });
    res.status(delivery.status).json({ received: true, ...delivery.counts });
  });
}

async function fromBrowser(
  deps: ReceiverDeps,
  opts: PortalReceiverOptions,
  req: Request,
  res: Response,
): Promise<void> {
  if (!opts.auth) {
    return reject(deps, res, 'portal', {
      status: 401,
      reason: 'invalid_token',
      message: 'help center tokens are not accepted here: no help center keys are configured',
    });
  }
  const verified = await opts.auth(req);
  if (!verified.ok) {
    if (verified.status === 503) setRetryAfter(res, UNAVAILABLE_RETRY_AFTER_MS);
    return reject(deps, res, 'portal', { status: verified.status, reason: verified.reason, message: verified.message });
  }
  const json = parseJson(rawBody(req));
  if (!json.ok)
    return reject(deps, res, 'portal', { status: 400, reason: 'malformed_body', message: 'body is not valid JSON' });
  const { viewer } = verified;
  const externalContact = externalContactId(viewer);
  const bound = bindPortalContact(json.value, {
    zendeskUserId: viewer.zendeskUserId,
    email: viewer.email,
    salesforceContactId: externalContact,
  });
  if (!bound.ok) return reject(deps, res, 'portal', { status: 403, reason: 'contact_mismatch', message: bound.reason });
  // The page's host names its brand when config lists it: what the browser says is the Origin, not the body.
  const brand = opts.brands ? brandOfHost(opts.brands, hostOfOrigin(req.get('origin'))) : null;
  const branded = brand ? withBrand(bound.body, brand.id) : bound.body;
  // What is stored (and quarantined, for replay without the token) is the body as bound to the token's user.
  const body = Buffer.from(JSON.stringify(branded));
  const delivery = await deliver(deps, 'portal', parsePortalEvents(branded), { body, contentType: 'application/json' });
  res.status(delivery.status).json({ received: true, ...delivery.counts });
}

/** Every event of a body (one event, or {events: [...]}) set to `brandId`. */
function withBrand(body: unknown, brandId: string): unknown {
  const one = (e: unknown) =>
    typeof e === 'object' && e !== null && !Array.isArray(e) ? { ...e, brand_id: brandId } : e;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const events: unknown = (body as { events?: unknown }).events;
  return Array.isArray(events)
    ? { ...body, events: events.map(one) }
    : Object.hasOwn(body, 'events')
      ? body
      : one(body);
}
