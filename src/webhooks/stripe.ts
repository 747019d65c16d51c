/**
 * POST /webhooks/stripe — verified by the stripe SDK on the raw bytes, 300 s tolerance, against the secrets of
 * every configured Stripe account: the secret that verifies a delivery says whose it is (an account endpoint:
 * that account; a Connect platform's endpoint: the connected account the signed event names).
 */
import type { RequestHandler } from 'express';
import { parseStripeEvent, type StripeCrossIdKeys } from '../connectors/stripe/events.js';
import {
  attributeStripeEvent,
  verifyStripeDelivery,
  type StripeReceivingAccount,
} from '../connectors/stripe/webhook.js';
import { deliver, rawBody, receiver, reject, type ReceiverDeps } from './receive.js';

const REJECTIONS = {
  missing_signature: { status: 400, message: 'missing Stripe-Signature header' },
  bad_signature: {
    status: 401,
    message: 'Stripe-Signature does not match the payload and the webhook secret of any configured Stripe account',
  },
  stale_timestamp: {
    status: 401,
    message: 'Stripe-Signature timestamp is outside the tolerance window (replayed or delayed delivery)',
  },
  malformed_body: { status: 400, message: 'body is not valid JSON' },
  thin_event: {
    status: 400,
    message: 'thin (v2) event notifications are not supported: send snapshot events to this endpoint',
  },
} as const;

/** The `livemode` of a verified event, when it says one. */
function livemodeOf(event: unknown): boolean | undefined {
  const value = typeof event === 'object' && event !== null ? (event as { livemode?: unknown }).livemode : undefined;
  return typeof value === 'boolean' ? value : undefined;
}

export interface StripeReceiverOptions {
  accounts: readonly StripeReceivingAccount[];
  toleranceSeconds: number;
  crossIdKeys: StripeCrossIdKeys;
  /** How messages name an account's mode setting: `stripe.mode` (single account) or `the mode of Stripe account <label>`. */
  modeSetting: (account: StripeReceivingAccount) => string;
}

export function stripeReceiver(deps: ReceiverDeps, opts: StripeReceiverOptions): RequestHandler {
  return receiver(deps, 'stripe', async (req, res) => {
    const body = rawBody(req);
    const verified = verifyStripeDelivery(body, req.get('stripe-signature'), opts.accounts, opts.toleranceSeconds);
    if (!verified.ok) return reject(deps, res, 'stripe', { reason: verified.reason, ...REJECTIONS[verified.reason] });
    const { account } = verified;
    const attributed = attributeStripeEvent(verified.event, verified);
    if (!attributed.ok) {
      return reject(deps, res, 'stripe', { reason: attributed.reason, status: 403, message: attributed.message });
    }
    // A test event in a live deployment (or the other way round) is never applied: answered, counted, logged. A live
    // Connect endpoint receives its connected accounts' test events too (Stripe sends both there): the same rule.
    const livemode = livemodeOf(verified.event);
    if (account.mode !== null && livemode !== undefined && livemode !== (account.mode === 'live')) {
      const eventId = (verified.event as { id?: unknown }).id;
      const setting = opts.modeSetting(account);
      deps.metrics.stripeOtherMode.inc({ livemode: String(livemode) });
      deps.logger.warn(
        { source: 'stripe', eventId, livemode, account: account.label },
        `Stripe event of the other mode ignored (${setting} is ${account.mode})`,
      );
      const delivery = await deliver(
        deps,
        'stripe',
        [{ kind: 'ignored', reason: `${livemode ? 'live' : 'test'}-mode event, ${setting} is ${account.mode}` }],
        { body, contentType: req.get('content-type') },
      );
      res.status(delivery.status).json({ received: true, ...delivery.counts });
      return;
    }
    const result = parseStripeEvent(verified.event, opts.crossIdKeys, attributed.accountId);
    // The account goes with a quarantined body: a replay keys its customers as this delivery would have.
    const delivery = await deliver(deps, 'stripe', [result], {
      body,
      contentType: req.get('content-type'),
      stripeAccountId: attributed.accountId,
    });
    res.status(delivery.status).json({ received: true, ...delivery.counts });
  });
}
