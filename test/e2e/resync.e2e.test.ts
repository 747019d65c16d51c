/**
 * Resync end to end: the real SDKs read the Zendesk and Salesforce
 * stand-ins page by page (incremental exports by time and cursor, keyset
 * SOQL), snapshots go through the real queue, worker, identity and merge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshotStreams } from '../../src/connectors/resync.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { DryRun } from '../../src/sync/resync/dry-run.js';
import { Redis } from 'ioredis';
import { sendZendesk } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { resyncThrough } from '../support/resync.js';
import { seedCustomers, visibleRecord, type SeededCustomer } from './resync-support.js';

const N = 240;
let sf: SalesforceStandIn;
let zd: ZendeskStandIn;
let p: TestPipeline;
let customers: SeededCustomer[];
const hourAgo = Date.now() - 3600_000;
const at = (i: number) => new Date(hourAgo + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const env = () => ({
  ZENDESK_BASE_URL: zd.baseUrl,
  ZENDESK_EMAIL: 'agent@example.com',
  ZENDESK_API_TOKEN: 'zd-token-0123456789abcdef',
  SALESFORCE_INSTANCE_URL: sf.instanceUrl,
  SALESFORCE_ACCESS_TOKEN: sf.accessToken,
});

async function resync(sources: Array<'zendesk' | 'salesforce'>, since: Date | null = null) {
  return (await resyncThrough(p, sources, since)).summary;
}

async function customerCount(): Promise<number> {
  const redis = new Redis(p.daemon.config.redis.url);
  try {
    return await redis.scard(`${p.daemon.prefix}:customers`);
  } finally {
    redis.disconnect();
  }
}

beforeAll(async () => {
  sf = await startSalesforceStandIn({});
  zd = await startZendeskStandIn({ exportLagSeconds: 60 });
  customers = seedCustomers(sf, zd, N, at);
  p = await startTestPipeline(env(), (c) => {
    c.resync.zendeskExportsPerMinute = 6000;
    c.resync.salesforcePageSize = 200;
  });
}, 30_000);

afterAll(async () => {
  await p?.stop();
  await sf?.close();
  await zd?.close();
});

describe('resync from the Zendesk and Salesforce stand-ins', () => {
  it('reads every page once and builds one linked record per customer', async () => {
    const summary = await resync(['zendesk', 'salesforce']);
    expect(summary.complete).toBe(true);
    // 240 each of accounts, contacts, organizations, users, tickets.
    expect(summary.counts.read).toBe(5 * N);
    expect(summary.counts.enqueued).toBe(5 * N);
    expect(summary.counts.applied).toBe(5 * N);
    expect(summary.counts.failed).toBe(0);
    expect(summary.counts.conflicts).toBe(0);
    const byStream = Object.fromEntries(summary.streams.map((s) => [s.stream, s]));
    // 240 Accounts at 200 per keyset query: 2 pages; exports hold up to 1000 per page.
    expect(byStream['salesforce.accounts']).toMatchObject({ pages: 2, read: N, done: true });
    expect(byStream['zendesk.organizations']).toMatchObject({ pages: 1, read: N, done: true });

    expect(await customerCount()).toBe(N);
    for (const c of [customers[0]!, customers[101]!, customers[N - 1]!]) {
      const seen = (await visibleRecord(p.worker.store, c)) as any;
      expect(seen.links).toMatchObject({ salesforceAccountId: c.accountId, zendeskOrganizationId: String(c.orgId) });
      expect(seen.links.contacts).toEqual([
        expect.objectContaining({ email: c.email, salesforceContactId: c.contactId, zendeskUserId: String(c.userId) }),
      ]);
      expect(seen.support.tickets).toEqual([
        expect.objectContaining({ id: String(c.ticketId), status: c.i % 3 === 0 ? 'solved' : 'open' }),
      ]);
    }
  });

  it('a second resync of unchanged sources changes nothing', async () => {
    const before = await visibleRecord(p.worker.store, customers[7]!);
    const summary = await resync(['zendesk', 'salesforce']);
    expect(summary.counts.applied).toBe(5 * N);
    expect(summary.counts.changed).toBe(0);
    expect(await visibleRecord(p.worker.store, customers[7]!)).toEqual(before);
  });

  it('a snapshot older than applied webhook data changes nothing; a newer source object does', async () => {
    const c = customers[12]!;
    // A webhook newer than the stand-in's ticket: the ticket was solved a minute ago.
    await sendZendesk(p.daemon, 'ticket.status_changed.json', (e) => {
      e.id = 'zen-newer-than-snapshot';
      e.time = new Date(Date.now() - 60_000).toISOString();
      e.detail.id = String(c.ticketId);
      e.detail.organization_id = String(c.orgId);
      e.detail.requester_id = String(c.userId);
      e.detail.status = 'SOLVED';
      e.detail.updated_at = e.time;
      e.event = { current: 'SOLVED', previous: 'OPEN' };
    });
    await p.drain();
    const solved = (await visibleRecord(p.worker.store, c)) as any;
    expect(solved.support.tickets[0].status).toBe('solved');

    // The dry run sees nothing to change for it: the snapshot (status open, an hour old) is older.
    const dry = new DryRun(p.worker.store);
    const streams = await createSnapshotStreams(p.daemon.config, { sources: ['zendesk'], since: null });
    const tickets = streams.find((s) => s.name === 'zendesk.tickets')!;
    const page = await tickets.page(null);
    const ticketEvent = page.events.find((e) => e.objectId === String(c.ticketId))!;
    expect(await dry.preview(ticketEvent)).toBeNull();

    const summary = await resync(['zendesk']);
    expect(summary.counts.changed).toBe(0);
    expect(((await visibleRecord(p.worker.store, c)) as any).support.tickets[0].status).toBe('solved');

    // A change in the source that no webhook reported: the dry run lists it, then a resync applies it.
    const other = customers[13]!;
    zd.state.tickets.get(other.ticketId)!.status = 'pending';
    zd.state.tickets.get(other.ticketId)!.updated_at = new Date(Date.now() - 120_000)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    zd.state.tickets.get(other.ticketId)!.generated_timestamp = Math.floor((Date.now() - 120_000) / 1000);
    const page2 = await (
      await createSnapshotStreams(p.daemon.config, { sources: ['zendesk'], since: null })
    )
      .find((s) => s.name === 'zendesk.tickets')!
      .page(null);
    const diff = await new DryRun(p.worker.store).preview(
      page2.events.find((e) => e.objectId === String(other.ticketId))!,
    );
    expect(diff?.changes).toContainEqual({
      field: `tickets[${other.ticketId}].status`,
      from: other.i % 3 === 0 ? 'solved' : 'open',
      to: 'pending',
    });
    const applied = await resync(['zendesk'], new Date(Date.now() - 10 * 60_000));
    expect(applied.counts.read).toBe(1); // only what changed in the last ten minutes
    expect(applied.counts.changed).toBe(1);
    expect(((await visibleRecord(p.worker.store, other)) as any).support.tickets[0].status).toBe('pending');
  });
});
