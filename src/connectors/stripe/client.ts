/**
 * The Stripe SDK, configured from Config. Host, port and protocol are only
 * passed when set, so production talks to api.stripe.com and tests or a
 * stand-in point the very same SDK at a loopback address.
 *
 * classifyStripeError is the ONE place that decides whether a failed Stripe
 * call is worth retrying; it follows stripe-node's own _shouldRetry.
 */
import Stripe from 'stripe';
import type { Config } from '../../config.js';
import { parseRetryAfter, type FailureVerdict } from '../../sync/errors.js';

/** Where the API is (Config['stripe'] will do) and the key to call it with. */
export type StripeClientConfig = Pick<Config['stripe'], 'secretKey' | 'host' | 'port' | 'protocol'> & {
  webhookSecrets?: string[];
};

/**
 * `stripeAccount`: a connected account of the key's platform, sent as the `Stripe-Account` header on every
 * request, so that reads see that account's objects (Connect).
 */
export function createStripeClient(cfg: StripeClientConfig, opts: { stripeAccount?: string } = {}): Stripe {
  if (!cfg.secretKey) throw new Error('STRIPE_SECRET_KEY is not set: the Stripe API cannot be called');
  return new Stripe(cfg.secretKey, {
    ...(opts.stripeAccount !== undefined && { stripeAccount: opts.stripeAccount }),
    // The SDK retries connection errors, 409 and 5xx itself, with backoff and idempotency keys.
    maxNetworkRetries: 2,
    timeout: 20_000,
    appInfo: { name: 'portal-sync' },
    ...(cfg.host !== undefined && { host: cfg.host }),
    ...(cfg.port !== undefined && { port: cfg.port }),
    ...(cfg.protocol !== undefined && { protocol: cfg.protocol }),
  });
}

/**
 * 429, 409 (lock and idempotency conflicts, which stripe-node retries too),
 * 5xx and connection failures retry, and so does anything Stripe marks
 * `Stripe-Should-Retry: true`; every other 4xx is permanent.
 */
export function classifyStripeError(err: unknown): FailureVerdict {
  if (!(err instanceof Stripe.errors.StripeError)) {
    return { retryable: false, message: err instanceof Error ? err.message : String(err) };
  }
  const status = err.statusCode;
  const headers = err.headers ?? {};
  const after = parseRetryAfter(headers['retry-after']);
  const verdict = (retryable: boolean): FailureVerdict => ({
    retryable,
    message: `Stripe ${status ?? 'connection'} ${err.code ?? err.type}: ${err.message}`,
    ...(status !== undefined && { status }),
    ...(retryable && after !== undefined && { retryAfterMs: after }),
  });
  if (err instanceof Stripe.errors.StripeConnectionError) return verdict(true);
  if (status === undefined) return verdict(false);
  // `Stripe-Should-Retry: false` (common on 500s) is about replaying the same idempotent request at once,
  // which the SDK has already honoured; a job retried minutes later is a new attempt, so only `true` counts.
  const hinted = headers['stripe-should-retry'] === 'true';
  return verdict(hinted || status === 429 || status === 409 || status >= 500);
}
