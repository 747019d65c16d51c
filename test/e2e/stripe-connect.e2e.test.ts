/**
 * A Connect platform with two connected accounts that each have a customer `cus_Same`: end to end over HTTP on
 * real Redis, with the real stripe SDK against the Connect stand-in and node-zendesk against the Zendesk
 * stand-in. The two stay two customers, each pushed to its own organization, and neither organization ever
 * receives the other's data; a resync of the platform reads every connected account it lists and ends with
 * the same two customers.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { startStripeConnectStandIn, type StripeConnectStandIn } from '../../src/demo/standins/stripe/connect.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { salesforceId18 } from '../../src/sync/events/ids.js';
import { freePort, sendZendesk, until } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { resyncThrough } from '../support/resync.js';
import { seedZendeskSetup, zendeskTargetEnv } from '../support/zendesk-setup.js';

const PLATFORM = 'acct_1PlatformFAKE0001';
const CONNECT_SECRET = 'whsec_test_secret_not_real_connect_e2e';
const A = {
  account: 'acct_1ConnAlphaFAKE',
  sf: salesforceId18('0015e00000Alpha'),
  name: 'Alpha GmbH',
  plan: 'Alpha Pro',
  amount: 4900,
};
const B = {
  account: 'acct_1ConnBetaFAKE0',
  sf: salesforceId18('0015e00000Betaa'),
  name: 'Beta Ltd',
  plan: 'Beta Basic',
  amount: 1500,
};

let stripe: StripeConnectStandIn;
let zd: ZendeskStandIn;
let p: TestPipeline;
let resynced: TestPipeline;
const orgs: Record<string, number> = {};

const env = (s: StripeConnectStandIn) => ({
  ...s.env,
  STRIPE_WEBHOOK_SECRET: '',
  STRIPE_PLATFORM_SECRET_KEY: s.secretKey,
  STRIPE_PLATFORM_CONNECT_WEBHOOK_SECRET: CONNECT_SECRET,
  PORTAL_SYNC_CONFIG: 'test/fixtures/config/stripe-connect.yaml',
});

beforeAll(async () => {
  const port = await freePort();
  zd = await startZendeskStandIn({});
  for (const c of [A, B]) orgs[c.account] = zd.seedOrganization({ name: c.name, external_id: c.sf }).id;
  seedZendeskSetup(zd);
  stripe = await startStripeConnectStandIn({
    platform: { accountId: PLATFORM },
    connectWebhookUrl: `http://127.0.0.1:${port}/webhooks/stripe`,
    connectWebhookSecret: CONNECT_SECRET,
    connected: [A.account, B.account],
  });
  p = await startTestPipeline(
    { PORT: String(port), ...env(stripe), ...zendeskTargetEnv(zd) },
    (c) => void (c.push.debounceMs = 200),
    createPortalTarget,
  );
  resynced = await startTestPipeline({ ...env(stripe) });
  // Zendesk tells us about both organizations: external_id = each company's Salesforce Account.
  for (const c of [A, B]) {
    await sendZendesk(p.daemon, 'organization.created.json', (e) => {
      e.id = randomUUID(); // each its own delivery (the fixture's id would be deduplicated)
      e.detail.id = String(orgs[c.account]);
      e.detail.external_id = c.sf;
      e.detail.name = c.name;
    });
  }
  await p.drain();
}, 30_000);

afterAll(async () => {
  await p?.stop();
  await resynced?.stop();
  await stripe?.close();
  await zd?.close();
});

describe('Stripe Connect: two connected accounts, one customer id', () => {
  it('keeps the two customers apart end to end: two records, each pushed to its own organization only', async () => {
    const invoiceOf: Record<string, string> = {};
    for (const c of [A, B]) {
      const account = stripe.accounts.get(c.account)!;
      account.createCustomer({
        id: 'cus_Same',
        name: c.name,
        email: `billing@${c.name.split(' ')[0]!.toLowerCase()}.example`,
        metadata: { salesforce_account_id: c.sf },
      });
      const sub = account.createSubscription('cus_Same', {
        items: [{ price: { unit_amount: c.amount, currency: 'usd', interval: 'month', nickname: c.plan } }],
      });
      invoiceOf[c.account] = account.createInvoice('cus_Same', {
        subscription: sub.id,
        lines: [{ amount: c.amount }],
        finalize: true,
      }).id;
      account.payInvoice(invoiceOf[c.account]!);
    }
    await stripe.flushWebhooks();
    await p.drainAll();

    const store = p.worker.store;
    const [ra, rb] = [
      await store.findByKey(`stripe:${A.account}:cus_Same`),
      await store.findByKey(`stripe:${B.account}:cus_Same`),
    ];
    expect(ra && rb).toBeTruthy();
    expect(ra!.id).not.toBe(rb!.id);
    expect(await store.findByKey('stripe:cus_Same')).toBeNull();
    expect(await store.listConflicts()).toEqual([]);
    expect(await store.ownedKeys(ra!.id)).toEqual(
      expect.arrayContaining([`sfacct:${A.sf}`, `zdorg:${orgs[A.account]}`]),
    );
    expect(await store.ownedKeys(rb!.id)).toEqual(
      expect.arrayContaining([`sfacct:${B.sf}`, `zdorg:${orgs[B.account]}`]),
    );
    expect(ra!.derived.billing).toMatchObject({ plan: A.plan, mrr: A.amount });
    expect(rb!.derived.billing).toMatchObject({ plan: B.plan, mrr: B.amount });

    for (const c of [A, B]) {
      const org = await until(`${c.name}'s billing_plan`, () => {
        const o = zd.state.organizations.get(orgs[c.account]!);
        return o?.organization_fields.billing_plan === c.plan ? o : undefined;
      });
      expect(org.organization_fields).toMatchObject({
        billing_status: 'active',
        billing_plan: c.plan,
        billing_delinquent: false,
      });
    }
    // Each company's invoice is on its own organization, and only there (the invoice ids differ: Stripe's are global).
    // A reconcile pass reads the Events API of the platform and of every connected account: all delivered, no drift.
    const report = await p.worker.reconciler.pass();
    expect(report.sources.stripe?.error).toBeUndefined();
    expect(report.sources.stripe?.read).toBeGreaterThanOrEqual(2 * 5); // per account: customer, subscription, invoice events
    expect(report.drift).toBe(0);
    expect(new Set(stripe.calls.filter((c) => c.path === '/v1/events').map((c) => c.stripeAccount))).toEqual(
      new Set([null, A.account, B.account]),
    );
    const invoices = await until('both invoices', () => {
      const all = zd.state.customObjectRecords.get('portal_invoice');
      return all && all.size >= 2 ? all : undefined;
    });
    expect(invoices.size).toBe(2);
    for (const c of [A, B])
      expect(invoices.get(invoiceOf[c.account]!)?.custom_object_fields.organization_id, c.name).toBe(
        String(orgs[c.account]),
      );
    // Nothing else was written to an organization: no third one, and no other company's plan on either.
    expect(
      [...zd.state.organizations.values()].filter(
        (o) => o.organization_fields.billing_plan !== undefined && o.organization_fields.billing_plan !== null,
      ).length,
    ).toBe(2);
  }, 60_000);

  it('resyncs every connected account the platform lists, with the customers apart as the webhooks left them', async () => {
    const { summary, streams } = await resyncThrough(resynced, ['stripe']);
    expect(streams).toEqual([
      'stripe.platform.customers',
      'stripe.platform.subscriptions',
      'stripe.platform.invoices',
      'stripe.platform.connected.customers',
      'stripe.platform.connected.subscriptions',
      'stripe.platform.connected.invoices',
    ]);
    expect(summary.counts).toMatchObject({ read: 6, failed: 0, rejected: 0 });
    await resynced.drain();
    // Listed through the platform, read through Stripe-Account, one connected account after the other.
    expect(stripe.calls.filter((c) => c.path === '/v1/accounts').length).toBeGreaterThan(0);
    expect(new Set(stripe.calls.filter((c) => c.path === '/v1/customers').map((c) => c.stripeAccount))).toEqual(
      new Set([null, A.account, B.account]),
    );
    for (const c of [A, B]) {
      const mine = await resynced.worker.store.findByKey(`stripe:${c.account}:cus_Same`);
      const webhooked = await p.worker.store.findByKey(`stripe:${c.account}:cus_Same`);
      expect(mine?.derived.billing).toEqual(webhooked?.derived.billing);
      expect(mine?.derived.invoices).toEqual(webhooked?.derived.invoices);
    }
  }, 60_000);
});
