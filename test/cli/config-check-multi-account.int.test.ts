/**
 * The multi-account example (config/examples/multi-account.yaml: two Stripe accounts, one a Connect platform, two
 * Zendesk brands, a field mapping) passes `portal-sync config check` with the variables its entries name, as an
 * operator would run it; broken copies of it are refused with each bad key path named.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../support/cli.js';

const EXAMPLE = resolve(ROOT, 'config/examples/multi-account.yaml');

/** The whole deployment's environment: the variables the example's Stripe entries name, both portals, every receiver. */
const ENV = {
  STRIPE_EU_SECRET_KEY: 'rk_live_FAKE_not_real_eu_0000000',
  STRIPE_EU_WEBHOOK_SECRET: 'whsec_test_secret_not_real_eu_account',
  STRIPE_MARKETPLACE_SECRET_KEY: 'rk_live_FAKE_not_real_marketplace',
  STRIPE_MARKETPLACE_WEBHOOK_SECRET: 'whsec_test_secret_not_real_marketplace',
  STRIPE_MARKETPLACE_CONNECT_WEBHOOK_SECRET: 'whsec_test_secret_not_real_mkt_connect',
  STRIPE_API_HOST: 'api.stripe.invalid',
  PORTAL_TARGET: 'zendesk,salesforce',
  ZENDESK_BASE_URL: 'https://example.zendesk.invalid/api/v2',
  ZENDESK_EMAIL: 'portal-sync@example.com',
  ZENDESK_API_TOKEN: 'test_token_not_real_zendesk_0000',
  ZENDESK_WEBHOOK_SECRET: 'test_secret_not_real_zendesk_000',
  SALESFORCE_LOGIN_URL: 'https://example.my.salesforce.invalid',
  SALESFORCE_CLIENT_ID: 'test_client_id_not_real_0000',
  SALESFORCE_CLIENT_SECRET: 'test_client_secret_not_real_0000',
  SALESFORCE_ORG_ID: '00D000000000001AAA',
  SALESFORCE_OUTBOUND_TOKEN: 'test_token_not_real_outbound_0000',
  SALESFORCE_WEBHOOK_SECRET: 'test_secret_not_real_salesforce_00',
  PORTAL_EVENTS_SECRET: 'test_secret_not_real_portal_events',
  // Each brand's Help Center calls GET /portal/v1/me from its own host.
  PORTAL_ORIGINS:
    'https://help.northwind.example,https://northwind.zendesk.com,https://help.southwind.example,https://southwind.zendesk.com',
};

/** A copy of the example with each [from, to] replaced once (each must be there, so the copy is broken as meant). */
function brokenCopy(edits: Array<[string, string]>): string {
  let text = readFileSync(EXAMPLE, 'utf8');
  for (const [from, to] of edits) {
    expect(text.split(from).length - 1, `"${from}" once in the example`).toBe(1);
    text = text.replace(from, to);
  }
  const file = join(mkdtempSync(join(tmpdir(), 'portal-sync-multi-')), 'multi-account.yaml');
  writeFileSync(file, text);
  return file;
}

const problemsOf = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('  - '));

describe('portal-sync config check on the multi-account example', { timeout: 120_000 }, () => {
  it('passes with the variables its entries name: config ok, the two accounts it will serve, no problem, no note', async () => {
    const r = await runCli(['config', 'check'], { ...ENV, PORTAL_SYNC_CONFIG: EXAMPLE });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      [
        `config ok (${resolve(ROOT, 'config/default.yaml')}, ${EXAMPLE})`,
        '  Stripe accounts: eu acct_1EuEntityFAKE001 (live, API key, account endpoint); marketplace acct_1PlatformFAKE002 (live, Connect platform, API key, account and Connect endpoints)',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(0);
  });

  it('names the variable an entry names that is unset, by its account', async () => {
    const { STRIPE_MARKETPLACE_CONNECT_WEBHOOK_SECRET: _unset, ...env } = ENV;
    const r = await runCli(['config', 'check'], { ...env, PORTAL_SYNC_CONFIG: EXAMPLE });
    expect(r.code).toBe(2);
    expect(problemsOf(r.stderr)).toEqual([
      expect.stringMatching(
        /^ {2}- STRIPE_MARKETPLACE_CONNECT_WEBHOOK_SECRET: required by stripe\.accounts\.1 \(marketplace\)/,
      ),
    ]);
  });

  it('names each bad key path of a broken copy at once: account label, brand id, mapping path, transform key', async () => {
    const file = brokenCopy([
      ['label: eu\n', 'label: EU\n'],
      ['id: 360000000002,', 'id: southwind,'],
      [
        'from: stripe.customer.metadata.plan_tier, to: Plan_Tier__c',
        'from: stripe.customer.metdata.plan_tier, to: Plan_Tier__c',
      ],
      ['default: Standard', 'defualt: Standard'],
    ]);
    const r = await runCli(['config', 'check'], { ...ENV, PORTAL_SYNC_CONFIG: file });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const problems = problemsOf(r.stderr);
    expect(r.stderr.split('\n')[0]).toBe('config has 4 problems:');
    expect(problems).toEqual(
      expect.arrayContaining([
        '  - config stripe.accounts.0.label: expected lower-case letters, digits, - and _ (at most 32), e.g. eu',
        '  - config zendesk.brands.1: expected a Zendesk brand id (a positive integer) or { id, name, hosts }',
        '  - config mapping.salesforce.accountFields.0.from: unknown path "stripe.customer.metdata.plan_tier" (see docs/mapping.md for every path)',
        expect.stringMatching(
          /^ {2}- mapping\.zendesk\.organizationFields\.0\.transform\.defualt: unknown key \(in .*multi-account\.yaml\)/,
        ),
      ]),
    );
  });

  it('names each bad key path of a copy whose entries are well formed but disagree: a Connect secret on a plain account, one secret twice', async () => {
    const file = brokenCopy([
      ['      connect: true\n', ''],
      ['webhookSecretsEnv: STRIPE_MARKETPLACE_WEBHOOK_SECRET', 'webhookSecretsEnv: STRIPE_EU_WEBHOOK_SECRET'],
    ]);
    const r = await runCli(['config', 'check'], { ...ENV, PORTAL_SYNC_CONFIG: file });
    expect(r.code).toBe(2);
    const problems = problemsOf(r.stderr);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /stripe\.accounts\.1\.connectWebhookSecretsEnv: only a Connect platform \(connect: true\) has a Connect endpoint/,
        ),
        expect.stringMatching(/stripe\.accounts\.1: a webhook secret of marketplace is also one of eu/),
      ]),
    );
  });
});
