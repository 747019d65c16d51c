/**
 * Faults on the portal side, end to end: the real node-zendesk SDK against
 * the Zendesk stand-in answering 429 (with Retry-After) past its own limit
 * and 500/503/resets on a share of calls, during 1,000 events. The portal
 * must end up exactly as in a run without faults, and our own configured
 * rate must never be exceeded.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseStripeEvent } from '../../src/connectors/stripe/events.js';
import { createPortalTarget } from '../../src/connectors/targets.js';
import type { SourceEvent } from '../../src/sync/events/source-event.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { fixtureJson } from '../support/http.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { seedZendeskSetup, zendeskTargetEnv } from '../support/zendesk-setup.js';

const CUSTOMERS = 50;
const INVOICES_PER_CUSTOMER = 19; // + one customer event each: 1,000 events
const OUR_RATE = { max: 40, perMs: 1_000 };
const running: Array<{ stop(): Promise<void> }> = [];

function eventsFor(orgIds: number[]): SourceEvent[] {
  const out: SourceEvent[] = [];
  orgIds.forEach((orgId, c) => {
    const customer = fixtureJson<any>('stripe/customer.created.json');
    customer.id = `evt_fault_c${c}`;
    customer.data.object.id = `cus_fault_${c}`;
    customer.data.object.email = `billing${c}@fault.example`;
    customer.data.object.metadata = { zendesk_organization_id: String(orgId) };
    const parsed = parseStripeEvent(customer);
    if (parsed.kind === 'events') out.push(...parsed.events);
    for (let i = 0; i < INVOICES_PER_CUSTOMER; i++) {
      const invoice = fixtureJson<any>('stripe/invoice.finalized.json');
      invoice.id = `evt_fault_c${c}_i${i}`;
      invoice.created += i;
      invoice.data.object.id = `in_fault_${c}_${i}`;
      invoice.data.object.number = `F-${c}-${i}`;
      invoice.data.object.customer = `cus_fault_${c}`;
      const r = parseStripeEvent(invoice);
      if (r.kind === 'events') out.push(...r.events);
    }
  });
  return out;
}

async function run(faulty: boolean): Promise<{ zd: ZendeskStandIn; p: TestPipeline }> {
  const zd = await startZendeskStandIn(
    faulty ? { rate: { max: 8, perMs: 1_000 }, faults: { rate: 0.15, kinds: ['500', '503', 'reset'], seed: 7 } } : {},
  );
  const orgIds = Array.from({ length: CUSTOMERS }, (_, c) => zd.seedOrganization({ name: `Fault Co ${c}` }).id);
  seedZendeskSetup(zd);
  const p = await startTestPipeline(
    {
      ...zendeskTargetEnv(zd),
    },
    (c) => {
      c.push.debounceMs = 100;
      c.push.backoffMs = 50;
      c.targets.zendesk.rate = OUR_RATE;
    },
    createPortalTarget,
  );
  running.push(p, { stop: () => zd.close() });
  const events = eventsFor(orgIds);
  expect(events).toHaveLength(1_000);
  // Delivered in bursts, interleaved across customers, as webhooks would arrive.
  for (let i = 0; i < events.length; i += 100) await p.daemon.ingestor.enqueue(events.slice(i, i + 100));
  await p.drain(60_000);
  const queue = p.worker.planner.queues.get('zendesk')!;
  const end = Date.now() + 90_000;
  while (Date.now() < end) {
    const c = await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'failed');
    if (Object.entries(c).every(([state, n]) => state === 'failed' || n === 0)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { zd, p };
}

/** What the portal shows: every organization's fields and every invoice record, ids left out. */
function portalState(zd: ZendeskStandIn) {
  const orgs = [...zd.state.organizations.values()].map((o) => [o.name, o.organization_fields]).sort();
  const invoices = [...(zd.state.customObjectRecords.get('portal_invoice')?.values() ?? [])]
    .map((r) => [r.external_id, r.name, { ...r.custom_object_fields, organization_id: undefined }])
    .sort();
  return { orgs, invoices };
}

/** Most calls in any window of the configured length, by the stand-in's arrival times. */
function busiestWindow(zd: ZendeskStandIn, perMs: number): number {
  const times = zd.calls.map((c) => c.at).sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= perMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

afterAll(async () => {
  for (const r of running.reverse()) await r.stop().catch(() => undefined);
});

describe('portal faults during 1,000 events', () => {
  it('end with the same portal state as a run without faults, never over the configured rate', async () => {
    const clean = await run(false);
    const faulty = await run(true);
    const expected = portalState(clean.zd);
    expect(expected.invoices).toHaveLength(CUSTOMERS * INVOICES_PER_CUSTOMER);
    expect(faulty.zd.calls.some((c) => c.status === 429)).toBe(true);
    expect(faulty.zd.calls.some((c) => c.fault !== undefined)).toBe(true);
    expect(portalState(faulty.zd)).toEqual(expected);
    expect(await faulty.p.worker.planner.queues.get('zendesk')!.getFailedCount()).toBe(0);
    for (const r of [clean, faulty]) expect(busiestWindow(r.zd, OUR_RATE.perMs)).toBeLessThanOrEqual(OUR_RATE.max);
  }, 240_000);
});
