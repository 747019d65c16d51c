/**
 * The multi-account deployment of config/examples/multi-account.yaml, end to end over HTTP on real Redis, with the
 * real SDKs against the stand-ins: a plain Stripe account (eu) with Alpha, a Connect platform (marketplace) with its
 * own customer Delta and connected accounts C1 and C2 that each hold a customer `cus_Same` (Bravo and Charlie),
 * behind one Stripe API origin that tells the accounts apart by their key, as Stripe does; tickets on the two Zendesk
 * brands the file lists (and one of a brand it does not list), and Stripe metadata `plan_tier` mapped to a Zendesk
 * organization field and a Salesforce Account field. Each company's data, and only theirs, lands in its own
 * organization and Account with the mapped fields; every write either portal received is checked against the
 * company it was meant for (Zendesk's through a recording proxy in front of its stand-in, Salesforce's as its
 * stand-in records them).
 * The portals are provisioned first with `setup zendesk` (brands checked, mapped field created) and `setup salesforce --verify`.
 * `inspect` tells the two cus_Same apart by account; `resync --dry-run` reads all four accounts and finds nothing to change.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { provisionedSalesforceFields } from '../../src/demo/salesforce-fields.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startStripeStandIn, type StripeStandIn } from '../../src/demo/standins/stripe/index.js';
import { startStripeConnectStandIn, type StripeConnectStandIn } from '../../src/demo/standins/stripe/connect.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { ROOT, runCli, type CliResult } from '../support/cli.js';
import { testConfig } from '../support/daemon.js';
import { freePort, sendZendesk, until } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';

const EXAMPLE = resolve(ROOT, 'config/examples/multi-account.yaml');
const EU = 'acct_1EuEntityFAKE001';
const PLATFORM = 'acct_1PlatformFAKE002';
const C1 = 'acct_1ConnOneFAKE0001';
const C2 = 'acct_1ConnTwoFAKE0002';
const NORTHWIND = '360000000001';
const SOUTHWIND = '360000000002';
const UNLISTED_BRAND = '360000000009';

const SECRETS = {
  eu: 'whsec_test_secret_not_real_eu_account',
  marketplace: 'whsec_test_secret_not_real_marketplace',
  connect: 'whsec_test_secret_not_real_mkt_connect',
};
/** Live-mode keys (the example's accounts are live), obviously not real ones. */
const KEYS = { eu: 'sk_live_FAKE_not_real_eu_account_key', marketplace: 'sk_live_FAKE_not_real_marketplace_key' };

interface Company {
  name: string;
  account: string;
  cus: string;
  /** Its Salesforce Account (seeded). */
  sf: string;
  plan: string;
  amount: number;
  /** Its Stripe metadata plan_tier (Delta has none). */
  tier: string | null;
  /** What the mapping writes: the enum map on Zendesk, the raw value on Salesforce. */
  zendeskTier: string;
  brand: string;
  subject: string;
  email: string;
}
const ALPHA: Company = {
  name: 'Alpha AG',
  account: EU,
  cus: 'cus_AlphaEu',
  sf: '',
  plan: 'Alpha Pro',
  amount: 4900,
  tier: 'gold',
  zendeskTier: 'Gold',
  brand: NORTHWIND,
  subject: 'Alpha asks about a refund',
  email: 'ops@alpha.example',
};
const BRAVO: Company = {
  name: 'Bravo Ltd',
  account: C1,
  cus: 'cus_Same',
  sf: '',
  plan: 'Bravo Basic',
  amount: 1500,
  tier: 'silver',
  zendeskTier: 'Silver',
  brand: SOUTHWIND,
  subject: 'Bravo cannot log in',
  email: 'ops@bravo.example',
};
const CHARLIE: Company = {
  name: 'Charlie SAS',
  account: C2,
  cus: 'cus_Same',
  sf: '',
  plan: 'Charlie Max',
  amount: 9900,
  tier: 'platinum',
  zendeskTier: 'Standard',
  brand: NORTHWIND,
  subject: 'Charlie wants a W-9',
  email: 'ops@charlie.example',
};
const DELTA: Company = {
  name: 'Delta Inc',
  account: PLATFORM,
  cus: 'cus_DeltaPlatform',
  sf: '',
  plan: 'Delta Lite',
  amount: 900,
  tier: null,
  zendeskTier: 'Standard',
  brand: SOUTHWIND,
  subject: 'Delta needs a receipt',
  email: 'ops@delta.example',
};
const COMPANIES = [ALPHA, BRAVO, CHARLIE, DELTA];
/** Alpha's ticket on a brand the deployment does not serve: skipped, never on a portal. */
const OTHER_BRAND_SUBJECT = 'Alpha writes to another brand';

/** The variables the example's entries name, as docs/multi-account.md says to set them. */
function stripeEnvOf(): Record<string, string> {
  return {
    STRIPE_EU_SECRET_KEY: KEYS.eu,
    STRIPE_EU_WEBHOOK_SECRET: SECRETS.eu,
    STRIPE_MARKETPLACE_SECRET_KEY: KEYS.marketplace,
    STRIPE_MARKETPLACE_WEBHOOK_SECRET: SECRETS.marketplace,
    STRIPE_MARKETPLACE_CONNECT_WEBHOOK_SECRET: SECRETS.connect,
    STRIPE_WEBHOOK_SECRET: '', // the single-account variable stays unset with stripe.accounts
    PORTAL_SYNC_CONFIG: EXAMPLE,
  };
}

/** A write a portal received: method, path, the parsed body. */
interface Write {
  method: string;
  path: string;
  body: any;
}

/**
 * A pass-through proxy: each request goes to the origin `route` picks for it; with `writes`, every write's body is
 * kept (the Zendesk stand-in keeps none).
 */
async function proxyTo(
  route: (headers: Record<string, string | string[] | undefined>) => string,
  writes?: Write[],
): Promise<{ baseUrl: string; port: number; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (writes && req.method !== 'GET' && raw.length > 0)
        writes.push({ method: req.method!, path: req.url!, body: JSON.parse(raw.toString('utf8')) });
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)),
      ) as Record<string, string>;
      fetch(new URL(req.url!, route(req.headers)), {
        method: req.method!,
        headers,
        ...(raw.length > 0 && { body: raw }),
      })
        .then(async (r) => {
          const body = Buffer.from(await r.arrayBuffer());
          const out: Record<string, string> = {};
          r.headers.forEach((v, k) => {
            if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) out[k] = v;
          });
          res.writeHead(r.status, out).end(body);
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  return { baseUrl: `http://127.0.0.1:${port}`, port, server };
}

/** The items a write body holds (a bulk body's elements, else the body itself), each with the path it came with. */
function itemsOf(w: Write): any[] {
  const b = w.body;
  if (Array.isArray(b?.records)) return b.records;
  if (Array.isArray(b?.organizations)) return b.organizations;
  if (Array.isArray(b?.users)) return b.users;
  if (Array.isArray(b?.job?.items)) return b.job.items;
  return [b?.organization ?? b?.user ?? b?.custom_object_record ?? b];
}

let eu: StripeStandIn;
let connect: StripeConnectStandIn;
let zd: ZendeskStandIn;
let sf: SalesforceStandIn;
let proxies: Server[] = [];
/** The one Stripe API origin of every account (see beforeAll). */
let stripeApiPort: number;
let p: TestPipeline;
const zendeskWrites: Write[] = [];
let setupZendesk: CliResult;
let setupSalesforce: CliResult;
const orgs = new Map<Company, number>();
const invoiceOf = new Map<Company, string>();
const companyOfOrg = (id: unknown) => COMPANIES.find((c) => String(orgs.get(c)) === String(id));
const companyOfAccount = (id: unknown) =>
  COMPANIES.find((c) => c.sf === id || (typeof id === 'string' && id.length === 15 && c.sf.startsWith(id)));
/**
 * Everything that is one company's: another company's item must carry none of it. The enum map's default
 * (Standard) is nobody's: every organization has it until its customer's metadata is known.
 */
const markersOf = (c: Company) => [
  c.plan,
  c.subject,
  c.email,
  invoiceOf.get(c)!,
  ...(c.tier === null ? [] : [c.tier]),
  ...(c.zendeskTier === 'Standard' ? [] : [c.zendeskTier]),
];

beforeAll(async () => {
  const port = await freePort();
  const webhooks = `http://127.0.0.1:${port}/webhooks/stripe`;
  // The variables the example's entries name, as docs/multi-account.md says to set them.
  const stripeEnv = stripeEnvOf();
  const config = testConfig(stripeEnv);
  zd = await startZendeskStandIn({});
  const zendesk = await proxyTo(() => zd.origin, zendeskWrites);
  sf = await startSalesforceStandIn({
    orgId: '00D5e000000TestAAA',
    fields: provisionedSalesforceFields(config.targets.salesforce, undefined, config.mapping),
  });
  for (const c of COMPANIES) {
    c.sf = sf.state.seedAccount({ Name: c.name }).Id;
    orgs.set(c, zd.seedOrganization({ name: c.name, external_id: c.sf }).id);
  }
  // The account's two brands, as the example lists them; `setup zendesk` checks them and creates the fields, the
  // mapped plan_tier among them, and `setup salesforce --verify` finds the mapped Account field (docs/multi-account.md, step 5).
  zd.seedBrand({
    id: Number(NORTHWIND),
    name: 'Northwind',
    subdomain: 'northwind',
    host_mapping: 'help.northwind.example',
  });
  zd.seedBrand({
    id: Number(SOUTHWIND),
    name: 'Southwind',
    subdomain: 'southwind',
    host_mapping: 'help.southwind.example',
  });
  const setupEnv = {
    ...stripeEnv,
    ZENDESK_BASE_URL: zd.baseUrl,
    ZENDESK_EMAIL: zd.credentials.email,
    ZENDESK_API_TOKEN: zd.credentials.token,
    SALESFORCE_INSTANCE_URL: sf.instanceUrl,
    SALESFORCE_ACCESS_TOKEN: sf.accessToken,
  };
  setupZendesk = await runCli(['setup', 'zendesk'], setupEnv);
  setupSalesforce = await runCli(['setup', 'salesforce', '--verify'], setupEnv);
  // The plain account and the platform: two stand-ins, as two Stripe accounts are two API keys. Its own seed,
  // so that its ids are not the platform's (Stripe's ids are global).
  eu = await startStripeStandIn({
    accountId: EU,
    secretKey: KEYS.eu,
    webhookUrl: webhooks,
    webhookSecret: SECRETS.eu,
    seed: 77,
  });
  connect = await startStripeConnectStandIn({
    platform: {
      accountId: PLATFORM,
      secretKey: KEYS.marketplace,
      webhookUrl: webhooks,
      webhookSecret: SECRETS.marketplace,
    },
    connectWebhookUrl: webhooks,
    connectWebhookSecret: SECRETS.connect,
    connected: [C1, C2],
  });
  // One API origin for every account, as api.stripe.com is: the key a request carries says whose it is.
  const stripeApi = await proxyTo((h) => (String(h['authorization']).includes(KEYS.eu) ? eu.baseUrl : connect.baseUrl));
  proxies = [zendesk.server, stripeApi.server];
  stripeApiPort = stripeApi.port;
  p = await startTestPipeline(
    {
      PORT: String(port),
      ...stripeEnv,
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: String(stripeApi.port),
      STRIPE_API_PROTOCOL: 'http',
      PORTAL_TARGET: 'zendesk,salesforce',
      ZENDESK_BASE_URL: `${zendesk.baseUrl}/api/v2`,
      ZENDESK_EMAIL: zd.credentials.email,
      ZENDESK_API_TOKEN: zd.credentials.token,
      SALESFORCE_INSTANCE_URL: sf.instanceUrl,
      SALESFORCE_ACCESS_TOKEN: sf.accessToken,
    },
    (c) => void (c.push.debounceMs = 100),
    createPortalTarget,
  );
  // Zendesk tells us about the three organizations: external_id = each company's Salesforce Account.
  for (const c of COMPANIES) {
    await sendZendesk(p.daemon, 'organization.created.json', (e) => {
      e.id = randomUUID();
      e.detail.id = String(orgs.get(c));
      e.detail.external_id = c.sf;
      e.detail.name = c.name;
    });
  }
  await p.drain();
}, 120_000); // two CLI starts (setup): seconds apiece on a loaded machine

afterAll(async () => {
  await p?.stop();
  await eu?.close();
  await connect?.close();
  for (const server of proxies) await new Promise((done) => server.close(done));
  await zd?.close();
  await sf?.close();
});

describe('a deployment of two Stripe accounts (one a Connect platform), two Zendesk brands and a mapping', () => {
  it('is provisioned as the docs say: setup zendesk finds both brands and creates the mapped field, setup salesforce --verify finds the mapped one', () => {
    expect(setupZendesk.code, setupZendesk.stderr).toBe(0);
    expect(setupZendesk.stdout).toContain(
      `Brands (zendesk.brands):\n  ok       brand ${NORTHWIND} Northwind (Help Center: help.northwind.example, northwind.zendesk.com)\n  ok       brand ${SOUTHWIND} Southwind (Help Center: help.southwind.example, southwind.zendesk.com)\n`,
    );
    expect(setupZendesk.stdout).toMatch(/created +organization field plan_tier \(text\)/);
    expect(zd.state.organizationFields.map((f) => f.key)).toContain('plan_tier');
    expect(setupSalesforce.code, setupSalesforce.stdout + setupSalesforce.stderr).toBe(0);
  });

  it("puts each company's billing, invoice, tickets and mapped plan_tier on its own organization and Account", async () => {
    for (const c of COMPANIES) {
      const stripe =
        c.account === EU ? eu : c.account === PLATFORM ? connect.platform : connect.accounts.get(c.account)!;
      stripe.createCustomer({
        id: c.cus,
        name: c.name,
        email: c.email,
        metadata: {
          salesforce_account_id: c.sf,
          ...(c.tier !== null && { plan_tier: c.tier }),
          internal_note: 'not for the portal',
        },
      });
      const sub = stripe.createSubscription(c.cus, {
        items: [{ price: { unit_amount: c.amount, currency: 'usd', interval: 'month', nickname: c.plan } }],
      });
      const invoice = stripe.createInvoice(c.cus, {
        subscription: sub.id,
        lines: [{ amount: c.amount }],
        finalize: true,
      });
      invoiceOf.set(c, invoice.id);
      stripe.payInvoice(invoice.id);
    }
    expect(new Set(invoiceOf.values()).size).toBe(COMPANIES.length);
    await eu.flushWebhooks();
    await connect.flushWebhooks();
    const tickets: Array<[Company, string, string, string]> = [
      [ALPHA, '9101', ALPHA.subject, ALPHA.brand],
      [BRAVO, '9102', BRAVO.subject, BRAVO.brand],
      [CHARLIE, '9103', CHARLIE.subject, CHARLIE.brand],
      [DELTA, '9105', DELTA.subject, DELTA.brand],
      [ALPHA, '9104', OTHER_BRAND_SUBJECT, UNLISTED_BRAND],
    ];
    for (const [c, id, subject, brand] of tickets) {
      await sendZendesk(p.daemon, 'trigger.ticket.json', (body) => {
        Object.assign(body.ticket, {
          id,
          subject,
          tags: '',
          form_id: '',
          requester_id: String(8000000009000 + Number(id)),
          requester_email: c.email,
          organization_id: String(orgs.get(c)),
          organization_external_id: c.sf,
          brand_id: brand,
          created_at: '2026-12-01T09:30Z',
          updated_at: '2026-12-01T09:30Z',
        });
      });
    }
    await p.drainAll();

    // Four records: one per customer of each account, cus_Same twice and never the unscoped key.
    const store = p.worker.store;
    const records = await Promise.all(COMPANIES.map((c) => store.findByKey(`stripe:${c.account}:${c.cus}`)));
    expect(new Set(records.map((r) => r?.id)).size).toBe(COMPANIES.length);
    expect(await store.findByKey('stripe:cus_Same')).toBeNull();
    expect(await store.listConflicts()).toEqual([]);
    for (const [i, c] of COMPANIES.entries()) {
      const r = records[i]!;
      expect(await store.ownedKeys(r.id)).toEqual(expect.arrayContaining([`sfacct:${c.sf}`, `zdorg:${orgs.get(c)}`]));
      expect(r.derived.billing, c.name).toMatchObject({ plan: c.plan, mrr: c.amount });
      // Its ticket on a brand the file lists, with that brand; the unlisted brand's ticket is not there.
      expect(
        r.derived.support?.tickets.map((t) => [t.subject, t.brandId]),
        c.name,
      ).toEqual([[c.subject, c.brand]]);
      // The mapping keeps the mapped metadata key beside the cross-system id, nothing else.
      expect(r.stripe.customer?.data.metadata, c.name).toEqual({
        salesforce_account_id: c.sf,
        ...(c.tier !== null && { plan_tier: c.tier }),
      });
    }

    for (const c of COMPANIES) {
      const org = await until(`${c.name}'s organization`, () => {
        const o = zd.state.organizations.get(orgs.get(c)!);
        return o?.organization_fields['plan_tier'] === c.zendeskTier && o.organization_fields['billing_plan'] === c.plan
          ? o
          : undefined;
      });
      expect(org.organization_fields, c.name).toMatchObject({
        billing_status: 'active',
        billing_plan: c.plan,
        billing_delinquent: false,
        plan_tier: c.zendeskTier,
      });
      const account = await until(`${c.name}'s Account`, () => {
        const a = sf.state.get('Account', c.sf);
        return a?.['Plan_Tier__c'] === c.tier && a['Billing_Plan__c'] === c.plan && a['Open_Support_Tickets__c'] === 1
          ? a
          : undefined;
      });
      expect(account, c.name).toMatchObject({
        Billing_Status__c: 'active',
        Billing_Plan__c: c.plan,
        Plan_Tier__c: c.tier,
        Open_Support_Tickets__c: 1,
      });
      // Its invoice on its own organization and Account, its ticket on its own Account.
      expect(
        zd.state.customObjectRecords.get('portal_invoice')?.get(invoiceOf.get(c)!)?.custom_object_fields[
          'organization_id'
        ],
        c.name,
      ).toBe(String(orgs.get(c)));
      expect(
        sf.state.byExternalId('Portal_Invoice__c', 'Stripe_Invoice_Id__c', invoiceOf.get(c)!)?.['Account__c'],
        c.name,
      ).toBe(c.sf);
      const ticket = tickets.find(([owner]) => owner === c)![1];
      expect(sf.state.byExternalId('Support_Ticket__c', 'Zendesk_Ticket_Id__c', ticket), c.name).toMatchObject({
        Account__c: c.sf,
        Subject__c: c.subject,
      });
    }
    // The unlisted brand's ticket reached no portal.
    expect(sf.state.byExternalId('Support_Ticket__c', 'Zendesk_Ticket_Id__c', '9104')).toBeUndefined();
    expect(sf.state.count('Support_Ticket__c')).toBe(COMPANIES.length);
    // Every read of Stripe (settling version ties of the same second's events, when there are some) was of the
    // customer's own account, through its own key: its account's, or its platform's with Stripe-Account.
    expect([...eu.calls, ...connect.calls].filter((call) => call.status !== 200)).toEqual([]);
    for (const call of connect.calls.filter((x) => x.path.startsWith('/v1/invoices/'))) {
      const owner = COMPANIES.find((c) => invoiceOf.get(c) === call.path.split('/')[3]);
      expect(call.stripeAccount === null ? PLATFORM : call.stripeAccount, call.path).toBe(owner?.account);
    }
    for (const call of eu.calls.filter((x) => x.path.startsWith('/v1/invoices/')))
      expect(call.path).toBe(`/v1/invoices/${invoiceOf.get(ALPHA)}`);
    expect(await p.daemon.metrics.registry.metrics()).toMatch(
      /portal_sync_events_applied_total\{source="zendesk",outcome="other_brand"\} 1/,
    );
  }, 90_000);

  it('inspect tells the two cus_Same apart by account: the bare id lists both, the account-scoped one shows one', async () => {
    const env = {
      REDIS_URL: p.daemon.config.redis.url,
      REDIS_PREFIX: p.daemon.prefix,
      LOG_LEVEL: 'warn',
      ...stripeEnvOf(),
    };
    const both = await runCli(['inspect', 'cus_Same'], env);
    expect(both.code).toBe(1);
    expect(both.stderr.split('\n').slice(0, 3)).toEqual([
      'portal-sync: 2 Stripe accounts have a customer cus_Same; name one as acct_…:cus_Same:',
      expect.stringMatching(new RegExp(`^ {2}cust_\\w+ {2}Bravo Ltd {2}\\(${C1}:cus_Same\\)$`)),
      expect.stringMatching(new RegExp(`^ {2}cust_\\w+ {2}Charlie SAS {2}\\(${C2}:cus_Same\\)$`)),
    ]);
    const one = await runCli(['inspect', `${C2}:cus_Same`], env);
    expect(one.code, one.stderr).toBe(0);
    const lines = one.stdout.split('\n');
    expect(lines).toContain(`  stripe: cus_Same in Stripe account ${C2} (a connected account)`);
    expect(lines).toContain(`  ticket 9103: open (normal) ${CHARLIE.subject} [brand ${NORTHWIND}]`);
    expect(lines.find((l) => l.startsWith('  billing: '))).toMatch(
      /^ {2}billing: active on Charlie Max, MRR USD 99\.00/,
    );
    for (const other of [ALPHA, BRAVO, DELTA]) expect(one.stdout).not.toContain(other.name.split(' ')[0]);
  }, 90_000);

  it('resync --dry-run reads every account (eu, the platform, each connected account it lists) and finds nothing the webhooks missed', async () => {
    await p.drainAll();
    const [euCalls, connectCalls] = [eu.calls.length, connect.calls.length];
    const r = await runCli(['resync', '--source', 'stripe', '--dry-run', '--json'], {
      REDIS_URL: p.daemon.config.redis.url,
      REDIS_PREFIX: p.daemon.prefix,
      LOG_LEVEL: 'warn',
      ...stripeEnvOf(),
      STRIPE_API_HOST: '127.0.0.1',
      STRIPE_API_PORT: String(stripeApiPort),
      STRIPE_API_PROTOCOL: 'http',
    });
    expect(r.code, r.stderr).toBe(0);
    // Four customers, each with its subscription and invoice: 12 objects, and no change to any record.
    expect(r.json()).toEqual({ dryRun: true, read: 12, customers: [] });
    const lists = (calls: Array<{ path: string; status: number; stripeAccount?: string | null }>) =>
      calls.filter((c) => c.path === '/v1/customers').map((c) => [c.stripeAccount ?? null, c.status]);
    expect(lists(eu.calls.slice(euCalls))).toEqual([[null, 200]]);
    expect(new Set(lists(connect.calls.slice(connectCalls)).map((c) => JSON.stringify(c)))).toEqual(
      new Set([null, C1, C2].map((a) => JSON.stringify([a, 200]))),
    );
  }, 90_000);

  it('wrote nothing of one company to another: every Zendesk and Salesforce write checked against its owner', async () => {
    await p.drainAll();
    const sfWrites: Write[] = sf.calls
      .filter((c) => c.method !== 'GET' && c.body && typeof c.body === 'object' && !String(c.path).includes('oauth'))
      .map((c) => ({ method: c.method, path: c.path, body: c.body }));
    expect(zendeskWrites.length).toBeGreaterThan(0);
    expect(sfWrites.length).toBeGreaterThan(0);
    const checked = new Map<Company, number>();
    for (const [portal, writes] of [
      ['zendesk', zendeskWrites],
      ['salesforce', sfWrites],
    ] as const) {
      for (const w of writes) {
        for (const item of itemsOf(w)) {
          const owner =
            portal === 'zendesk'
              ? companyOfOrg(
                  item?.custom_object_fields?.organization_id ??
                    item?.id ??
                    w.path.match(/\/organizations\/(\d+)/)?.[1],
                )
              : companyOfAccount(item?.Account__c ?? item?.Id ?? w.path.match(/\/Account\/(?:Id\/)?(\w{15,18})/)?.[1]);
          expect(
            owner,
            `${portal} ${w.method} ${w.path}: a write for no company of the test: ${JSON.stringify(item)}`,
          ).toBeDefined();
          const text = JSON.stringify(item);
          for (const other of COMPANIES.filter((c) => c !== owner)) {
            for (const marker of markersOf(other))
              expect(
                text.includes(marker),
                `${portal} ${w.method} ${w.path} for ${owner!.name} carries ${other.name}'s "${marker}"`,
              ).toBe(false);
          }
          checked.set(owner!, (checked.get(owner!) ?? 0) + 1);
        }
      }
    }
    // Every company was written to (so the check above saw each one's writes), and no write slipped past it.
    for (const c of COMPANIES) expect(checked.get(c) ?? 0, c.name).toBeGreaterThan(0);
  });
});
