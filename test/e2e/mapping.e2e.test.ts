/**
 * A field mapping end to end, over HTTP on the real Redis with the real SDKs against both stand-ins: the
 * Stripe customer's metadata `plan_tier`, mapped in YAML (test/fixtures/config/plan-tier-mapping.yaml),
 * lands on the Zendesk organization (through an enum map) and on the Salesforce Account, follows a change,
 * and is the only unmapped metadata key the record keeps nothing of.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { provisionedSalesforceFields } from '../../src/demo/salesforce-fields.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { ROOT, runCli } from '../support/cli.js';
import { testConfig, TEST_SECRETS } from '../support/daemon.js';
import { freePort, sendStripe, sendZendesk, standInTargetsEnv, until } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { createLogger } from '../../src/log.js';
import { startWorker, type RunningWorker } from '../../src/worker-role.js';
import { zendeskWebhookTo } from '../support/zendesk-setup.js';

const MAPPING = { PORTAL_SYNC_CONFIG: resolve(ROOT, 'test/fixtures/config/plan-tier-mapping.yaml') };
let zd: ZendeskStandIn;
let sf: SalesforceStandIn;
let p: TestPipeline;
let orgId: number;
let accountId: string;
let restarted: RunningWorker | undefined;

const customer = (file: string, metadata: Record<string, string>) =>
  sendStripe(p.daemon, file, (e) => (e.data.object.metadata = { salesforce_account_id: accountId, ...metadata }));

beforeAll(async () => {
  const port = await freePort();
  const config = testConfig(MAPPING);
  zd = await startZendeskStandIn({ webhook: zendeskWebhookTo(port) });
  sf = await startSalesforceStandIn({
    orgId: TEST_SECRETS.SALESFORCE_ORG_ID,
    fields: provisionedSalesforceFields(config.targets.salesforce, undefined, config.mapping),
  });
  accountId = sf.state.seedAccount({ Name: 'Acme Tiered' }).Id;
  orgId = zd.seedOrganization({ name: 'Acme Tiered', external_id: accountId }).id;
  for (const key of [...Object.values(config.targets.zendesk.fields), 'plan_tier'])
    zd.seedField('organization', { key, type: key === 'billing_delinquent' ? 'checkbox' : 'text' });
  p = await startTestPipeline(
    { PORT: String(port), ...standInTargetsEnv(zd, sf), ...MAPPING },
    (c) => (c.push.debounceMs = 50),
    createPortalTarget,
  );
  await sendZendesk(p.daemon, 'organization.created.json', (e) => {
    e.detail.id = String(orgId);
    e.detail.external_id = accountId;
  });
  await p.drain();
});

afterAll(async () => {
  // After a restart the running worker is the second one (the pipeline's own was closed by the test).
  if (restarted) {
    await restarted.close();
    await p.daemon.stop();
  } else await p?.stop();
  await zd?.close();
  await sf?.close();
});

describe('a field mapping from Stripe metadata', () => {
  it('puts plan_tier on the Zendesk organization field and the Salesforce Account field it is mapped to', async () => {
    await customer('customer.created.json', { plan_tier: 'gold', internal_note: 'not for the portal' });
    // Before the customer's metadata was known, the enum map's default stood there.
    await until(
      'Gold on the organization',
      () => zd.state.organizations.get(orgId)?.organization_fields['plan_tier'] === 'Gold',
    );
    await until('gold on the Account', () => sf.state.get('Account', accountId)?.['Plan_Tier__c'] === 'gold');
    // Beside the billing fields, which the mapping leaves as they were.
    expect(zd.state.organizations.get(orgId)?.organization_fields).toMatchObject({ billing_delinquent: false });
    expect(sf.state.get('Account', accountId)).toMatchObject({ Billing_Delinquent__c: false });
  });

  it('keeps only the mapped metadata key on the record, beside the cross-system ids', async () => {
    const record = await p.worker.store.findByKey(`sfacct:${accountId}`);
    expect(record?.stripe.customer?.data.metadata).toEqual({ salesforce_account_id: accountId, plan_tier: 'gold' });
  });

  it('pushes a change of the mapped metadata alone to both portals', async () => {
    await customer('customer.updated.json', { plan_tier: 'silver' });
    await until(
      'Silver on the organization',
      () => zd.state.organizations.get(orgId)?.organization_fields['plan_tier'] === 'Silver',
    );
    await until('silver on the Account', () => sf.state.get('Account', accountId)?.['Plan_Tier__c'] === 'silver');
  });

  it('resync --dry-run shows what a changed mapping would write on each portal, and writes nothing', async () => {
    await p.drainAll();
    const writes = () =>
      zd.calls.filter((c) => c.method !== 'GET').length + sf.calls.filter((c) => c.method !== 'GET').length;
    const before = writes();
    const r = await runCli(['resync', '--dry-run', '--source', 'zendesk', '--customer', accountId, '--json'], {
      REDIS_URL: p.daemon.config.redis.url,
      REDIS_PREFIX: p.daemon.prefix,
      LOG_LEVEL: 'warn',
      ...standInTargetsEnv(zd, sf),
      PORTAL_SYNC_CONFIG: resolve(ROOT, 'test/fixtures/config/plan-tier-mapping-changed.yaml'),
    });
    expect(r.code, r.stderr).toBe(0);
    const [customer] = r.json().customers;
    expect(customer.changes).toEqual(
      expect.arrayContaining([
        { field: 'mapping.zendesk.organizationFields.plan_tier', from: 'Silver', to: 'silver' },
        { field: 'mapping.salesforce.accountFields.Plan_Tier__c', from: 'silver', to: null },
        { field: 'mapping.salesforce.accountFields.Tier__c', from: null, to: 'silver' },
      ]),
    );
    expect(customer.changes.filter((c: { field: string }) => c.field.startsWith('mapping.'))).toHaveLength(3);
    expect(writes()).toBe(before);
  });

  it('a changed mapping reaches the customers it changes on the next start, with no new event, and writes nothing it leaves alike', async () => {
    await p.drainAll();
    const salesforceWrites = sf.calls.filter((c) => c.method !== 'GET').length;
    await p.worker.close();
    // The same deployment, restarted with the enum map taken out of the Zendesk entry (Salesforce's is unchanged).
    const changed = structuredClone(p.daemon.config);
    changed.mapping.zendesk.organizationFields = [{ from: 'stripe.customer.metadata.plan_tier', to: 'plan_tier' }];
    restarted = await startWorker(changed, createLogger('silent'), { concurrency: 2, targets: createPortalTarget });
    await until(
      'the raw tier on the organization',
      () => zd.state.organizations.get(orgId)?.organization_fields['plan_tier'] === 'silver',
      20_000,
    );
    for (const q of restarted.planner.queues.values())
      await until(
        'the push queue drained',
        async () =>
          Object.values(await q.getJobCounts('waiting', 'delayed', 'active', 'prioritized')).every((n) => n === 0),
        20_000,
      );
    expect(sf.calls.filter((c) => c.method !== 'GET').length).toBe(salesforceWrites);
  });
});
