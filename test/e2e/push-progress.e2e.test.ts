/**
 * A push keeps its progress, end to end: the real node-zendesk and jsforce SDKs
 * against the stand-ins, a call failing past its in-place retries (500s, or
 * 429s waited out by the job). The calls the push had already made are not
 * made again by its next try, unless what they would send has changed since.
 * Calls are counted from the stand-ins' request logs. And what a failed try
 * wrote never stays on the portal when the record has undone it since.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPortals } from '../../bench/lib/resync-seed.js';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { REDIS_KEYS } from '../../src/sync/redis/keys.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { sendStripe, standInTargetsEnv, until } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';

let zd: ZendeskStandIn;
let sf: SalesforceStandIn;
let p: TestPipeline;
let redis: Redis;

beforeAll(async () => {
  zd = await startZendeskStandIn();
  sf = await startSalesforceStandIn({ orgId: TEST_SECRETS.SALESFORCE_ORG_ID });
  p = await startTestPipeline(
    standInTargetsEnv(zd, sf),
    (c) => {
      c.push.debounceMs = 50;
      // A failed try waits 1–2 s: long enough for a test to change the customer in between.
      c.push.backoffMs = 2_000;
    },
    createPortalTarget,
  );
  provisionPortals(zd, sf, p.daemon.config.targets);
  redis = new Redis(p.daemon.config.redis.url);
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await p?.stop();
  await Promise.all([zd?.close(), sf?.close()]);
});

const customer = (id: string, metadata: Record<string, string>) =>
  sendStripe(p.daemon, 'customer.created.json', (e) => {
    e.data.object.id = id;
    e.data.object.email = `${id}@progress.example`;
    e.data.object.metadata = metadata;
  });
const invoice = (customerId: string, id: string) =>
  sendStripe(p.daemon, 'invoice.finalized.json', (e) => {
    e.data.object.id = id;
    e.data.object.customer = customerId;
    e.data.object.number = id.toUpperCase();
  });

/** A customer pushed to its own Zendesk organization, everything settled: returns the organization's id. */
async function zendeskCustomer(id: string): Promise<number> {
  const org = zd.seedOrganization({ name: `Progress ${id}` }).id;
  await customer(id, { zendesk_organization_id: String(org) });
  await until('the first push', () => orgUpdates(0, org).some((c) => c.status === 200));
  await p.drainAll();
  return org;
}

const orgUpdates = (from: number, org: number) =>
  zd.calls.slice(from).filter((c) => c.method === 'PUT' && c.path === `/organizations/${org}`);
const invoiceCalls = (from: number, id: string) =>
  zd.calls.slice(from).filter((c) => c.path.startsWith('/custom_objects/portal_invoice/') && c.query.includes(id));
const zendeskInvoice = (id: string) => zd.state.customObjectRecords.get('portal_invoice')?.get(id);

/** The push's progress left in Redis for the customer (none once the push was accepted). */
async function progressLeft(target: 'zendesk' | 'salesforce', stripeId: string): Promise<number> {
  const record = await p.worker.store.findByKey(`stripe:${stripeId}`);
  return redis.exists(REDIS_KEYS.push(p.daemon.config.redis.prefix).progress(target, record!.id));
}

describe('a push keeps its progress', () => {
  it("does not update a Zendesk organization again on the job's next attempt after its invoice call failed past the in-place retries", async () => {
    const org = await zendeskCustomer('cus_prog_zd1');
    const from = zd.calls.length;
    zd.failNext(4, 500, undefined, /external_id=in_prog_zd1\b/);
    await invoice('cus_prog_zd1', 'in_prog_zd1');
    await until('the invoice record', () => zendeskInvoice('in_prog_zd1'), 20_000);
    await p.drainAll();

    expect(invoiceCalls(from, 'in_prog_zd1').map((c) => c.status)).toEqual([500, 500, 500, 500, 201]);
    expect(orgUpdates(from, org).map((c) => c.status)).toEqual([200]);
    expect(zd.state.organizations.get(org)?.organization_fields).toMatchObject({ portal_open_invoices: 1 });
    expect(await progressLeft('zendesk', 'cus_prog_zd1')).toBe(0);
  }, 30_000);

  it('does not repeat the calls made before a Zendesk rate limit that the push waits out', async () => {
    const org = await zendeskCustomer('cus_prog_zd2');
    const from = zd.calls.length;
    // Each 429 says Retry-After: 1; the fourth is past the in-place retries, so the job waits it out and tries again.
    zd.failNext(4, 429, undefined, /external_id=in_prog_zd2\b/);
    await invoice('cus_prog_zd2', 'in_prog_zd2');
    await until('the invoice record', () => zendeskInvoice('in_prog_zd2'), 20_000);
    await p.drainAll();

    expect(invoiceCalls(from, 'in_prog_zd2').map((c) => c.status)).toEqual([429, 429, 429, 429, 201]);
    expect(orgUpdates(from, org).map((c) => c.status)).toEqual([200]);
  }, 30_000);

  it('still writes what changed between two attempts, and only once more', async () => {
    const org = await zendeskCustomer('cus_prog_zd3');
    const from = zd.calls.length;
    // Two attempts' worth: the first fails, the customer changes, the second writes the change and fails again.
    zd.failNext(8, 500, undefined, /external_id=in_prog_zd3\b/);
    await invoice('cus_prog_zd3', 'in_prog_zd3');
    await until('the first attempt to fail', () => invoiceCalls(from, 'in_prog_zd3').length >= 4);
    await sendStripe(p.daemon, 'customer.subscription.updated.json', (e) => {
      e.data.object.id = 'sub_prog_zd3';
      e.data.object.customer = 'cus_prog_zd3';
      e.data.object.metadata = {};
    });
    await p.drain();
    await until('the invoice record', () => zendeskInvoice('in_prog_zd3'), 20_000);
    await p.drainAll();

    expect(invoiceCalls(from, 'in_prog_zd3').map((c) => c.status)).toEqual([...Array(8).fill(500), 201]);
    // The first attempt's fields, then the changed ones; the third attempt writes no fields again.
    expect(orgUpdates(from, org).map((c) => c.status)).toEqual([200, 200]);
    expect(zd.state.organizations.get(org)?.organization_fields).toMatchObject({
      billing_status: 'active',
      portal_open_invoices: 1,
    });
  }, 40_000);

  it("does not update a Salesforce Account again on the job's next attempt after its invoice collection failed", async () => {
    const account = sf.state.seedAccount({ Name: 'Progress Salesforce' }).Id;
    const accountPath = new RegExp(`/sobjects/Account/${account}$`);
    const invoicePath = /\/composite\/sobjects\/Portal_Invoice__c\//;
    const from = sf.calls.length;
    // The first attempt fails at the Account; by the second, the invoice is there too, and its collection fails.
    sf.failNext(4, 503, undefined, accountPath);
    sf.failNext(4, 500, undefined, invoicePath);
    await customer('cus_prog_sf1', { salesforce_account_id: account });
    await invoice('cus_prog_sf1', 'in_prog_sf1');
    await until(
      'the invoice record',
      () => sf.state.byExternalId('Portal_Invoice__c', 'Stripe_Invoice_Id__c', 'in_prog_sf1'),
      20_000,
    );
    await p.drainAll();

    const calls = sf.calls.slice(from);
    expect(calls.filter((c) => invoicePath.test(c.path)).map((c) => c.status)).toEqual([500, 500, 500, 500, 200]);
    expect(calls.filter((c) => c.method === 'PATCH' && accountPath.test(c.path)).map((c) => c.status)).toEqual([
      503, 503, 503, 503, 204,
    ]);
    expect(await progressLeft('salesforce', 'cus_prog_sf1')).toBe(0);
  }, 40_000);
});

describe('a push that wrote part of a change and failed', () => {
  // The organization's fields are written, the invoice's call fails, and before the retry the record goes back to
  // what the target had accepted (the invoice is paid): the difference from the accepted state no longer names the
  // count, so only a retry that writes the whole projection (the writer token the failed try left set says so)
  // puts the organization right.
  it("leaves the organization's open-invoice count right when the invoice was paid before the retry", async () => {
    const org = await zendeskCustomer('cus_partial_1');
    const from = zd.calls.length;
    zd.failNext(4, 500, undefined, /external_id=in_partial_1\b/); // the invoice's call fails past its in-place retries
    await invoice('cus_partial_1', 'in_partial_1');
    await until('the fields written', () => orgUpdates(from, org).some((c) => c.status === 200));
    expect(zd.state.organizations.get(org)?.organization_fields).toMatchObject({ portal_open_invoices: 1 });
    await until('the try to fail', () => invoiceCalls(from, 'in_partial_1').length >= 4);

    await sendStripe(p.daemon, 'invoice.paid.json', (e) => {
      e.data.object.id = 'in_partial_1';
      e.data.object.customer = 'cus_partial_1';
      e.data.object.number = 'IN_PARTIAL_1';
      e.created += 3600;
    });
    await p.drain();
    await until('the invoice written', () => zendeskInvoice('in_partial_1'), 20_000);
    await p.drainAll();

    expect(zd.state.organizations.get(org)?.organization_fields).toMatchObject({ portal_open_invoices: 0 });
    expect(zendeskInvoice('in_partial_1')?.custom_object_fields).toMatchObject({ invoice_status: 'paid' });
  }, 40_000);
});
