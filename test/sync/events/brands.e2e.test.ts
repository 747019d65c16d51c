/**
 * A deployment restricted to some Zendesk brands (zendesk.brands), end to end over HTTP on the real Redis:
 * another brand's tickets are acknowledged, skipped and counted, never applied; its own brand's are applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectRecord } from '../../../src/sync/admin/inspect.js';
import { sendZendesk } from '../../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../../support/pipeline.js';

const ORG = '7000000000777';
const A = '360000000001';
const B = '360000000002';
let p: TestPipeline;

beforeAll(async () => {
  p = await startTestPipeline({}, (c) => {
    c.zendesk.brands = [{ id: A, name: 'Acme', hosts: [] }];
  });
});
afterAll(async () => {
  await p.stop();
});

const ticketOf = (id: string, brand: string | null) => (e: any) => {
  e.id = `brand-test-${id}`;
  e.detail.id = id;
  e.detail.organization_id = ORG;
  if (brand === null) delete e.detail.brand_id;
  else e.detail.brand_id = brand;
};

describe('a deployment that serves one brand', () => {
  it("answers another brand's ticket 200 and skips it visibly (counted), applying only its own brand's", async () => {
    await sendZendesk(p.daemon, 'organization.created.json', (e) => {
      e.detail.id = ORG;
      e.detail.external_id = null;
    });
    await sendZendesk(p.daemon, 'ticket.status_changed.json', ticketOf('9101', A));
    await sendZendesk(p.daemon, 'ticket.status_changed.json', ticketOf('9102', B));
    await sendZendesk(p.daemon, 'ticket.status_changed.json', ticketOf('9103', null));
    await p.drain();

    const { record } = await inspectRecord(p.worker.store, `zendesk:org:${ORG}`);
    expect(record.derived.support?.tickets.map((t) => [t.id, t.brandId])).toEqual([['9101', A]]);
    expect(Object.keys(record.zendesk.tickets)).toEqual(['9101']);

    const metrics = await p.daemon.metrics.registry.metrics();
    expect(metrics).toMatch(/portal_sync_events_applied_total\{source="zendesk",outcome="other_brand"\} 1/);
    expect(metrics).toMatch(/portal_sync_events_applied_total\{source="zendesk",outcome="no_brand"\} 1/);
  });
});
