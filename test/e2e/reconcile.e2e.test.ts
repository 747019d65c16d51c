/**
 * The reconciler repairs lost webhooks. Two daemons read the same Zendesk
 * and Salesforce stand-ins: one gets every ticket webhook, the other loses
 * 5% of them on the way in. After one reconcile pass the lossy one shows
 * what the lossless one shows, and the drift it found is reported — by
 * count and by object — in the pass's report and in `status`.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatus } from '../../src/sync/admin/status.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { seededRandom } from '../../src/demo/standins/common.js';
import { sendZendesk } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { resyncThrough } from '../support/resync.js';
import { seedCustomers, visibleRecord, type SeededCustomer } from './resync-support.js';

const N = 60;
let sf: SalesforceStandIn;
let zd: ZendeskStandIn;
let lossless: TestPipeline;
let lossy: TestPipeline;
let customers: SeededCustomer[];
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function baseline(p: TestPipeline): Promise<void> {
  const { summary } = await resyncThrough(p, ['zendesk', 'salesforce']);
  expect(summary.counts.applied).toBe(5 * N);
}

/** The webhook Zendesk sends when a ticket's status changes, for the stand-in's ticket as it is now. */
async function ticketWebhook(p: TestPipeline, ticketId: number, n: number): Promise<void> {
  const t = zd.state.tickets.get(ticketId)!;
  await sendZendesk(p.daemon, 'ticket.status_changed.json', (e) => {
    e.id = `zen-status-${ticketId}-${n}`;
    e.time = t.updated_at;
    e.detail = {
      id: String(t.id),
      subject: t.subject,
      status: t.status.toUpperCase(),
      priority: t.priority?.toUpperCase() ?? null,
      tags: t.tags,
      requester_id: String(t.requester_id),
      organization_id: String(t.organization_id),
      form_id: t.ticket_form_id === null ? null : String(t.ticket_form_id),
      created_at: t.created_at,
      updated_at: t.updated_at,
    };
    e.event = { current: t.status.toUpperCase(), previous: 'OPEN' };
  });
}

beforeAll(async () => {
  sf = await startSalesforceStandIn({});
  zd = await startZendeskStandIn({ exportLagSeconds: 60 });
  const hourAgo = Date.now() - 3600_000;
  customers = seedCustomers(sf, zd, N, (i) => iso(hourAgo + i * 1000));
  const env = {
    ZENDESK_BASE_URL: zd.baseUrl,
    ZENDESK_EMAIL: 'agent@example.com',
    ZENDESK_API_TOKEN: 'zd-token-0123456789abcdef',
    SALESFORCE_INSTANCE_URL: sf.instanceUrl,
    SALESFORCE_ACCESS_TOKEN: sf.accessToken,
  };
  const tweak = (c: { resync: { zendeskExportsPerMinute: number } }) => void (c.resync.zendeskExportsPerMinute = 6000);
  lossless = await startTestPipeline(env, tweak);
  lossy = await startTestPipeline(env, tweak);
  await baseline(lossless);
  await baseline(lossy);
}, 60_000);

afterAll(async () => {
  await lossless?.stop();
  await lossy?.stop();
  await sf?.close();
  await zd?.close();
});

describe('reconciler', () => {
  it('repairs the 5% of webhooks that were lost, reports the drift, and finds none on the next pass', async () => {
    const seed = 20261123;
    const random = seededRandom(seed);
    const changedAt = Date.now() - 5 * 60_000;
    const dropped: number[] = [];
    for (const c of customers) {
      const t = zd.state.tickets.get(c.ticketId)!;
      t.status = 'pending';
      t.updated_at = iso(changedAt + c.i * 1000);
      t.generated_timestamp = Math.floor((changedAt + c.i * 1000) / 1000);
      await ticketWebhook(lossless, c.ticketId, 1);
      if (random() < 0.05 || (dropped.length === 0 && c.i === N - 1)) dropped.push(c.i);
      else await ticketWebhook(lossy, c.ticketId, 1);
    }
    // And one Salesforce Account renamed without any Outbound Message reaching either daemon.
    const renamed = customers[5]!;
    sf.state.update('Account', renamed.accountId, { Name: 'Customer 5 (renamed)' });
    await Promise.all([lossless.drain(), lossy.drain()]);
    expect(dropped.length, `seed ${seed}`).toBeGreaterThan(0);
    for (const i of dropped)
      expect(await visibleRecord(lossy.worker.store, customers[i]!)).not.toEqual(
        await visibleRecord(lossless.worker.store, customers[i]!),
      );

    const report = await lossy.worker.reconciler.pass();
    expect(report.drift).toBe(dropped.length + 1);
    expect(report.sources.zendesk?.drift).toBe(dropped.length);
    expect(report.sources.salesforce?.drift).toBe(1);
    expect(report.driftIds).toEqual(
      expect.arrayContaining([
        ...dropped.map((i) => `zendesk zendesk.ticket ${customers[i]!.ticketId}`),
        `salesforce salesforce.account ${renamed.accountId}`,
      ]),
    );
    await lossy.drain();
    await lossless.worker.reconciler.pass(); // the lossless daemon learns the rename the same way
    await lossless.drain();

    for (const c of customers)
      expect(await visibleRecord(lossy.worker.store, c), `customer ${c.i}`).toEqual(
        await visibleRecord(lossless.worker.store, c),
      );
    expect(((await visibleRecord(lossy.worker.store, renamed)) as any).profile.name).toBe('Customer 5 (renamed)');

    // status shows the pass; the next pass (from the checkpoint, minus the overlap) finds nothing missing.
    const redis = new Redis(lossy.daemon.config.redis.url);
    try {
      const status = await readStatus(redis, lossy.daemon.config);
      expect(status.reconcile).toMatchObject({ drift: dropped.length + 1 });
      const again = await lossy.worker.reconciler.pass();
      expect(again.drift).toBe(0);
      expect((await readStatus(redis, lossy.daemon.config)).reconcile).toMatchObject({ drift: 0 });
    } finally {
      redis.disconnect();
    }
  });
});
