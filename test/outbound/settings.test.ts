/**
 * Subscriptions in the configuration: the secret comes from the variable a
 * subscription names (never from YAML), and every mistake is reported at
 * once, by key or variable, without the secret's value.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { isWebhookSecret } from '../../src/sync/outbound/settings.js';
import { subscriptionsOf } from '../../src/sync/outbound/service.js';
import { newSecret } from './support/consumer.js';

function load(yaml: unknown, env: Record<string, string> = {}) {
  const file = join(mkdtempSync(join(tmpdir(), 'portal-sync-settings-')), 'override.yaml');
  writeFileSync(file, stringify(yaml));
  return loadConfig({ PORTAL_SYNC_CONFIG: file, ...env });
}
const problems = (r: ReturnType<typeof loadConfig>) => (r.ok ? [] : r.problems);

const sub = {
  id: 'billing-service',
  url: 'https://billing.internal.example/hooks',
  secretEnv: 'BILLING_HOOK_SECRET',
  events: ['invoice.available', 'billing.*'],
};

describe('subscriptions in the configuration', () => {
  it('has none by default, with outbound limits that retry for at least 24 h before pausing', () => {
    const r = loadConfig({});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.subscriptions).toEqual([]);
    expect(r.config.outbound).toMatchObject({ pauseAfterMs: 86_400_000, retentionMs: 604_800_000 });
    expect(r.config.outbound.retentionMs).toBeGreaterThanOrEqual(r.config.outbound.pauseAfterMs);
  });

  it('reads each secret from the variable the subscription names, several while rotating; timeout 10 s and no private networks by default', () => {
    const [a, b] = [newSecret(), newSecret()];
    const r = load(
      { subscriptions: [{ ...sub, requires: ['salesforceAccountId'] }] },
      { BILLING_HOOK_SECRET: `${a}, ${b}` },
    );
    expect(problems(r)).toEqual([]);
    if (!r.ok) return;
    expect(subscriptionsOf(r.config)).toEqual([
      {
        id: 'billing-service',
        url: sub.url,
        events: sub.events,
        requires: ['salesforceAccountId'],
        timeoutMs: 10_000,
        allowPrivateNetworks: false,
        secrets: [a, b],
      },
    ]);
  });

  it('names the missing or malformed variable, never its value', () => {
    expect(problems(load({ subscriptions: [sub] }))).toEqual([
      'BILLING_HOOK_SECRET: required by subscription billing-service (its Standard Webhooks signing secret, whsec_…)',
    ]);
    const bad = problems(load({ subscriptions: [sub] }, { BILLING_HOOK_SECRET: 'whsec_dG9vc2hvcnQ=' }));
    expect(bad).toEqual([
      'BILLING_HOOK_SECRET: expected whsec_ followed by base64 of 24 to 64 bytes, several comma-separated (subscription billing-service)',
    ]);
    expect(bad.join()).not.toContain('dG9vc2hvcnQ');
  });

  it('refuses a secret written into the YAML, unknown event types, duplicate ids and bad URLs, all at once', () => {
    const r = load(
      {
        subscriptions: [
          { ...sub, secret: newSecret() },
          { ...sub, events: ['invoice.paid', 'custmer.*'] },
          { ...sub, id: 'Bad Id', url: 'ftp://x' },
          { ...sub, id: 'with-password', url: 'https://hooks:hunter22@billing.internal.example/hooks' },
        ],
        outbound: { pauseAfterMs: 86_400_000, retentionMs: 3_600_000 },
      },
      { BILLING_HOOK_SECRET: newSecret() },
    );
    const all = problems(r).join('\n');
    expect(all).toMatch(/subscriptions\.0\.secret: unknown key/);
    expect(all).toMatch(/config subscriptions\.1\.events\.0: expected an event type/);
    expect(all).toMatch(/config subscriptions\.1\.events\.1: expected an event type/);
    expect(all).toMatch(/config subscriptions\.2\.id: expected lower-case letters/);
    expect(all).toMatch(/config subscriptions\.2\.url: expected the http\(s\) URL/);
    expect(all).toMatch(/config subscriptions\.3\.url: no user:password@ in the URL/);
    expect(all).not.toContain('hunter22');
    expect(all).toMatch(/config subscriptions: every subscription needs its own id/);
    expect(all).toMatch(/config outbound: retentionMs must be at least pauseAfterMs/);
  });

  it('knows a Standard Webhooks secret when it sees one', () => {
    expect(isWebhookSecret(newSecret())).toBe(true);
    expect(isWebhookSecret(newSecret().slice(6))).toBe(false);
    expect(isWebhookSecret('whsec_short')).toBe(false);
    expect(isWebhookSecret(`whsec_${Buffer.alloc(65).toString('base64')}`)).toBe(false);
  });
});
