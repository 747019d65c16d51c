/**
 * `portal-sync setup` with a field mapping: Zendesk gets the mapped fields created (with the type their
 * transform writes) beside the built-in ones; the Salesforce check names mapped fields the org or the
 * package lacks.
 */
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { salesforceSchema } from '../../src/connectors/salesforce/setup.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { ROOT, runCli } from '../support/cli.js';

const MAPPING = { PORTAL_SYNC_CONFIG: resolve(ROOT, 'test/fixtures/config/setup-mapping.yaml') };
const typesOf = (defs: { key: string; type: string }[]) => Object.fromEntries(defs.map((d) => [d.key, d.type]));

describe('portal-sync setup with a field mapping', { timeout: 120_000 }, () => {
  let zd: ZendeskStandIn | undefined;
  let sf: SalesforceStandIn | undefined;
  afterEach(async () => {
    await zd?.close();
    await sf?.close();
    zd = sf = undefined;
  });

  it('setup zendesk creates the mapped organization, user and invoice object fields, typed by their transform', async () => {
    zd = await startZendeskStandIn();
    const env = {
      ...MAPPING,
      ZENDESK_BASE_URL: zd.baseUrl,
      ZENDESK_EMAIL: zd.credentials.email,
      ZENDESK_API_TOKEN: zd.credentials.token,
    };
    const dry = await runCli(['setup', 'zendesk', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('create   organization field plan_tier (text)');
    expect(dry.stdout).toContain('create   user field credit_left (decimal)');
    expect(dry.stdout).toContain('create   custom object field portal_invoice.amount_remaining (decimal)');

    const r = await runCli(['setup', 'zendesk', '--json'], env);
    expect(r.code).toBe(0);
    expect(typesOf(zd.state.organizationFields)).toMatchObject({
      plan_tier: 'text',
      trial_ends: 'date',
      billing_status: 'text',
    });
    expect(typesOf(zd.state.organizationFields)).not.toHaveProperty('credit_left');
    expect(typesOf(zd.state.userFields)).toMatchObject({ credit_left: 'decimal', billing_plan: 'text' });
    expect(typesOf(zd.state.userFields)).not.toHaveProperty('plan_tier');
    expect(typesOf(zd.state.customObjectFields.get('portal_invoice') ?? [])).toMatchObject({
      amount_remaining: 'decimal',
      total: 'decimal',
    });
  });

  it('setup salesforce --verify names the mapped fields the org lacks, and exits 1', async () => {
    const loaded = loadConfig({});
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    // The org has everything the built-in target writes, nothing of the mapping.
    const fields = Object.fromEntries(
      salesforceSchema(loaded.config.targets.salesforce).map((s) => [
        s.object,
        s.fields.map((name) => (name === s.externalId ? { name, externalId: true } : { name })),
      ]),
    );
    sf = await startSalesforceStandIn({ fields });
    const r = await runCli(['setup', 'salesforce', '--verify', '--json'], {
      ...MAPPING,
      SALESFORCE_INSTANCE_URL: sf.instanceUrl,
      SALESFORCE_ACCESS_TOKEN: sf.accessToken,
    });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(
      Object.fromEntries(out.objects.map((o: { object: string; missing: string[] }) => [o.object, o.missing])),
    ).toEqual({
      Account: ['Plan_Tier__c'],
      Portal_Invoice__c: ['Amount_Remaining__c'],
      Support_Ticket__c: [],
      Portal_Deflection_Event__c: [],
    });
  });

  it('setup salesforce says which mapped fields the metadata package has no file for, and exits 1', async () => {
    const r = await runCli(['setup', 'salesforce'], MAPPING);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Account.Plan_Tier__c');
    expect(r.stderr).toContain('Portal_Invoice__c.Amount_Remaining__c');
  });
});
