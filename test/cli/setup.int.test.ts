/**
 * `portal-sync setup` as an operator runs it, the built CLI, against the
 * stand-ins (in this process, so the CLI is spawned without blocking them).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { salesforceSchema } from '../../src/connectors/salesforce/setup.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { cliArgv } from '../support/cli.js';

const root = resolve(import.meta.dirname, '../..');

function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      cliArgv(args),
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        encoding: 'utf8',
        timeout: 30_000,
      },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

describe('portal-sync setup zendesk', () => {
  let standIn: ZendeskStandIn | undefined;
  afterEach(() => standIn?.close());
  const envOf = (s: ZendeskStandIn) => ({
    ZENDESK_BASE_URL: s.baseUrl,
    ZENDESK_EMAIL: s.credentials.email,
    ZENDESK_API_TOKEN: s.credentials.token,
  });
  const writes = (s: ZendeskStandIn) => s.calls.filter((c) => c.method !== 'GET');

  it('--dry-run prints the plan and creates nothing', async () => {
    standIn = await startZendeskStandIn();
    const r = await runCli(['setup', 'zendesk', '--dry-run'], envOf(standIn));

    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('create   organization field billing_mrr (decimal)');
    expect(r.stdout).toContain('create   custom object portal_invoice');
    expect(r.stdout).toContain('dry run: would create 26; nothing was created');
    expect(writes(standIn)).toEqual([]);
  });

  it('creates what is missing; run again, creates nothing and says so', async () => {
    standIn = await startZendeskStandIn();
    standIn.seedField('organization', { key: 'billing_status', type: 'text' });

    const first = await runCli(['setup', 'zendesk', '--json'], envOf(standIn));
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out.created).toBe(25);
    expect(out.steps).toContainEqual({
      kind: 'organization field',
      key: 'billing_status',
      type: 'text',
      state: 'exists',
    });
    const afterFirst = writes(standIn).length;
    expect(afterFirst).toBe(25);

    const second = await runCli(['setup', 'zendesk'], envOf(standIn));
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('nothing to do');
    expect(second.stdout).not.toMatch(/^\s+(created|missing)/m);
    expect(writes(standIn).length).toBe(afterFirst);
  });

  it('--end-user-access --dry-run lists the status object, the access rules and the end-user policies, with the rule it would send, and creates nothing', async () => {
    standIn = await startZendeskStandIn();
    const r = await runCli(['setup', 'zendesk', '--end-user-access', '--dry-run'], envOf(standIn));

    expect(r.code).toBe(0);
    expect(r.stdout).toContain('create   custom object portal_account_status');
    expect(r.stdout).toContain('create   custom object field portal_account_status.billing_status (text)');
    expect(r.stdout).toContain(
      'create   access rule on portal_invoice: its organization or user matches the signed-in end user',
    );
    expect(r.stdout).toContain(
      'create   end-user policy on portal_account_status: read own records only (end users cannot read records now)',
    );
    expect(r.stdout).toContain(
      '"field":"custom_object_fields.organization_id","operator":"matches","value":"current_user"',
    );
    expect(r.stdout).toContain('targets.zendesk.statusObject.enabled is false');
    expect(writes(standIn)).toEqual([]);
  });

  it('checks the brands zendesk.brands lists against the account: ids, active, and each Help Center host; exits 1 on a mismatch', async () => {
    standIn = await startZendeskStandIn();
    const acme = standIn.seedBrand({ name: 'Acme', subdomain: 'acme', host_mapping: 'help.acme.test' });
    const globex = standIn.seedBrand({ name: 'Globex', subdomain: 'globex' });
    const dir = mkdtempSync(join(tmpdir(), 'portal-sync-setup-brands-'));
    const config = (brands: unknown[]) => {
      const file = join(dir, `brands-${brands.length}.yaml`);
      writeFileSync(file, stringify({ zendesk: { brands } }));
      return { ...envOf(standIn!), PORTAL_SYNC_CONFIG: file };
    };

    const good = await runCli(
      ['setup', 'zendesk', '--dry-run'],
      config([{ id: acme.id, hosts: ['help.acme.test', 'acme.zendesk.com'] }, globex.id]),
    );
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(
      `Brands (zendesk.brands):\n  ok       brand ${acme.id} Acme (Help Center: help.acme.test, acme.zendesk.com)\n  ok       brand ${globex.id} Globex (Help Center: globex.zendesk.com)\n`,
    );

    const bad = await runCli(
      ['setup', 'zendesk', '--dry-run'],
      config([{ id: acme.id, hosts: ['help.acme.test'] }, { id: globex.id, hosts: ['help.globex.test'] }, 999]),
    );
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(
      `  problem  brand ${globex.id} Globex: host help.globex.test is not this brand's (its Help Center: globex.zendesk.com)\n`,
    );
    expect(bad.stdout).toContain('  problem  brand 999: no such brand in this Zendesk account\n');
    expect(bad.stderr).toContain(`2 brand(s) in zendesk.brands do not match the account: ${globex.id}, 999`);
    expect(writes(standIn)).toEqual([]);
  });

  it('without credentials, names the missing variables and exits 2', async () => {
    const r = await runCli(['setup', 'zendesk']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^portal-sync: .*ZENDESK_EMAIL/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('portal-sync setup salesforce', () => {
  let standIn: SalesforceStandIn | undefined;
  afterEach(() => standIn?.close());
  const loaded = loadConfig({});
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const schema = salesforceSchema(loaded.config.targets.salesforce);
  const allFields = () =>
    Object.fromEntries(
      schema.map((s) => [
        s.object,
        s.fields.map((name) => (name === s.externalId ? { name, externalId: true } : { name })),
      ]),
    );
  const envOf = (s: SalesforceStandIn) => ({
    SALESFORCE_INSTANCE_URL: s.instanceUrl,
    SALESFORCE_ACCESS_TOKEN: s.accessToken,
  });

  it('without flags, prints the deploy command and what the package contains', async () => {
    const r = await runCli(['setup', 'salesforce']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('cd salesforce && sf project deploy start --source-dir force-app --target-org <alias>');
    expect(r.stdout).toContain('Portal_Invoice__c (custom object)');
    expect(r.stdout).toContain('Stripe_Invoice_Id__c');
    expect(r.stdout).toContain('permission set Portal_Customer_View (site members)');
  });

  it('--verify with every field defined exits 0', async () => {
    standIn = await startSalesforceStandIn({ fields: allFields() });
    const r = await runCli(['setup', 'salesforce', '--verify'], envOf(standIn));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('all configured fields exist');
  });

  it('--verify with fields missing lists exactly those and exits 1', async () => {
    const fields = allFields();
    fields['Account'] = fields['Account']!.filter((f) => f.name !== 'Open_Support_Tickets__c');
    fields['Support_Ticket__c'] = fields['Support_Ticket__c']!.filter((f) => f.name !== 'Category__c');
    standIn = await startSalesforceStandIn({ fields });

    const r = await runCli(['setup', 'salesforce', '--verify', '--json'], envOf(standIn));

    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(false);
    expect(
      Object.fromEntries(out.objects.map((o: { object: string; missing: string[] }) => [o.object, o.missing])),
    ).toEqual({
      Account: ['Open_Support_Tickets__c'],
      Portal_Invoice__c: [],
      Support_Ticket__c: ['Category__c'],
      Portal_Deflection_Event__c: [],
    });
  });
});
