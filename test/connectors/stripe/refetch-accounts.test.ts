/**
 * Settling a version tie of a Stripe object reads it from ITS account: a listed account with its own key, a
 * connected account through its platform's key with Stripe-Account; the refetched event keys the customer by
 * that account. An account no configured key may read settles nothing (null), rather than read another's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../../src/config.js';
import { createRefetcher } from '../../../src/connectors/refetch.js';
import { startStripeConnectStandIn, type StripeConnectStandIn } from '../../../src/demo/standins/stripe/connect.js';

const PLATFORM = 'acct_1PlatformFAKE0001';
let s: StripeConnectStandIn;
let config: Config;

beforeAll(async () => {
  s = await startStripeConnectStandIn({ platform: { accountId: PLATFORM }, connected: ['acct_1ConnA', 'acct_1ConnB'] });
  s.accounts.get('acct_1ConnA')!.createCustomer({ id: 'cus_Same', name: 'Alpha GmbH' });
  s.accounts.get('acct_1ConnB')!.createCustomer({ id: 'cus_Same', name: 'Beta Ltd' });
  const r = loadConfig({
    ...s.env,
    STRIPE_PLATFORM_SECRET_KEY: s.secretKey,
    STRIPE_PLATFORM_CONNECT_WEBHOOK_SECRET: 'whsec_test_secret_not_real_connect_e2e',
    PORTAL_SYNC_CONFIG: 'test/fixtures/config/stripe-connect.yaml',
  });
  if (!r.ok) throw new Error(r.problems.join('\n'));
  config = r.config;
});
afterAll(async () => {
  await s?.close();
});

describe('refetching a Stripe object of a connected account', () => {
  it("reads the connected account's own object through the platform with Stripe-Account, keyed by that account", async () => {
    const refetch = createRefetcher(config);
    const a = await refetch({
      source: 'stripe',
      kind: 'stripe.customer',
      objectId: 'cus_Same',
      version: 1_795_689_200_000,
      stripeAccountId: 'acct_1ConnA',
    });
    const b = await refetch({
      source: 'stripe',
      kind: 'stripe.customer',
      objectId: 'cus_Same',
      version: 1_795_689_200_000,
      stripeAccountId: 'acct_1ConnB',
    });
    expect(a).toMatchObject({
      origin: 'snapshot',
      refs: { stripeCustomerId: 'cus_Same', stripeAccountId: 'acct_1ConnA' },
      data: { name: 'Alpha GmbH' },
    });
    expect(b).toMatchObject({ refs: { stripeAccountId: 'acct_1ConnB' }, data: { name: 'Beta Ltd' } });
    expect(s.calls.filter((c) => c.path === '/v1/customers/cus_Same').map((c) => c.stripeAccount)).toEqual([
      'acct_1ConnA',
      'acct_1ConnB',
    ]);
  });

  it('settles nothing for an object of no account a configured key may read', async () => {
    const single = loadConfig({
      ...s.env,
      STRIPE_SECRET_KEY: 'sk_test_FAKE_other_key_not_real_01',
      STRIPE_ACCOUNT_ID: 'acct_1SingleFAKE',
    });
    if (!single.ok) throw new Error(single.problems.join('\n'));
    const before = s.calls.length;
    expect(
      await createRefetcher(single.config)({
        source: 'stripe',
        kind: 'stripe.customer',
        objectId: 'cus_Same',
        version: 1,
        stripeAccountId: 'acct_1ConnA',
      }),
    ).toBeNull();
    expect(s.calls.length).toBe(before);
  });
});
