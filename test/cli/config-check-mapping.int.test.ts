/**
 * `config check` refuses a bad field mapping, naming each entry by its key path in plain words, all at once
 * (with the rest of the configuration's problems), and passes a good one.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../support/cli.js';

describe('portal-sync config check with a field mapping', { timeout: 120_000 }, () => {
  it('names every bad mapping entry by its key path, exit 2', async () => {
    const r = await runCli(['config', 'check'], {
      PORTAL_SYNC_CONFIG: resolve(ROOT, 'test/fixtures/config/bad-mapping.yaml'),
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const problems = r.stderr.split('\n').filter((l) => l.startsWith('  - '));
    expect(r.stderr.split('\n')[0]).toBe('config has 5 problems:');
    expect(problems).toEqual([
      '  - config mapping.zendesk.organizationFields.1.from: unknown path "billing.plna"; did you mean billing.plan? (see docs/mapping.md for every path)',
      '  - config mapping.salesforce.accountFields.0.transform: expected date, money, boolean, join, {join: "<separator>"} or {enum: {<value>: <shown>}, default: <shown>}, got "uppercase"',
      '  - config mapping.salesforce.accountFields.1.transform: several `from` paths need the join transform',
      '  - config mapping.salesforce.accountFields.2.from: invoice.total is a value of each invoice: only the invoice sections (zendesk.invoiceObject, salesforce.invoice) read it',
      "  - config mapping.zendesk.organizationFields.2.to: billing_status is one of portal-sync's own fields (rename it under targets.zendesk instead, or map to another field)",
    ]);
  });

  it('passes the mapping of Stripe metadata plan_tier to both portals', async () => {
    const r = await runCli(['config', 'check', '--json'], {
      PORTAL_SYNC_CONFIG: resolve(ROOT, 'test/fixtures/config/plan-tier-mapping.yaml'),
    });
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ ok: true });
  });
});
