/**
 * The portal targets with a field mapping, against the stand-ins through the real SDKs: the mapped values a
 * projection carries are written beside the billing fields (one push and bulk pushes alike), only when they
 * change, a field no longer mapped is cleared, and `identity forget --portal clear` empties the mapped fields
 * as it does the billing ones. Salesforce refuses a mapped field the org does not have with its own error.
 */
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { createSalesforceTarget } from '../../src/connectors/salesforce/target.js';
import { createZendeskClient } from '../../src/connectors/zendesk/client.js';
import { applyZendeskSetup, planZendeskSetup } from '../../src/connectors/zendesk/setup.js';
import { createZendeskTarget } from '../../src/connectors/zendesk/target.js';
import { provisionedSalesforceFields } from '../../src/demo/salesforce-fields.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import type { MappedSections } from '../../src/sync/events/mapped-values.js';
import { withMapped } from '../../src/sync/mapping/apply.js';
import { MappingSchema } from '../../src/sync/mapping/schema.js';
import { replay } from '../sync/events/merge-events.js';
import { PermanentError } from '../../src/sync/errors.js';
import type { PortalPush } from '../../src/sync/push/portal-target.js';
import type { PortalProjection } from '../../src/sync/events/project.js';
import { ROOT } from '../support/cli.js';

/** An open invoice half paid, as the projection carries it: the mapped amountRemaining has something to show. */
const HALF_PAID_INVOICE = {
  id: 'in_1',
  number: 'N-1',
  status: 'open',
  currency: 'usd',
  total: 24_500,
  amountDue: 24_500,
  amountPaid: 0,
  amountRemaining: 12_250,
  amountRefunded: 0,
  dueDate: null,
  createdAt: '2026-11-20T00:00:00.000Z',
  hostedInvoiceUrl: null,
  invoicePdf: null,
};

const MAPPING = resolve(ROOT, 'test/fixtures/config/plan-tier-mapping.yaml');
let zd: ZendeskStandIn | undefined;
let sf: SalesforceStandIn | undefined;
afterEach(async () => {
  await zd?.close();
  await sf?.close();
  zd = sf = undefined;
});

function configOf(env: Record<string, string>): Config {
  const loaded = loadConfig({ PORTAL_SYNC_CONFIG: MAPPING, ...env });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  return loaded.config;
}

const projection = (mapped?: MappedSections): PortalProjection => ({
  billing: {
    status: 'active',
    plan: 'Team',
    currency: 'usd',
    mrr: 24_500,
    balance: 0,
    nextInvoiceDate: '2026-12-20T00:00:00.000Z',
    delinquent: false,
  },
  openInvoiceCount: 0,
  invoices: [],
  support: null,
  ...(mapped && { mapped }),
});
const push = (
  links: Partial<PortalPush['links']>,
  now: PortalProjection,
  previous: PortalProjection | null = null,
): PortalPush => ({
  customerId: 'cust_1',
  links: { stripeCustomerId: null, salesforceAccountId: null, zendeskOrganizationId: null, contacts: [], ...links },
  profile: null,
  projection: now,
  previous,
});
const noGate = { gate: async () => undefined };

/** The stand-in as `portal-sync setup zendesk` leaves it for this config: the built-in and the mapped fields. */
async function setUpZendesk(config: Config): Promise<void> {
  const client = createZendeskClient(config.zendesk);
  const cfg = config.targets.zendesk;
  const opts = { mapping: config.mapping };
  await applyZendeskSetup(client, cfg, await planZendeskSetup(client, cfg, opts), opts);
}

describe('the Zendesk target with a mapping', () => {
  it('writes the mapped organization field beside the billing fields, only its change next time, clears it when unmapped and on forget', async () => {
    zd = await startZendeskStandIn();
    const config = configOf({
      ZENDESK_BASE_URL: zd.baseUrl,
      ZENDESK_EMAIL: zd.credentials.email,
      ZENDESK_API_TOKEN: zd.credentials.token,
    });
    await setUpZendesk(config);
    const target = createZendeskTarget(config);
    const org = zd.seedOrganization({ name: 'Acme' });
    const fields = () => zd!.state.organizations.get(org.id)!.organization_fields;
    const gold = projection({ organizationFields: { plan_tier: 'Gold' } });
    await target.push(push({ zendeskOrganizationId: String(org.id) }, gold));
    expect(fields()).toMatchObject({ plan_tier: 'Gold', billing_status: 'active' });

    const silver = projection({ organizationFields: { plan_tier: 'Silver' } });
    const before = zd.calls.length;
    await target.push(push({ zendeskOrganizationId: String(org.id) }, silver, gold));
    expect(zd.calls.slice(before).map((c) => `${c.method} ${c.path}`)).toEqual([`PUT /organizations/${org.id}`]);
    expect(fields()).toMatchObject({ plan_tier: 'Silver', billing_status: 'active' });
    // Nothing changed: nothing written.
    await target.push(push({ zendeskOrganizationId: String(org.id) }, silver, silver));
    expect(zd.calls.length).toBe(before + 1);

    // Bulk (resync) pushes write the same set.
    await target.pushMany!([push({ zendeskOrganizationId: String(org.id) }, gold, silver)], noGate);
    expect(fields()['plan_tier']).toBe('Gold');

    await target.push(push({ zendeskOrganizationId: String(org.id) }, projection(), gold));
    expect(fields()['plan_tier']).toBeNull();

    await target.push(push({ zendeskOrganizationId: String(org.id) }, gold));
    await target.clear!({
      places: [{ zendeskOrganizationId: String(org.id), salesforceAccountId: null, contacts: [] }],
      invoiceIds: [],
      ticketIds: [],
    });
    expect(fields()).toMatchObject({ plan_tier: null, billing_status: null });
  });
});

describe('the Zendesk target with a mapping, for a customer without an organization and for invoices', () => {
  it("writes the mapped user fields on the customer's user, and the mapped invoice object fields on its invoice records", async () => {
    zd = await startZendeskStandIn();
    const config = configOf({
      ZENDESK_BASE_URL: zd.baseUrl,
      ZENDESK_EMAIL: zd.credentials.email,
      ZENDESK_API_TOKEN: zd.credentials.token,
    });
    config.mapping = MappingSchema.parse({
      zendesk: {
        organizationFields: [{ from: 'billing.plan', to: 'org_only' }],
        userFields: [{ from: 'billing.balance', to: 'credit_left', transform: 'money' }],
        invoiceObject: [{ from: 'invoice.amountRemaining', to: 'amount_remaining', transform: 'money' }],
      },
    });
    await setUpZendesk(config);
    const user = zd.seedUser({ name: 'Ann' });
    const invoice = { ...HALF_PAID_INVOICE };
    const base = {
      ...projection(),
      billing: { ...projection().billing!, balance: -1_500 },
      invoices: [invoice],
      openInvoiceCount: 1,
    };
    const now = withMapped(base, config.mapping, 'zendesk', replay([]));
    await createZendeskTarget(config).push(
      push({ contacts: [{ email: null, name: null, salesforceContactId: null, zendeskUserId: String(user.id) }] }, now),
    );
    expect(zd.state.users.get(user.id)!.user_fields).toMatchObject({ credit_left: -15, billing_plan: 'Team' });
    expect(zd.state.users.get(user.id)!.user_fields).not.toHaveProperty('org_only');
    expect(zd.state.customObjectRecords.get('portal_invoice')?.get('in_1')?.custom_object_fields).toMatchObject({
      amount_remaining: 122.5,
      total: 245,
      user_id: String(user.id),
    });
  });
});

describe('the Salesforce target with a mapping', () => {
  it('writes the mapped Account field, in one push and in bulk, and empties it on forget', async () => {
    const base = configOf({});
    sf = await startSalesforceStandIn({
      fields: provisionedSalesforceFields(base.targets.salesforce, undefined, base.mapping),
    });
    const config = configOf({ SALESFORCE_INSTANCE_URL: sf.instanceUrl, SALESFORCE_ACCESS_TOKEN: sf.accessToken });
    const target = createSalesforceTarget(config);
    const account = sf.state.seedAccount({ Name: 'Acme' }).Id;
    const gold = projection({ accountFields: { Plan_Tier__c: 'gold' } });
    await target.push(push({ salesforceAccountId: account }, gold));
    expect(sf.state.get('Account', account)).toMatchObject({ Plan_Tier__c: 'gold', Billing_Status__c: 'active' });

    await target.pushMany!(
      [push({ salesforceAccountId: account }, projection({ accountFields: { Plan_Tier__c: 'silver' } }), gold)],
      noGate,
    );
    expect(sf.state.get('Account', account)?.['Plan_Tier__c']).toBe('silver');

    await target.clear!({
      places: [{ zendeskOrganizationId: null, salesforceAccountId: account, contacts: [] }],
      invoiceIds: [],
      ticketIds: [],
    });
    expect(sf.state.get('Account', account)).toMatchObject({ Plan_Tier__c: null, Billing_Status__c: null });
  });

  it('writes the mapped fields of invoice records beside the built-in ones', async () => {
    const base = configOf({});
    base.mapping = MappingSchema.parse({
      salesforce: { invoice: [{ from: 'invoice.amountRemaining', to: 'Amount_Remaining__c', transform: 'money' }] },
    });
    sf = await startSalesforceStandIn({
      fields: provisionedSalesforceFields(base.targets.salesforce, undefined, base.mapping),
    });
    const config = configOf({ SALESFORCE_INSTANCE_URL: sf.instanceUrl, SALESFORCE_ACCESS_TOKEN: sf.accessToken });
    config.mapping = base.mapping;
    const account = sf.state.seedAccount({ Name: 'Acme' }).Id;
    const invoice = { ...HALF_PAID_INVOICE };
    const now = withMapped(
      { ...projection(), invoices: [invoice], openInvoiceCount: 1 },
      config.mapping,
      'salesforce',
      replay([]),
    );
    await createSalesforceTarget(config).push(push({ salesforceAccountId: account }, now));
    // The package has no file for the mapped field: the stand-in's org has it as a Text field, which stores text.
    expect(sf.state.byExternalId('Portal_Invoice__c', 'Stripe_Invoice_Id__c', 'in_1')).toMatchObject({
      Amount_Remaining__c: '122.5',
      Total__c: 245,
      Account__c: account,
    });
  });

  it("dead-letters a push to a mapped field the org does not have, with Salesforce's own INVALID_FIELD message", async () => {
    const base = configOf({});
    sf = await startSalesforceStandIn({ fields: provisionedSalesforceFields(base.targets.salesforce) });
    const config = configOf({ SALESFORCE_INSTANCE_URL: sf.instanceUrl, SALESFORCE_ACCESS_TOKEN: sf.accessToken });
    const account = sf.state.seedAccount({ Name: 'Acme' }).Id;
    const refused = createSalesforceTarget(config).push(
      push({ salesforceAccountId: account }, projection({ accountFields: { Plan_Tier__c: 'gold' } })),
    );
    await expect(refused).rejects.toBeInstanceOf(PermanentError);
    await expect(refused).rejects.toThrow(/Plan_Tier__c/);
  });
});
