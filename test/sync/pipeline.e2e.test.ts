/**
 * End to end over HTTP on the real Redis: signed webhooks from all three
 * platforms about one customer become ONE record that `inspect` shows.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectRecord } from '../../src/sync/admin/inspect.js';
import { buildOutboundMessage } from '../../src/connectors/salesforce/outbound-builder.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { sendStripe, sendZendesk } from '../support/e2e.js';
import { fixtureJson, post } from '../support/http.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { cliArgv } from '../support/cli.js';

const ACCOUNT = '0015e00000AcmeEAAR';
const ORG = '7000000000101';
let p: TestPipeline;

// The fixtures name another Salesforce account in their metadata; this customer's is ACCOUNT.
const stripe = (file: string, edit: (e: any) => void = () => undefined) =>
  sendStripe(p.daemon, file, (e) => {
    if (e.data.object.metadata?.salesforce_account_id) e.data.object.metadata.salesforce_account_id = ACCOUNT;
    edit(e);
  });
const zendesk = (file: string, edit: (e: any) => void) => sendZendesk(p.daemon, file, edit);

beforeAll(async () => {
  p = await startTestPipeline();
});
afterAll(async () => {
  await p.stop();
});

describe('one customer across Stripe, Salesforce and Zendesk', () => {
  it('becomes one record with all three links, the invoice link and the ticket status', async () => {
    await stripe('customer.created.json', (e) => (e.data.object.metadata = { salesforce_account_id: ACCOUNT }));
    await stripe('customer.subscription.updated.json');
    await stripe('invoice.finalized.json');
    const xml = buildOutboundMessage({
      organizationId: TEST_SECRETS.SALESFORCE_ORG_ID,
      actionId: '04k5e000000TestAAA',
      notifications: [
        {
          id: '04l5e00000E2E001AA',
          sObjectType: 'Account',
          fields: {
            Id: ACCOUNT,
            Name: 'Acme Logistics',
            Customer_Tier__c: 'Gold',
            SystemModstamp: '2026-11-20T10:00:00.000Z',
          },
        },
      ],
    });
    const sf = await post(p.daemon, `/webhooks/salesforce?token=${TEST_SECRETS.SALESFORCE_OUTBOUND_TOKEN}`, xml, {
      'content-type': 'text/xml',
    });
    expect(sf.text).toContain('<Ack>true</Ack>');
    await zendesk('organization.created.json', (e) => {
      e.detail.id = ORG;
      e.detail.external_id = ACCOUNT;
    });
    await zendesk('ticket.status_changed.json', (e) => (e.detail.organization_id = ORG));
    await p.drain();

    const { record, keys } = await inspectRecord(p.worker.store, 'cus_TestAcme01');
    expect(keys).toEqual(expect.arrayContaining(['stripe:cus_TestAcme01', `sfacct:${ACCOUNT}`, `zdorg:${ORG}`]));
    expect(record.derived.links).toMatchObject({
      stripeCustomerId: 'cus_TestAcme01',
      salesforceAccountId: ACCOUNT,
      zendeskOrganizationId: ORG,
    });
    expect(record.derived.profile).toMatchObject({ name: 'Acme Logistics', tier: 'Gold' });
    expect(record.derived.billing?.status).toBe('active');
    expect(record.derived.invoices[0]?.hostedInvoiceUrl).toMatch(/^https:\/\/invoice\.stripe\.com\//);
    expect(record.derived.support?.tickets[0]).toMatchObject({ id: '5301', status: 'solved' });
    // The same record answers to every kind of reference.
    for (const ref of [ACCOUNT, `zendesk:org:${ORG}`, record.id, 'billing@example.com']) {
      expect((await inspectRecord(p.worker.store, ref)).record.id).toBe(record.id);
    }
  });

  it('reports what the worker did and how deep the queues are on /metrics', async () => {
    const text = await (await fetch(`${p.daemon.url}/metrics`)).text();
    expect(text).toMatch(/portal_sync_events_applied_total\{source="stripe",outcome="changed"\} [1-9]/);
    expect(text).toMatch(/portal_sync_events_applied_total\{source="zendesk",outcome="changed"\} 2/);
    expect(text).toContain('portal_sync_queue_jobs{queue="events",state="waiting"} 0');
    expect(text).toMatch(/portal_sync_event_lag_seconds_count\{source="salesforce"\} 1/);
  });

  it('keeps the newest subscription status when updates arrive out of order', async () => {
    const base = fixtureJson<any>('stripe/customer.subscription.updated.json').created as number;
    await stripe('customer.subscription.updated.json', (e) => {
      e.created = base + 200;
      e.data.object.status = 'canceled';
    });
    await stripe('customer.subscription.updated.json', (e) => {
      e.created = base + 100;
      e.data.object.status = 'past_due';
    });
    await p.drain();
    const { record } = await inspectRecord(p.worker.store, 'cus_TestAcme01');
    expect(record.stripe.subscriptions.sub_TestAcme01?.data.status).toBe('canceled');
  });

  it('is shown by the inspect command as JSON, with lineage', () => {
    const root = resolve(import.meta.dirname, '../..');
    const r = spawnSync(process.execPath, cliArgv(['inspect', 'cus_TestAcme01', '--json', '--explain']), {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', REDIS_URL: p.daemon.config.redis.url, REDIS_PREFIX: p.daemon.prefix },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.links.salesforceAccountId).toBe(ACCOUNT);
    expect(out.lineage.some((l: any) => l.entity === 'salesforce.account' && l.eventId === '04l5e00000E2E001AA')).toBe(
      true,
    );
  });

  it('says clearly when there is no such customer, with exit code 1', () => {
    const root = resolve(import.meta.dirname, '../..');
    const r = spawnSync(process.execPath, cliArgv(['inspect', 'cus_Unknown']), {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', REDIS_URL: p.daemon.config.redis.url, REDIS_PREFIX: p.daemon.prefix },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^portal-sync: no customer record for cus_Unknown/);
  });
});
