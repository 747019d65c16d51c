/**
 * Every secret has a minimum length, named with its variable, and every short
 * one is reported in the same pass: a prefix alone (`whsec_`) is not a secret.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

const problemsOf = (env: Record<string, string>): string => {
  const r = loadConfig(env);
  return r.ok ? '' : r.problems.join('\n');
};

describe('secret lengths', () => {
  it('refuses STRIPE_WEBHOOK_SECRET=whsec_, naming the key', () => {
    expect(problemsOf({ STRIPE_WEBHOOK_SECRET: 'whsec_' })).toMatch(
      /^STRIPE_WEBHOOK_SECRET: .*at least 16 characters after the prefix/m,
    );
    // A short one among rotating secrets fails the variable too.
    expect(problemsOf({ STRIPE_WEBHOOK_SECRET: 'whsec_FAKE_not_a_real_secret_x,whsec_x' })).toMatch(
      /^STRIPE_WEBHOOK_SECRET: /m,
    );
  });

  it('reports every short secret at once, each by its variable', () => {
    const all = problemsOf({
      STRIPE_SECRET_KEY: 'sk_test_1',
      STRIPE_WEBHOOK_SECRET: 'whsec_',
      ZENDESK_API_TOKEN: 'zd',
      ZENDESK_WEBHOOK_SECRET: 'short',
      SALESFORCE_CLIENT_SECRET: 'x',
      SALESFORCE_ACCESS_TOKEN: 'tok',
      SALESFORCE_OUTBOUND_TOKEN: 'tok',
      SALESFORCE_WEBHOOK_SECRET: 'tok',
      PORTAL_EVENTS_SECRET: 'tok',
      ADMIN_TOKEN: 'admin',
      METRICS_TOKEN: 'metrics',
    });
    for (const name of [
      'STRIPE_SECRET_KEY',
      'STRIPE_WEBHOOK_SECRET',
      'ZENDESK_API_TOKEN',
      'ZENDESK_WEBHOOK_SECRET',
      'SALESFORCE_CLIENT_SECRET',
      'SALESFORCE_ACCESS_TOKEN',
      'SALESFORCE_OUTBOUND_TOKEN',
      'SALESFORCE_WEBHOOK_SECRET',
      'PORTAL_EVENTS_SECRET',
      'ADMIN_TOKEN',
      'METRICS_TOKEN',
    ]) {
      expect(all, name).toMatch(new RegExp(`^${name}: .*16 characters`, 'm'));
    }
    // Never the value.
    expect(all).not.toContain('sk_test_1');
  });

  it('accepts secrets of the minimum length', () => {
    const r = loadConfig({
      STRIPE_WEBHOOK_SECRET: `whsec_${'a'.repeat(16)}`,
      ZENDESK_API_TOKEN: 'z'.repeat(16),
      METRICS_TOKEN: 'm'.repeat(16),
    });
    expect(r.ok ? [] : r.problems).toEqual([]);
  });
});
