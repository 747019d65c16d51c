/**
 * Which streams a resync or reconcile pass reads for the configured Stripe accounts: every account with a key,
 * by its label, and each Connect platform's connected accounts; a single-account deployment keeps the stream
 * names its checkpoints were written under.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { stripeResyncStreams } from '../../../src/connectors/stripe/streams.js';

const config = (env: Record<string, string>) => {
  const r = loadConfig(env);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.config;
};
const LISTED = {
  STRIPE_EU_SECRET_KEY: 'sk_test_FAKE_eu_key_not_real_0001',
  STRIPE_EU_WEBHOOK_SECRET: 'whsec_test_secret_not_real_eu_0001',
  STRIPE_US_SECRET_KEY: 'sk_test_FAKE_us_key_not_real_0001',
  STRIPE_US_WEBHOOK_SECRET: 'whsec_test_secret_not_real_us_0001',
  STRIPE_US_CONNECT_WEBHOOK_SECRET: 'whsec_test_secret_not_real_usc_001',
  PORTAL_SYNC_CONFIG: 'test/fixtures/config/stripe-accounts.yaml',
};
const names = (c: ReturnType<typeof config>, since: Date | null) =>
  stripeResyncStreams(c.stripe, { since }).map((s) => s.name);

describe('stripeResyncStreams', () => {
  it("reads every listed account by its label, and a platform's connected accounts", () => {
    expect(names(config(LISTED), null)).toEqual([
      'stripe.eu.customers',
      'stripe.eu.subscriptions',
      'stripe.eu.invoices',
      'stripe.us.customers',
      'stripe.us.subscriptions',
      'stripe.us.invoices',
      'stripe.us.connected.customers',
      'stripe.us.connected.subscriptions',
      'stripe.us.connected.invoices',
    ]);
    expect(names(config(LISTED), new Date())).toEqual([
      'stripe.eu.events',
      'stripe.us.events',
      'stripe.us.connected.events',
    ]);
  });

  it('keeps the stream names of a single-account deployment, named or not, and reads no account without a key', () => {
    expect(names(config({ STRIPE_SECRET_KEY: 'sk_test_FAKE_single_key_not_real1' }), null)).toEqual([
      'stripe.customers',
      'stripe.subscriptions',
      'stripe.invoices',
    ]);
    expect(
      names(
        config({ STRIPE_SECRET_KEY: 'sk_test_FAKE_single_key_not_real1', STRIPE_ACCOUNT_ID: 'acct_1SingleFAKE' }),
        new Date(),
      ),
    ).toEqual(['stripe.events']);
    expect(names(config({ STRIPE_WEBHOOK_SECRET: 'whsec_test_secret_not_real_one_0001' }), null)).toEqual([]);
  });
});
