/**
 * stripe.accounts: several Stripe accounts (and Connect platforms) from YAML, their secrets from the variables
 * each entry names; the single-account variables of earlier releases still make one account; every mistake is
 * named by its key, all in one pass.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

const KEYS = {
  STRIPE_EU_SECRET_KEY: 'sk_test_FAKE_eu_key_not_real_0001',
  STRIPE_EU_WEBHOOK_SECRET: 'whsec_test_secret_not_real_eu_0001',
  STRIPE_US_SECRET_KEY: 'sk_test_FAKE_us_key_not_real_0001',
  STRIPE_US_WEBHOOK_SECRET: 'whsec_test_secret_not_real_us_0001',
  STRIPE_US_CONNECT_WEBHOOK_SECRET: 'whsec_test_secret_not_real_usc_001',
};

describe('stripe.accounts', () => {
  it('reads each listed account with its key, secrets, mode and Connect endpoint', () => {
    const r = loadConfig({ ...KEYS, PORTAL_SYNC_CONFIG: 'test/fixtures/config/stripe-accounts.yaml' });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.stripe.accounts).toEqual([
      {
        id: 'acct_1EuEntityFAKE0001',
        label: 'eu',
        mode: 'test',
        secretKey: KEYS.STRIPE_EU_SECRET_KEY,
        webhookSecrets: [KEYS.STRIPE_EU_WEBHOOK_SECRET],
        connect: false,
        connectWebhookSecrets: [],
      },
      {
        id: 'acct_1UsPlatformFAKE01',
        label: 'us',
        mode: 'test',
        secretKey: KEYS.STRIPE_US_SECRET_KEY,
        webhookSecrets: [KEYS.STRIPE_US_WEBHOOK_SECRET],
        connect: true,
        connectWebhookSecrets: [KEYS.STRIPE_US_CONNECT_WEBHOOK_SECRET],
      },
    ]);
  });

  it('keeps the single-account variables working as one account, named by STRIPE_ACCOUNT_ID when it is set', () => {
    const unnamed = loadConfig({
      STRIPE_SECRET_KEY: 'sk_live_FAKE_not_a_real_key_for_tests',
      STRIPE_WEBHOOK_SECRET: 'whsec_test_secret_not_real_one_0001',
    });
    if (!unnamed.ok) throw new Error(unnamed.problems.join('\n'));
    expect(unnamed.config.stripe.accounts).toEqual([
      {
        id: null,
        label: 'default',
        mode: 'live',
        secretKey: 'sk_live_FAKE_not_a_real_key_for_tests',
        webhookSecrets: ['whsec_test_secret_not_real_one_0001'],
        connect: false,
        connectWebhookSecrets: [],
      },
    ]);
    const named = loadConfig({
      STRIPE_WEBHOOK_SECRET: 'whsec_test_secret_not_real_one_0001',
      STRIPE_ACCOUNT_ID: 'acct_1SingleFAKE',
    });
    if (!named.ok) throw new Error(named.problems.join('\n'));
    expect(named.config.stripe.accounts[0]).toMatchObject({ id: 'acct_1SingleFAKE', label: 'default', mode: null });
    expect(loadConfig({ STRIPE_ACCOUNT_ID: 'cus_123' })).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^STRIPE_ACCOUNT_ID: expected the Stripe account id, acct_/)],
    });
  });

  it('names every mistake in the list by its key, in one pass', () => {
    const r = loadConfig({
      STRIPE_B_SECRET_KEY: 'sk_test_FAKE_b_key_not_real_00001',
      STRIPE_B_WEBHOOK_SECRET: 'whsec_test_secret_not_real_shared01',
      STRIPE_A_WEBHOOK_SECRET: 'whsec_test_secret_not_real_shared01',
      PORTAL_SYNC_CONFIG: 'test/fixtures/config/stripe-accounts-bad.yaml',
    });
    expect(r.ok).toBe(false);
    const problems = r.ok ? '' : r.problems.join('\n');
    expect(problems).toMatch(/stripe\.accounts\.0\.id: expected a Stripe account id, acct_/);
    expect(problems).toMatch(/stripe\.accounts\.0\.label: expected lower-case letters/);
    expect(problems).toMatch(/stripe\.accounts\.0\.secretKeyEnv: expected the NAME of the environment variable/);
    expect(problems).toMatch(/stripe\.accounts\.0.*colour/);
  });

  it('refuses one id, label or webhook secret in two accounts, a Connect secret without connect, an unset variable and a key of the other mode', () => {
    const r = loadConfig({
      STRIPE_B_SECRET_KEY: 'sk_test_FAKE_b_key_not_real_00001',
      STRIPE_B_WEBHOOK_SECRET: 'whsec_test_secret_not_real_shared01',
      STRIPE_A_WEBHOOK_SECRET: 'whsec_test_secret_not_real_shared01',
      PORTAL_SYNC_CONFIG: 'test/fixtures/config/stripe-accounts-dupes.yaml',
    });
    const problems = r.ok ? '' : r.problems.join('\n');
    expect(problems).toMatch(
      /^config stripe\.accounts\.1\.id: acct_1SameFAKE is listed twice \(stripe\.accounts\.0\)/m,
    );
    expect(problems).toMatch(/^config stripe\.accounts\.1\.label: a is used twice/m);
    expect(problems).toMatch(/^config stripe\.accounts\.1: a webhook secret of a is also one of a/m);
    expect(problems).toMatch(/^config stripe\.accounts\.0\.connectWebhookSecretsEnv: only a Connect platform/m);
    expect(problems).toMatch(/^STRIPE_A_CONNECT_SECRET: required by stripe\.accounts\.0 \(a\)/m);
    expect(problems).toMatch(/^STRIPE_B_SECRET_KEY: a test key, but the mode of Stripe account a is live/m);
    // No secret value is ever shown.
    expect(problems).not.toMatch(/whsec_test|sk_test_FAKE/);
  });

  it('refuses single-account variables that no listed account names', () => {
    const r = loadConfig({
      ...KEYS,
      STRIPE_SECRET_KEY: 'sk_test_FAKE_stray_key_not_real_01',
      STRIPE_ACCOUNT_ID: 'acct_1StrayFAKE',
      PORTAL_SYNC_CONFIG: 'test/fixtures/config/stripe-accounts.yaml',
    });
    const problems = r.ok ? '' : r.problems.join('\n');
    expect(problems).toMatch(/^STRIPE_SECRET_KEY: set, but no entry of stripe\.accounts names it/m);
    expect(problems).toMatch(/^STRIPE_ACCOUNT_ID: not used when stripe\.accounts lists the accounts/m);
  });
});
