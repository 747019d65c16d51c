/**
 * The settings this release added refuse values that would break what they promise, each named by its key,
 * all at once: retries that give up, the reconciler's overlap, the Salesforce API budget, history kept.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config.js';

function load(yaml: unknown) {
  const file = join(mkdtempSync(join(tmpdir(), 'portal-sync-limits-')), 'override.yaml');
  writeFileSync(file, stringify(yaml));
  return loadConfig({ PORTAL_SYNC_CONFIG: file });
}

describe('configuration limits', () => {
  it('has working defaults', () => {
    const r = loadConfig({});
    expect(r.ok && r.config.push).toMatchObject({ backoffMs: 2_000, maxBackoffMs: 600_000 });
    expect(r.ok && r.config.targets.salesforce.apiBudget).toEqual({ maxUsage: 0.9, pauseMs: 300_000 });
    expect(r.ok && r.config.deflection.historyDays).toBe(400);
  });

  it('names every value out of bounds at once', () => {
    const r = load({
      push: { debounceMs: 500, backoffMs: 5_000, maxBackoffMs: 1_000 },
      reconcile: { everyMs: 3_600_000, overlapMs: 0, firstLookbackMs: 86_400_000 },
      targets: { salesforce: { apiBudget: { maxUsage: 1.5, pauseMs: 10 } } },
      deflection: { historyDays: 0 },
    });
    expect(r.ok).toBe(false);
    const all = r.ok ? '' : r.problems.join('\n');
    expect(all).toMatch(/push\.maxBackoffMs: maxBackoffMs must be at least backoffMs/);
    expect(all).toMatch(/reconcile\.overlapMs/); // Zendesk's exports leave out their last minute: less would skip changes
    expect(all).toMatch(/targets\.salesforce\.apiBudget\.maxUsage/);
    expect(all).toMatch(/targets\.salesforce\.apiBudget\.pauseMs/);
    expect(all).toMatch(/deflection\.historyDays/);
  });
});

describe('customer view settings', () => {
  it('names every out-of-bounds view key and malformed Help Center origin at once', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'portal-sync-limits-')), 'override.yaml');
    writeFileSync(
      file,
      stringify({
        view: {
          clockToleranceSeconds: 3600,
          rateLimit: { perMinute: 0 },
          tickets: 'everyone',
          jwks: { cooldownSeconds: 0 },
        },
      }),
    );
    const r = loadConfig({ PORTAL_SYNC_CONFIG: file, PORTAL_ORIGINS: 'https://help.acme.example/hc,acme' });
    const all = r.ok ? '' : r.problems.join('\n');
    for (const key of [
      'PORTAL_ORIGINS',
      'view.clockToleranceSeconds',
      'view.rateLimit.perMinute',
      'view.tickets',
      'view.jwks.cooldownSeconds',
    ])
      expect(all).toContain(key);
  });

  it('derives the help center keys URL from the Zendesk account, unless ZENDESK_HELP_CENTER_JWKS_URL says otherwise', () => {
    const sub = loadConfig({ ZENDESK_SUBDOMAIN: 'acme', PORTAL_ORIGINS: 'https://help.acme.example/' });
    expect(sub.ok && sub.config.helpCenter).toEqual({
      jwksUrl: 'https://acme.zendesk.com/api/v2/help_center/integration/keys.json',
      origins: ['https://help.acme.example'],
    });
    const over = loadConfig({ ZENDESK_SUBDOMAIN: 'acme', ZENDESK_HELP_CENTER_JWKS_URL: 'http://127.0.0.1:9/keys' });
    expect(over.ok && over.config.helpCenter.jwksUrl).toBe('http://127.0.0.1:9/keys');
    const none = loadConfig({});
    expect(none.ok && none.config.helpCenter).toEqual({ origins: [] });
  });
});
