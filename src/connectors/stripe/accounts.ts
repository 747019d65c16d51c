/**
 * Which SDK client reads which Stripe account: a listed account with its own key, or a connected account of
 * the one Connect platform with a key, through the platform's key and the `Stripe-Account` header. Never a
 * guess: a connected account when several platforms could own it gets no client (its reads are skipped and
 * said so), and neither does an account nothing configured names.
 */
import type Stripe from 'stripe';
import type { Config } from '../../config.js';
import type { StripeAccount } from '../../config-stripe.js';
import { createStripeClient } from './client.js';

export type StripeApiConfig = Pick<Config['stripe'], 'accounts' | 'host' | 'port' | 'protocol'>;

/** How to read account `accountId` (undefined/null: the unnamed single account), or null when no configured key may. */
function stripeReaderFor(
  config: StripeApiConfig,
  accountId: string | null | undefined,
): { account: StripeAccount; stripeAccount?: string } | null {
  const keyed = config.accounts.filter((a) => a.secretKey !== undefined);
  if (!accountId) {
    const single = config.accounts.length === 1 ? config.accounts[0] : undefined;
    return single?.secretKey !== undefined && single.id === null ? { account: single } : null;
  }
  const own = keyed.find((a) => a.id === accountId);
  if (own) return { account: own };
  const platforms = keyed.filter((a) => a.connect);
  return platforms.length === 1 ? { account: platforms[0]!, stripeAccount: accountId } : null;
}

/** SDK clients by account, created once each. */
export function stripeClients(config: StripeApiConfig): (accountId: string | null | undefined) => Stripe | null {
  const made = new Map<string, Stripe>();
  return (accountId) => {
    const reader = stripeReaderFor(config, accountId);
    if (reader === null) return null;
    const cacheKey = `${reader.account.label}|${reader.stripeAccount ?? ''}`;
    let client = made.get(cacheKey);
    if (!client) {
      client = createStripeClient(
        { ...config, secretKey: reader.account.secretKey },
        reader.stripeAccount === undefined ? {} : { stripeAccount: reader.stripeAccount },
      );
      made.set(cacheKey, client);
    }
    return client;
  };
}

/** The id of the account a key belongs to: `GET /v1/account` (how a single-account deployment learns its own id once). */
export async function readStripeAccountId(stripe: Stripe): Promise<string> {
  const account = await stripe.accounts.retrieveCurrent();
  return account.id;
}
