/**
 * A Zendesk organization field as a mapping's source, end to end: the reconciler reads the organization from
 * the Zendesk stand-in (webhooks carry no organization_fields), the record keeps the mapped key and no other,
 * and the value lands on the Salesforce Account; a later organization webhook does not erase it.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { provisionedSalesforceFields } from '../../src/demo/salesforce-fields.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { ROOT } from '../support/cli.js';
import { testConfig, TEST_SECRETS } from '../support/daemon.js';
import { freePort, sendStripe, sendZendesk, standInTargetsEnv, until } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { zendeskWebhookTo } from '../support/zendesk-setup.js';

const MAPPING = { PORTAL_SYNC_CONFIG: resolve(ROOT, 'test/fixtures/config/zendesk-source-mapping.yaml') };
let zd: ZendeskStandIn;
let sf: SalesforceStandIn;
let p: TestPipeline;
let orgId: number;
let accountId: string;

beforeAll(async () => {
  const port = await freePort();
  const config = testConfig(MAPPING);
  zd = await startZendeskStandIn({ webhook: zendeskWebhookTo(port) });
  sf = await startSalesforceStandIn({
    orgId: TEST_SECRETS.SALESFORCE_ORG_ID,
    fields: provisionedSalesforceFields(config.targets.salesforce, undefined, config.mapping),
  });
  accountId = sf.state.seedAccount({ Name: 'Acme Managed' }).Id;
  zd.seedField('organization', { key: 'account_manager', type: 'text' });
  zd.seedField('organization', { key: 'region', type: 'text' });
  // Changed two hours ago: inside the reconciler's first look back, outside the export's last-minute lag.
  const earlier = new Date(Date.now() - 2 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  orgId = zd.seedOrganization({
    name: 'Acme Managed',
    external_id: accountId,
    organization_fields: { account_manager: 'Dana Whitfield', region: 'EMEA' },
    updated_at: earlier,
  }).id;
  p = await startTestPipeline(
    { PORT: String(port), ...standInTargetsEnv(zd, sf), PORTAL_TARGET: 'salesforce', ...MAPPING },
    (c) => {
      c.push.debounceMs = 50;
      c.resync.zendeskExportsPerMinute = 6000;
    },
    createPortalTarget,
  );
  await sendStripe(
    p.daemon,
    'customer.created.json',
    (e) => (e.data.object.metadata = { salesforce_account_id: accountId }),
  );
  await p.drain();
});

afterAll(async () => {
  await p?.stop();
  await zd?.close();
  await sf?.close();
});

describe('a mapping from a Zendesk organization field', () => {
  it('lands on the Salesforce Account once the reconciler has read the organization, and the record keeps only the mapped key', async () => {
    await p.worker.reconciler.pass();
    await p.drainAll();
    await until(
      'Support_Manager__c on the Account',
      () => sf.state.get('Account', accountId)?.['Support_Manager__c'] === 'Dana Whitfield',
    );
    const record = await p.worker.store.findByKey(`zdorg:${orgId}`);
    expect(record?.zendesk.organization?.data.fields).toEqual({ account_manager: 'Dana Whitfield' });
  });

  it('keeps the value through an organization webhook, which carries no organization fields', async () => {
    await sendZendesk(p.daemon, 'organization.created.json', (e) => {
      e.detail.id = String(orgId);
      e.detail.external_id = accountId;
      e.detail.name = 'Acme Managed Ltd';
      e.detail.updated_at = new Date().toISOString();
    });
    await p.drainAll();
    const record = await p.worker.store.findByKey(`zdorg:${orgId}`);
    expect(record?.zendesk.organization?.data).toMatchObject({
      name: 'Acme Managed Ltd',
      fields: { account_manager: 'Dana Whitfield' },
    });
    expect(sf.state.get('Account', accountId)?.['Support_Manager__c']).toBe('Dana Whitfield');
  });
});
