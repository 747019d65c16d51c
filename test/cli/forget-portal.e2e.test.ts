/**
 * `identity forget --portal clear|keep`, end to end: customers resynced from the Stripe, Zendesk and
 * Salesforce stand-ins are pushed to both portal stand-ins by the real SDKs; then the CLI, run as an
 * operator runs it, takes back what was pushed for one customer (organization and Account billing
 * fields emptied, invoice and ticket records deleted through the platforms' real delete endpoints, the
 * self-service deflection events portal-sync recorded deleted: on Zendesk with portal-sync's own profile
 * they were filed under, another application's profile of the same person staying; on Salesforce the
 * Portal_Deflection_Event__c records on the Account),
 * reports a failed call by target and item, is safe to run again, and leaves every other customer's
 * data, the organization and the Account alone. With the default `keep`, the portal data stays until
 * a later `--portal clear`. A later resync does not push the forgotten customer again.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPortals, seedLinkedCustomers, type SeededCustomer } from '../../bench/lib/resync-seed.js';
import type { Config } from '../../src/config.js';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { createZendeskClient, zendeskRequest } from '../../src/connectors/zendesk/client.js';
import type { DeflectionEvent } from '../../src/sync/deflection/types.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startStripeStandIn, type StripeStandIn } from '../../src/demo/standins/stripe/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { runCli } from '../support/cli.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { standInTargetsEnv } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { bulkPushesSettled, resyncThrough } from '../support/resync.js';

const hourAgo = Date.now() - 3600_000;
const updatedAt = (i: number) => new Date(hourAgo + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

let zd: ZendeskStandIn;
let sf: SalesforceStandIn;
let stripe: StripeStandIn;
let p: TestPipeline;
let redis: Redis;
let customers: SeededCustomer[];
let cli: Record<string, string>;

const tweak = (c: Config) => {
  c.resync.zendeskExportsPerMinute = 6000;
  c.push.debounceMs = 50;
};

async function resync(): Promise<void> {
  await resyncThrough(p, ['stripe', 'salesforce', 'zendesk']);
  await p.drain(30_000);
  await bulkPushesSettled(p, redis);
}

/** A decided self-service session of the customer's contact, as the deflection tracker hands it to the targets. */
const sessionOf = (c: SeededCustomer, customerId: string): DeflectionEvent => ({
  id: `defl-s${c.i}`,
  customerId,
  sessionId: `s${c.i}`,
  contact: c.email,
  outcome: 'deflected',
  category: 'billing',
  sessionStartedAt: new Date(hourAgo).toISOString(),
  decidedAt: new Date(hourAgo + 60_000).toISOString(),
  lastActivity: { type: 'invoice_downloaded', at: new Date(hourAgo + 30_000).toISOString() },
});

/** Another application files its own events for the same person: never portal-sync's to delete. */
const OTHER_SOURCE = 'shop';

/** Records every customer's deflection on both portals through the targets, and another source's event on Zendesk. */
async function recordDeflections(): Promise<void> {
  const config = p.daemon.config;
  const targets = (['zendesk', 'salesforce'] as const).map((name) => createPortalTarget(name, config));
  const client = createZendeskClient(config.zendesk);
  for (const c of customers) {
    const record = (await p.worker.store.findByKey(`sfacct:${c.accountId}`))!;
    for (const target of targets)
      expect((await target.recordDeflection!(sessionOf(c, record.id), record.derived.links)).wrote).toEqual([
        `deflection:defl-s${c.i}`,
      ]);
    await zendeskRequest(client, 'POST', ['user_profiles', 'events'], {
      profile: { source: OTHER_SOURCE, type: 'customer', identifiers: [{ type: 'email', value: c.email }] },
      event: { source: OTHER_SOURCE, type: 'order_placed', properties: {} },
    });
  }
}

/** portal-sync's own Zendesk profile of the customer's email (where its deflection events are filed). */
function ownProfileId(c: SeededCustomer): string | undefined {
  const own = p.daemon.config.targets.zendesk.profileEventSource;
  return [...zd.state.profiles.values()].find(
    (pr) =>
      pr.source === own &&
      pr.identifiers.some((i) => i.type === 'email' && i.value.toLowerCase() === c.email.toLowerCase()),
  )?.id;
}

/** What the portals hold for one customer, as the stand-ins keep it. */
function portalData(c: SeededCustomer) {
  const t = p.daemon.config.targets;
  const email = c.email.toLowerCase();
  const byEmail = (ids: ReadonlyArray<{ type: string; value: string }>) =>
    ids.some((i) => i.type === 'email' && i.value.toLowerCase() === email);
  const events = zd.state.profileEvents.filter((e) => byEmail(e.profile.identifiers));
  const org = zd.state.organizations.get(c.orgId)!;
  const zdInvoices = [...(zd.state.customObjectRecords.get(t.zendesk.invoiceObject.key)?.values() ?? [])].filter(
    (r) => r.custom_object_fields[t.zendesk.invoiceObject.fields.organization] === String(c.orgId),
  );
  const sfRecords = (object: string) =>
    [...sf.state.table(sf.state.object(object)).values()].filter(
      (r) => r[t.salesforce.invoice.fields.account] === c.accountId,
    );
  const account = sf.state.get('Account', c.accountId);
  return {
    orgFields: Object.values(t.zendesk.fields).map((k) => org.organization_fields[k] ?? null),
    zdInvoices: zdInvoices.map((r) => r.external_id),
    accountFields: account ? Object.values(t.salesforce.accountFields).map((k) => account[k] ?? null) : null,
    sfInvoices: sfRecords(t.salesforce.invoice.object).map((r) => r[t.salesforce.invoice.externalId]),
    sfTickets: sfRecords(t.salesforce.ticket.object).map((r) => r[t.salesforce.ticket.externalId]),
    /** Deflection events on the contact's Zendesk profiles, by source. */
    zdEvents: events.map((e) => `${e.profile.source}:${e.event.type}`).sort(),
    zdProfiles: [...zd.state.profiles.values()]
      .filter((pr) => byEmail(pr.identifiers))
      .map((pr) => pr.source)
      .sort(),
    sfDeflections: [...sf.state.table(sf.state.object(t.salesforce.deflection.object)).values()]
      .filter((r) => r['Account__c'] === c.accountId)
      .map((r) => r[t.salesforce.deflection.externalId]),
  };
}

/** Everything portal-sync pushed is gone; the organization's and Account's own data and the other source's profile stay. */
const CLEARED = (cfg: Config) => ({
  orgFields: EMPTY_ORG(cfg),
  zdInvoices: [],
  accountFields: EMPTY_ACCOUNT(cfg),
  sfInvoices: [],
  sfTickets: [],
  zdEvents: [`${OTHER_SOURCE}:order_placed`],
  zdProfiles: [OTHER_SOURCE],
  sfDeflections: [],
});

const EMPTY_ORG = (cfg: Config) => Object.values(cfg.targets.zendesk.fields).map(() => null);
/** The Account fields cleared: all null, the delinquent checkbox false. */
const EMPTY_ACCOUNT = (cfg: Config) =>
  Object.entries(cfg.targets.salesforce.accountFields).map(([role]) => (role === 'delinquent' ? false : null));

beforeAll(async () => {
  zd = await startZendeskStandIn({ exportLagSeconds: 60 });
  sf = await startSalesforceStandIn({ orgId: TEST_SECRETS.SALESFORCE_ORG_ID });
  stripe = await startStripeStandIn();
  p = await startTestPipeline({ ...standInTargetsEnv(zd, sf), ...stripe.env }, tweak, createPortalTarget);
  redis = new Redis(p.daemon.config.redis.url);
  provisionPortals(zd, sf, p.daemon.config.targets);
  customers = seedLinkedCustomers(zd, sf, stripe, { count: 3, updatedAt });
  cli = { REDIS_URL: p.daemon.config.redis.url, REDIS_PREFIX: p.daemon.prefix, ...standInTargetsEnv(zd, sf) };
  await resync();
  await recordDeflections();
}, 120_000);

afterAll(async () => {
  redis?.disconnect();
  await p?.stop();
  await Promise.all([zd?.close(), sf?.close(), stripe?.close()]);
});

describe('identity forget --portal', { timeout: 300_000 }, () => {
  it('says in --help that keep is the default and what clear takes back, and refuses another mode as bad usage', async () => {
    const help = await runCli(['identity', 'forget', '--help']);
    expect(help.stdout).toMatch(
      /--portal <mode>\s+what was pushed to the portal targets: clear \(take it back\)\s+or keep \(choices: "clear", "keep", default: "keep"\)/,
    );
    expect(help.stdout).toContain('--portal keep (the default) leaves on the portals what portal-sync pushed there.');
    const bad = await runCli(
      ['identity', 'forget', 'ann@example.com', '--reason', 'x', '--yes', '--portal', 'delete'],
      cli,
    );
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toMatch(
      /^error: option '--portal <mode>' argument 'delete' is invalid. Allowed choices are clear, keep.\n/,
    );
  });

  it('clear takes back what was pushed for the customer on Zendesk and Salesforce, reports a failed call, and is safe to run again', async () => {
    const [ann, bob] = customers as [SeededCustomer, SeededCustomer];
    const cfg = p.daemon.config;
    const before = portalData(ann);
    // Sanity: everything the targets write for Ann is there.
    expect(before.orgFields).not.toEqual(EMPTY_ORG(cfg));
    expect(before.zdInvoices).toEqual([ann.invoiceId]);
    expect(before.sfInvoices).toEqual([ann.invoiceId]);
    expect(before.sfTickets).toEqual([String(ann.ticketId)]);
    expect(before).toMatchObject({
      zdEvents: ['portal_sync:self_service_deflected', `${OTHER_SOURCE}:order_placed`],
      zdProfiles: ['portal_sync', OTHER_SOURCE],
      sfDeflections: [`defl-s${ann.i}`],
    });
    const annProfile = ownProfileId(ann)!;
    const bobBefore = portalData(bob);
    expect(bobBefore.zdInvoices).toEqual([bob.invoiceId]);
    expect(bobBefore).toMatchObject({ zdProfiles: ['portal_sync', OTHER_SOURCE], sfDeflections: [`defl-s${bob.i}`] });
    const recordId = (await p.worker.store.findByKey(`sfacct:${ann.accountId}`))!.id;
    expect(
      await redis.exists(
        `${p.daemon.prefix}:pushed:zendesk:${recordId}`,
        `${p.daemon.prefix}:pushed:salesforce:${recordId}`,
      ),
    ).toBe(2);

    // Zendesk refuses the first write (the organization update); the rest goes on.
    zd.failNext(1, 500);
    const first = await runCli(
      ['identity', 'forget', ann.email, '--reason', 'erasure request #88', '--yes', '--portal', 'clear'],
      cli,
    );
    expect(first.code).toBe(1);
    const lines = first.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^forgot ${recordId}: released \\d+ identity key\\(s\\);`));
    expect(lines[1]).toBe(
      `portal zendesk: cleared 2 (invoice:${ann.invoiceId}, deflection_profile:${annProfile}); 0 already gone`,
    );
    expect(lines[2]).toBe(
      `portal salesforce: cleared 4 (account_fields:${ann.accountId}, invoice:${ann.invoiceId}, ticket:${ann.ticketId}, deflection:defl-s${ann.i}); 0 already gone`,
    );
    expect(first.stderr).toBe(
      `portal-sync: portal zendesk: 1 not cleared: organization_fields:${ann.orgId}: Zendesk 500: InternalServerError: Internal Server Error\n` +
        `portal-sync: what is left on the portal is kept in the plan: run \`portal-sync identity forget ${ann.email} --portal clear --reason … --yes\` again (what is already gone is skipped)\n`,
    );
    const mid = portalData(ann);
    expect(mid.orgFields).toEqual(before.orgFields);
    const { orgFields: _left, ...cleared } = CLEARED(cfg);
    expect(mid).toMatchObject(cleared);

    // Run again: the record is gone, the plan kept beside the tombstone finishes the job; deleted records are "already gone".
    const again = await runCli(
      ['identity', 'forget', ann.email, '--reason', 'erasure request #88', '--yes', '--portal', 'clear'],
      cli,
    );
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      `${ann.email} was forgotten before: swept again, removed 0 job(s), 0 key(s), 0 entr(ies)\n` +
        `portal zendesk: cleared 1 (organization_fields:${ann.orgId}); 2 already gone\n` +
        `portal salesforce: cleared 1 (account_fields:${ann.accountId}); 2 already gone\n`,
    );
    expect(portalData(ann)).toEqual(CLEARED(cfg));
    // The organization and the Account themselves stay, and so do Ann's Zendesk user and Bob's data.
    expect(zd.state.organizations.get(ann.orgId)).toBeDefined();
    expect(sf.state.get('Account', ann.accountId)).toBeDefined();
    expect(zd.state.users.get(ann.userId)).toBeDefined();
    expect(portalData(bob)).toEqual(bobBefore);
    // Nothing is left to push it again: the accepted-push state is gone with the record.
    expect(
      await redis.exists(
        `${p.daemon.prefix}:pushed:zendesk:${recordId}`,
        `${p.daemon.prefix}:pushed:salesforce:${recordId}`,
      ),
    ).toBe(0);

    const third = await runCli(
      ['identity', 'forget', ann.email, '--reason', 'erasure request #88', '--yes', '--portal', 'clear'],
      cli,
    );
    expect(third).toMatchObject({
      code: 0,
      stderr: '',
      stdout: `${ann.email} was forgotten before: swept again, removed 0 job(s), 0 key(s), 0 entr(ies)\nportal: nothing of it is left to clear\n`,
    });
  });

  it('keep (the default) leaves the portal data until a later --portal clear, which --json reports', async () => {
    const carol = customers[2]!;
    const cfg = p.daemon.config;
    const before = portalData(carol);
    const kept = await runCli(['identity', 'forget', carol.email, '--reason', 'gone from every source', '--yes'], cli);
    expect(kept.stderr).toBe('');
    expect(kept.code).toBe(0);
    expect(kept.stdout.split('\n')[1]).toBe(
      `portal: kept what was pushed to zendesk and salesforce; \`portal-sync identity forget ${carol.email} --portal clear --reason … --yes\` takes it back (within 30 days)`,
    );
    expect(portalData(carol)).toEqual(before);
    expect(before).toMatchObject({ zdProfiles: ['portal_sync', OTHER_SOURCE], sfDeflections: [`defl-s${carol.i}`] });
    const carolProfile = ownProfileId(carol)!;

    const cleared = await runCli(
      [
        'identity',
        'forget',
        `zendesk:org:${carol.orgId}`,
        '--reason',
        'erasure request #89',
        '--yes',
        '--portal',
        'clear',
        '--json',
      ],
      cli,
    );
    expect(cleared.stderr).toBe('');
    expect(cleared.code).toBe(0);
    expect(cleared.json()).toEqual({
      forgottenBefore: true,
      sweep: null,
      remaining: [],
      portal: {
        mode: 'clear',
        targets: ['zendesk', 'salesforce'],
        pending: false,
        unlocated: [],
        cleared: [
          {
            target: 'zendesk',
            calls: 5,
            cleared: [
              `organization_fields:${carol.orgId}`,
              `invoice:${carol.invoiceId}`,
              `deflection_profile:${carolProfile}`,
            ],
            absent: [],
            failed: [],
          },
          {
            target: 'salesforce',
            calls: 7,
            cleared: [
              `account_fields:${carol.accountId}`,
              `invoice:${carol.invoiceId}`,
              `ticket:${carol.ticketId}`,
              `deflection:defl-s${carol.i}`,
            ],
            absent: [],
            failed: [],
          },
        ],
      },
    });
    expect(portalData(carol)).toEqual(CLEARED(cfg));
  });

  it('a later resync pushes nothing of the forgotten customers again', async () => {
    const [ann, bob, carol] = customers as [SeededCustomer, SeededCustomer, SeededCustomer];
    const bobBefore = portalData(bob);
    const dropped = Number((await redis.get(`${p.daemon.prefix}:forgotten:dropped`)) ?? 0);
    await resync();
    expect(Number(await redis.get(`${p.daemon.prefix}:forgotten:dropped`))).toBeGreaterThan(dropped);
    const cfg = p.daemon.config;
    for (const c of [ann, carol]) expect(portalData(c)).toEqual(CLEARED(cfg));
    expect(portalData(bob)).toEqual(bobBefore);
  });
});
