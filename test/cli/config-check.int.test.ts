/**
 * `config check` is the whole truth: every check the runtime would make (cross-field rules, target
 * requirements, the Salesforce flow), all at once, in plain words, with did-you-mean for unknown YAML
 * keys; and the shipped example env never points a copied .env at the real platforms.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../support/cli.js';

describe('portal-sync config check', { timeout: 120_000 }, () => {
  it('names every problem of a half-filled env at once, in plain words, including the Salesforce flow the runtime would refuse', async () => {
    const r = await runCli(['config', 'check'], {
      PORT: 'eighty',
      PORTAL_TARGET: 'zendesk,salesforce',
      SALESFORCE_CLIENT_ID: '3MVG9ExampleConsumerKey',
      SALESFORCE_CLIENT_SECRET: 'example_connected_app_secret_0123',
      PORTAL_SYNC_CONFIG: resolve(ROOT, 'test/fixtures/config/unknown-key.yaml'),
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines).toContain('  - PORT: must be a whole number (a TCP port), got "eighty"');
    expect(lines).toContain(
      '  - SALESFORCE_LOGIN_URL: the client credentials flow does not work on login.salesforce.com or test.salesforce.com; set it (or SALESFORCE_INSTANCE_URL) to your My Domain, e.g. https://acme.my.salesforce.com',
    );
    expect(lines).toContain('  - ZENDESK_EMAIL: required when PORTAL_TARGET includes zendesk');
    expect(lines).toContain(
      '  - server.bodyLimitByte: unknown key (in test/fixtures/config/unknown-key.yaml); did you mean bodyLimitBytes?',
    );
    expect(r.stderr).not.toMatch(/NaN|Invalid input|expected number/);
  });

  it('lists the Stripe accounts it will serve, never their secrets, and names each mistake in stripe.accounts by its key', async () => {
    const secrets = {
      STRIPE_EU_SECRET_KEY: 'sk_test_FAKE_eu_key_not_real_0001',
      STRIPE_EU_WEBHOOK_SECRET: 'whsec_test_secret_not_real_eu_0001',
      STRIPE_US_SECRET_KEY: 'sk_test_FAKE_us_key_not_real_0001',
      STRIPE_US_WEBHOOK_SECRET: 'whsec_test_secret_not_real_us_0001',
      STRIPE_US_CONNECT_WEBHOOK_SECRET: 'whsec_test_secret_not_real_usc_001',
    };
    const ok = await runCli(['config', 'check'], {
      ...secrets,
      PORTAL_SYNC_CONFIG: resolve(ROOT, 'test/fixtures/config/stripe-accounts.yaml'),
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(
      '  Stripe accounts: eu acct_1EuEntityFAKE0001 (test, API key, account endpoint); us acct_1UsPlatformFAKE01 (test, Connect platform, API key, account and Connect endpoints)',
    );
    expect(ok.stdout).not.toMatch(/sk_test_FAKE|whsec_test/);
    const bad = await runCli(['config', 'check', '--json'], {
      STRIPE_B_SECRET_KEY: 'sk_test_FAKE_b_key_not_real_00001',
      STRIPE_B_WEBHOOK_SECRET: 'whsec_test_secret_not_real_shared01',
      STRIPE_A_WEBHOOK_SECRET: 'whsec_test_secret_not_real_shared01',
      PORTAL_SYNC_CONFIG: resolve(ROOT, 'test/fixtures/config/stripe-accounts-dupes.yaml'),
    });
    expect(bad.code).toBe(2);
    expect(bad.json().problems).toEqual(
      expect.arrayContaining([
        { key: 'stripe.accounts.1.id', message: 'acct_1SameFAKE is listed twice (stripe.accounts.0)' },
        {
          key: 'STRIPE_B_SECRET_KEY',
          message:
            "a test key, but the mode of Stripe account a is live: resync and reconcile would read the other mode's objects",
        },
      ]),
    );
    expect(bad.stdout).not.toMatch(/sk_test_FAKE|whsec_test/);
  });

  it('--json gives each problem as {key, message}', async () => {
    const r = await runCli(['config', 'check', '--json'], {
      PORT: 'eighty',
      PORTAL_SYNC_CONFIG: resolve(ROOT, 'test/fixtures/config/unknown-key.yaml'),
    });
    expect(r.code).toBe(2);
    const out = r.json();
    expect(out.ok).toBe(false);
    expect(out.problems).toEqual(
      expect.arrayContaining([
        { key: 'PORT', message: 'must be a whole number (a TCP port), got "eighty"' },
        {
          key: 'server.bodyLimitByte',
          message: 'unknown key (in test/fixtures/config/unknown-key.yaml); did you mean bodyLimitBytes?',
        },
      ]),
    );
  });
});

describe('config/example.env', () => {
  it('points every platform URL at a host that cannot resolve by design (.invalid), so a copied .env never calls the real platforms', () => {
    const env = Object.fromEntries(
      readFileSync(resolve(ROOT, 'config/example.env'), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    // Every API key set in it would be sent to whatever host the platform's URL names.
    expect(env['ZENDESK_SUBDOMAIN']).toBeUndefined();
    expect(new URL(env['ZENDESK_BASE_URL']!).hostname).toMatch(/\.invalid$/);
    expect(env['STRIPE_API_HOST']).toMatch(/\.invalid$/);
    expect(new URL(env['SALESFORCE_LOGIN_URL']!).hostname).toMatch(/\.invalid$/);
    // Every platform endpoint (where the keys above would go); browser origins and Redis are not platforms.
    for (const [name, value] of Object.entries(env)) {
      if (/^(STRIPE|ZENDESK|SALESFORCE)_/.test(name) && /^https?:\/\//.test(value))
        expect(new URL(value).hostname, name).toMatch(/\.invalid$/);
    }
  });
});
