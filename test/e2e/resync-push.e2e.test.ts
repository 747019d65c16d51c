/**
 * Resync pushes in bulk, end to end: the real SDKs read the Stripe, Zendesk
 * and Salesforce stand-ins, snapshots go through the real queue, worker,
 * identity and merge, and the pushes of a few hundred changed customers
 * reach the portal stand-ins as Zendesk update_many / custom object jobs
 * (polled with show_many) and Salesforce sObject Collections. The portal
 * ends up exactly as per-customer pushes leave twin stand-ins.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPortals, seedLinkedCustomers, type SeededCustomer } from '../../bench/lib/resync-seed.js';
import type { Config } from '../../src/config.js';
import type { ResyncSource } from '../../src/connectors/resync.js';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { createLogger } from '../../src/log.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startStripeStandIn, type StripeStandIn } from '../../src/demo/standins/stripe/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { portalProjection } from '../../src/sync/events/project.js';
import { acceptedKey, linksFor } from '../../src/sync/push/worker.js';
import { startWorker } from '../../src/worker-role.js';
import { TEST_SECRETS, testConfig } from '../support/daemon.js';
import { until, standInTargetsEnv } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { bulkPushesSettled, resyncThrough } from '../support/resync.js';
import { REDIS_KEYS } from '../../src/sync/redis/keys.js';

const N = 300;
const hourAgo = Date.now() - 3600_000;
const updatedAt = (i: number) => new Date(hourAgo + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

let zd: ZendeskStandIn;
let sf: SalesforceStandIn;
let stripe: StripeStandIn;
let p: TestPipeline;
let redis: Redis;
let customers: SeededCustomer[];

const env = () => ({
  ...standInTargetsEnv(zd, sf),
  ...stripe.env,
});
const tweak = (c: Config) => {
  c.resync.zendeskExportsPerMinute = 6000;
  c.push.debounceMs = 100;
};

const resync = async (sources: ResyncSource[]) => (await resyncThrough(p, sources)).summary;
/** Until nothing is pending, claimed or queued for either target. */
const pushesSettled = () => bulkPushesSettled(p, redis);

const writes = <C extends { method: string }>(calls: readonly C[]) => calls.filter((c) => c.method !== 'GET');
const recordOf = async (c: SeededCustomer) => (await p.worker.store.findByKey(`sfacct:${c.accountId}`))!;

beforeAll(async () => {
  zd = await startZendeskStandIn({ exportLagSeconds: 60 });
  sf = await startSalesforceStandIn({ orgId: TEST_SECRETS.SALESFORCE_ORG_ID });
  stripe = await startStripeStandIn();
  p = await startTestPipeline(env(), tweak, createPortalTarget);
  redis = new Redis(p.daemon.config.redis.url);
  provisionPortals(zd, sf, p.daemon.config.targets);
  customers = seedLinkedCustomers(zd, sf, stripe, { count: N, updatedAt });
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await p?.stop();
  await Promise.all([zd?.close(), sf?.close(), stripe?.close()]);
});

describe('resync pushes in bulk', () => {
  it(`pushes ${N} changed customers in about N/100 Zendesk and N/200 Salesforce calls, leaving the portal as per-customer pushes would`, async () => {
    const [zdBefore, sfBefore] = [zd.calls.length, sf.calls.length];
    const summary = await resync(['stripe', 'zendesk', 'salesforce']);
    expect(summary.complete).toBe(true);
    expect(summary.counts.failed).toBe(0);
    await pushesSettled();

    const zdWrites = writes(zd.calls.slice(zdBefore));
    const kinds = zdWrites.map((c) => `${c.method} ${c.path.replace(/\/\d+$/, '/:id')}`);
    // 300 organizations' billing fields and 300 invoices: three calls of 100 each, nothing per customer.
    expect(kinds.filter((k) => k === 'PUT /organizations/update_many')).toHaveLength(Math.ceil(N / 100));
    expect(kinds.filter((k) => k === 'POST /custom_objects/portal_invoice/jobs')).toHaveLength(Math.ceil(N / 100));
    expect(zdWrites).toHaveLength(2 * Math.ceil(N / 100));
    // Every job of a batch is polled in one call.
    const polls = zd.calls.slice(zdBefore).filter((c) => c.path.startsWith('/job_statuses'));
    expect(polls.every((c) => c.path === '/job_statuses/show_many')).toBe(true);
    expect(polls.length).toBeLessThanOrEqual(2);
    // Accounts, invoices and tickets: collections of 200.
    const sfWrites = writes(sf.calls.slice(sfBefore));
    expect(sfWrites.every((c) => c.path.includes('/composite/sobjects'))).toBe(true);
    expect(sfWrites).toHaveLength(3 * Math.ceil(N / 200));
    expect(sfWrites.every((c) => c.callOptions === 'client=portal-sync')).toBe(true);

    // The same records pushed one customer at a time into twin portals.
    const zdTwin = await startZendeskStandIn({ exportLagSeconds: 60 });
    const sfTwin = await startSalesforceStandIn({ orgId: TEST_SECRETS.SALESFORCE_ORG_ID });
    try {
      const twinConfig = testConfig({
        ...env(),
        ZENDESK_BASE_URL: zdTwin.baseUrl,
        SALESFORCE_INSTANCE_URL: sfTwin.instanceUrl,
        SALESFORCE_ACCESS_TOKEN: sfTwin.accessToken,
      });
      provisionPortals(zdTwin, sfTwin, twinConfig.targets);
      const twins = seedLinkedCustomers(zdTwin, sfTwin, null, { count: N, updatedAt });
      expect(twins.map((t) => [t.accountId, t.orgId])).toEqual(customers.map((c) => [c.accountId, c.orgId]));
      const targets = [createPortalTarget('zendesk', twinConfig), createPortalTarget('salesforce', twinConfig)];
      for (const c of customers) {
        const record = await recordOf(c);
        const push = {
          customerId: record.id,
          links: linksFor(record, await p.worker.store.ownedKeys(record.id)),
          profile: record.derived.profile,
          projection: portalProjection(record.derived),
          previous: null,
        };
        for (const t of targets) await t.push(push);
      }
      const t = p.daemon.config.targets;
      for (const c of customers) {
        expect(zd.state.organizations.get(c.orgId)!.organization_fields).toEqual(
          zdTwin.state.organizations.get(c.orgId)!.organization_fields,
        );
        const account = (s: SalesforceStandIn) =>
          Object.fromEntries(
            Object.values(t.salesforce.accountFields).map((f) => [f, s.state.get('Account', c.accountId)![f]]),
          );
        expect(account(sf)).toEqual(account(sfTwin));
      }
      expect(zd.state.organizations.get(customers[5]!.orgId)!.organization_fields[t.zendesk.fields.status]).toBe(
        'active',
      );
      const invoices = (s: ZendeskStandIn) =>
        Object.fromEntries(
          [...s.state.customObjectRecords.get(t.zendesk.invoiceObject.key)!.values()].map((r) => [
            r.external_id,
            { name: r.name, fields: r.custom_object_fields },
          ]),
        );
      expect(Object.keys(invoices(zd))).toHaveLength(N);
      expect(invoices(zd)).toEqual(invoices(zdTwin));
      const SYSTEM = new Set([
        'Id',
        'Name',
        'OwnerId',
        'CreatedDate',
        'CreatedById',
        'LastModifiedDate',
        'LastModifiedById',
        'SystemModstamp',
        'IsDeleted',
      ]);
      const rows = (s: SalesforceStandIn, o: { object: string; externalId: string }) =>
        Object.fromEntries(
          [...s.state.sobjects.get(o.object)!.values()].map((r) => [
            String(r[o.externalId]),
            Object.fromEntries(Object.entries(r).filter(([k]) => !SYSTEM.has(k))),
          ]),
        );
      for (const o of [t.salesforce.invoice, t.salesforce.ticket]) {
        expect(Object.keys(rows(sf, o))).toHaveLength(N);
        expect(rows(sf, o)).toEqual(rows(sfTwin, o));
      }
    } finally {
      await Promise.all([zdTwin.close(), sfTwin.close()]);
    }
  }, 90_000);

  it("a record the platform refuses inside a bulk answer does not stop the others, and is dead-lettered alone with the platform's message", async () => {
    const changed = customers.slice(10, 30);
    for (const c of changed) stripe.updateCustomer(c.stripeCustomerId!, { balance: -2_500 });
    // Gone from the portals meanwhile: Zendesk answers RecordNotFound for it, Salesforce an invalid cross reference.
    const [goneInZendesk, goneInSalesforce] = [changed[3]!, changed[7]!];
    zd.state.organizations.delete(goneInZendesk.orgId);
    sf.state.remove(sf.state.object('Account'), goneInSalesforce.accountId);
    const zdBefore = zd.calls.length;

    await resync(['stripe']);
    await pushesSettled();

    const t = p.daemon.config.targets;
    for (const c of changed.filter((c) => c !== goneInZendesk))
      expect(zd.state.organizations.get(c.orgId)!.organization_fields[t.zendesk.fields.balance]).toBe(-25);
    for (const c of changed.filter((c) => c !== goneInSalesforce))
      expect(sf.state.get('Account', c.accountId)![t.salesforce.accountFields.balance]).toBe(-25);
    // The 19 others went in one update_many; the refused one was tried once more on its own.
    const zdWrites = writes(zd.calls.slice(zdBefore)).map((c) => `${c.method} ${c.path.replace(/\/\d+$/, '/:id')}`);
    expect(zdWrites.sort()).toEqual(['PUT /organizations/:id', 'PUT /organizations/update_many']);

    const failed = async (target: 'zendesk' | 'salesforce') => p.worker.planner.queues.get(target)!.getJobs(['failed']);
    const [zdFailed, sfFailed] = [await failed('zendesk'), await failed('salesforce')];
    expect(zdFailed.map((j) => j.data.customerId)).toEqual([(await recordOf(goneInZendesk)).id]);
    expect(zdFailed[0]!.failedReason).toMatch(/RecordNotFound/);
    expect(sfFailed.map((j) => j.data.customerId)).toEqual([(await recordOf(goneInSalesforce)).id]);
    expect(sfFailed[0]!.failedReason).toMatch(/INVALID_CROSS_REFERENCE_KEY|ENTITY_IS_DELETED|NOT_FOUND/);
    // Handed back by the drain on the worker's own queue: the planner's retry policy and retention, not one bare try.
    for (const j of [...zdFailed, ...sfFailed])
      expect(j.opts).toMatchObject({
        attempts: 20,
        backoff: { type: 'capped-exponential' },
        removeOnComplete: { age: 86_400 },
      });
  }, 60_000);

  it('a customer a stopped worker had taken but not pushed is pushed by the next worker', async () => {
    const c = customers[42]!;
    const record = await recordOf(c);
    // As a worker that died mid-batch leaves it: claimed (its lease over), nothing pending, no drain job queued.
    const k = REDIS_KEYS.bulk(p.daemon.prefix, 'zendesk');
    const [seconds] = await redis.time();
    await redis.zadd(k.claimed, String(Number(seconds) * 1000 - 1_000), record.id);
    await redis.del(acceptedKey(p.daemon.prefix, 'zendesk', record.id));
    zd.state.organizations.get(c.orgId)!.organization_fields = {};
    const zdBefore = zd.calls.length;

    const next = await startWorker(p.daemon.config, createLogger('silent'), { targets: createPortalTarget });
    try {
      await until(
        'the left-over customer to reach Zendesk',
        () => Object.keys(zd.state.organizations.get(c.orgId)!.organization_fields).length > 0,
        20_000,
      );
      await pushesSettled();
    } finally {
      await next.close();
    }
    // Nothing accepted for it any more: its fields and its invoice, in the bulk shapes.
    expect(writes(zd.calls.slice(zdBefore)).map((x) => `${x.method} ${x.path}`)).toEqual([
      'PUT /organizations/update_many',
      'POST /custom_objects/portal_invoice/jobs',
    ]);
    expect(
      zd.state.organizations.get(c.orgId)!.organization_fields[p.daemon.config.targets.zendesk.fields.status],
    ).toBe('active');
  }, 40_000);
});
