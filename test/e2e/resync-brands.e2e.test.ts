/**
 * Resync in a deployment restricted to one Zendesk brand: the real SDK reads the stand-in's tickets with
 * their brand_id (incremental export), the worker applies its own brand's and skips the other brand's,
 * counted — the same rule as for webhooks, whichever way an event arrives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectRecord } from '../../src/sync/admin/inspect.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { resyncThrough } from '../support/resync.js';

let zd: ZendeskStandIn;
let p: TestPipeline;
let org: number;
let tickets: { acme: number; globex: number };
const at = new Date(Date.now() - 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

beforeAll(async () => {
  zd = await startZendeskStandIn({ exportLagSeconds: 60 });
  const acme = zd.seedBrand({ name: 'Acme', subdomain: 'acme' });
  const globex = zd.seedBrand({ name: 'Globex', subdomain: 'globex' });
  org = zd.seedOrganization({ name: 'Both brands Inc', created_at: at, updated_at: at }).id;
  const user = zd.seedUser({
    name: 'Buyer',
    email: 'buyer@both.example',
    organization_id: org,
    created_at: at,
    updated_at: at,
  });
  tickets = {
    // No brand given: Zendesk's default brand, the first one (Acme).
    acme: zd.seedTicket({
      subject: 'Acme question',
      requester_id: user.id,
      organization_id: org,
      created_at: at,
      updated_at: at,
    }).id,
    globex: zd.seedTicket({
      subject: 'Globex question',
      brand_id: globex.id,
      requester_id: user.id,
      organization_id: org,
      created_at: at,
      updated_at: at,
    }).id,
  };
  p = await startTestPipeline(
    {
      ZENDESK_BASE_URL: zd.baseUrl,
      ZENDESK_EMAIL: 'agent@example.com',
      ZENDESK_API_TOKEN: 'zd-token-0123456789abcdef',
    },
    (c) => {
      c.resync.zendeskExportsPerMinute = 6000;
      c.zendesk.brands = [{ id: String(acme.id), name: 'Acme', hosts: [] }];
    },
  );
}, 30_000);

afterAll(async () => {
  await p?.stop();
  await zd?.close();
});

describe('resync of a deployment that serves one brand', () => {
  it("applies its brand's tickets with their brand and skips the other brand's, counted", async () => {
    await resyncThrough(p, ['zendesk']);
    await p.drain();

    const { record } = await inspectRecord(p.worker.store, `zendesk:org:${org}`);
    const acmeId = p.daemon.config.zendesk.brands![0]!.id;
    expect(record.derived.support?.tickets.map((t) => [t.id, t.brandId])).toEqual([[String(tickets.acme), acmeId]]);
    expect(record.zendesk.tickets[String(tickets.globex)]).toBeUndefined();
    expect(await p.daemon.metrics.registry.metrics()).toMatch(
      /portal_sync_events_applied_total\{source="zendesk",outcome="other_brand"\} 1/,
    );
  });
});
