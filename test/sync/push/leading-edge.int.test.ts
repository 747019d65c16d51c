/**
 * Leading-edge pushes on the real Redis: the first change of a quiet customer
 * goes to the portal at once, not after the debounce; what arrives while that
 * push is pending, running or just done is coalesced into one trailing push.
 * The debounce here is a minute, so a push that waited it out would never
 * arrive within the test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortalPush, PortalTarget, PushResult } from '../../../src/sync/push/portal-target.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { startTestPipeline, type TestPipeline } from '../../support/pipeline.js';
import { until } from '../../support/e2e.js';
import { invoice, subscription } from '../events/merge-events.js';

const DEBOUNCE_MS = 60_000;

class RecordingTarget implements PortalTarget {
  readonly name = 'zendesk' as const;
  readonly pushes: PortalPush[] = [];
  async push(p: PortalPush): Promise<PushResult> {
    this.pushes.push(p);
    return { calls: 1, wrote: ['organization_fields'] };
  }
  of(stripeCustomerId: string): PortalPush[] {
    return this.pushes.filter((p) => p.links.stripeCustomerId === stripeCustomerId);
  }
}

const target = new RecordingTarget();
let p: TestPipeline;
const ZD = {
  PORTAL_TARGET: 'zendesk',
  ZENDESK_SUBDOMAIN: 'acme',
  ZENDESK_EMAIL: 'ops@acme.example',
  ZENDESK_API_TOKEN: 'zd_token_0123456789abcdef',
};
const withRefs = (e: SourceEvent, id: string): SourceEvent => ({
  ...e,
  refs: { stripeCustomerId: id, zendeskOrganizationId: `org-${id}` },
});
const queue = () => p.worker.planner.queues.get('zendesk')!;
const jobsFor = async (customerId: string, states: ('delayed' | 'waiting' | 'active' | 'completed')[]) =>
  (await queue().getJobs(states)).filter((j) => j.data.customerId === customerId);

beforeAll(async () => {
  p = await startTestPipeline(
    ZD,
    (c) => {
      c.push.debounceMs = DEBOUNCE_MS;
    },
    () => target,
  );
});
afterAll(async () => {
  await p.stop();
});

describe('leading-edge pushes', () => {
  it('pushes the first change of a quiet customer at once, without waiting out the debounce', async () => {
    await p.daemon.ingestor.enqueue([withRefs(subscription('sub_le1', 'active', { version: 1_000 }), 'cus_le1')]);
    await until('the push to reach the target', () => target.of('cus_le1').length === 1, 10_000);
    const record = await p.worker.store.findByKey('stripe:cus_le1');
    const [done] = await jobsFor(record!.id, ['completed']);
    expect(done?.opts.delay ?? 0).toBeLessThan(1_000);
    expect(target.of('cus_le1')[0]!.projection.billing?.status).toBe('active');
  });

  it('coalesces a burst of 50 changes into the leading push and one trailing push that waits the debounce', async () => {
    const events: SourceEvent[] = [];
    for (let i = 0; i < 50; i++)
      events.push(withRefs(invoice(`in_le2_${i}`, 'open', { version: 1_000 + i }), 'cus_le2'));
    await p.daemon.ingestor.enqueue(events);
    await p.drain();
    await until('the leading push', () => target.of('cus_le2').length >= 1, 10_000);
    const record = await p.worker.store.findByKey('stripe:cus_le2');
    // Whatever the leading push did not carry waits in ONE trailing job, a debounce away.
    const trailing = await until('the trailing push to be scheduled', async () => {
      const delayed = await jobsFor(record!.id, ['delayed']);
      return delayed.length === 1 && (await jobsFor(record!.id, ['waiting', 'active'])).length === 0
        ? delayed
        : undefined;
    });
    expect(trailing[0]!.opts.delay).toBeGreaterThanOrEqual(DEBOUNCE_MS / 2);
    expect(target.of('cus_le2')).toHaveLength(1);
    await trailing[0]!.promote();
    await until('the trailing push', () => target.of('cus_le2').length === 2, 10_000);
    expect(target.of('cus_le2')[1]!.projection.invoices).toHaveLength(50);
    await new Promise((r) => setTimeout(r, 300));
    expect(target.of('cus_le2')).toHaveLength(2);
  });

  it('debounces a change that comes right after a push of the same customer', async () => {
    await p.daemon.ingestor.enqueue([withRefs(invoice('in_le3_a', 'open', { version: 1_000 }), 'cus_le3')]);
    await until('the leading push', () => target.of('cus_le3').length === 1, 10_000);
    await p.daemon.ingestor.enqueue([withRefs(invoice('in_le3_b', 'open', { version: 2_000 }), 'cus_le3')]);
    await p.drain();
    const record = await p.worker.store.findByKey('stripe:cus_le3');
    const delayed = await until('the trailing push to be scheduled', async () => {
      const d = await jobsFor(record!.id, ['delayed']);
      return d.length === 1 ? d : undefined;
    });
    expect(delayed[0]!.opts.delay).toBeGreaterThanOrEqual(DEBOUNCE_MS / 2);
    expect(target.of('cus_le3')).toHaveLength(1);
  });
});
