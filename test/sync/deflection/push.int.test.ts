/**
 * Deflection events on the push queues: a second kind of push job beside the
 * projection pushes, which v1 jobs written before it existed still are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Derived } from '../../../src/sync/events/record.js';
import { PermanentError } from '../../../src/sync/errors.js';
import type { PortalPush, PortalTarget, PushResult } from '../../../src/sync/push/portal-target.js';
import type { DeflectionEvent } from '../../../src/sync/deflection/types.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { startTestPipeline, type TestPipeline } from '../../support/pipeline.js';
import { subscription, user } from '../events/merge-events.js';
import { until } from '../../support/e2e.js';

class RecordingTarget implements PortalTarget {
  readonly name = 'zendesk' as const;
  readonly pushes: PortalPush[] = [];
  readonly deflections: Array<{ event: DeflectionEvent; links: Derived['links'] }> = [];
  refuseNext = false;
  async push(p: PortalPush): Promise<PushResult> {
    this.pushes.push(p);
    return { calls: 1, wrote: ['organization_fields'] };
  }
  async recordDeflection(event: DeflectionEvent, links: Derived['links']): Promise<PushResult> {
    if (this.refuseNext) {
      this.refuseNext = false;
      throw new PermanentError('InvalidRequest: event.properties must be an object', 400);
    }
    this.deflections.push({ event, links });
    return { calls: 1, wrote: [`deflection:${event.id}`] };
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

function decided(customerId: string, contact: string, n: number): DeflectionEvent {
  return {
    id: `defl-push${n}`,
    customerId,
    sessionId: `push${n}`,
    contact,
    outcome: 'deflected',
    category: 'billing',
    sessionStartedAt: '2026-11-23T10:00:00.000Z',
    decidedAt: '2026-11-24T10:00:00.000Z',
    lastActivity: { type: 'invoice_view', at: '2026-11-23T10:00:00.000Z', invoiceId: 'in_1' },
  };
}

const withRefs = (e: SourceEvent, refs: SourceEvent['refs']): SourceEvent => ({ ...e, refs });

beforeAll(async () => {
  p = await startTestPipeline(
    ZD,
    (c) => void (c.push.debounceMs = 20),
    () => target,
  );
});
afterAll(async () => {
  await p.stop();
});

describe('deflection push jobs', () => {
  it("reach the target with the customer's current links", async () => {
    await p.daemon.ingestor.enqueue([
      withRefs(subscription('sub_dp1', 'active', { version: 1_000 }), {
        stripeCustomerId: 'cus_dp1',
        zendeskOrganizationId: '701',
        email: 'ann@dp.example',
      }),
    ]);
    await p.drain();
    const record = await p.worker.store.findByKey('stripe:cus_dp1');
    await p.worker.planner.planDeflection(decided(record!.id, 'ann@dp.example', 1));
    await until('the deflection to reach the target', () => target.deflections.length === 1);
    expect(target.deflections[0]).toMatchObject({
      event: { id: 'defl-push1' },
      links: { stripeCustomerId: 'cus_dp1', zendeskOrganizationId: '701' },
    });
  });

  it('follow the contact to the record it was merged into', async () => {
    await p.worker.store.apply(
      withRefs(user('9001', 'bea@dp.example', { version: 1_000 }), { zendeskUserId: '9001', email: 'bea@dp.example' }),
    );
    await p.worker.store.apply(
      withRefs(subscription('sub_dp2', 'active', { version: 1_000 }), {
        stripeCustomerId: 'cus_dp2',
        zendeskOrganizationId: '702',
      }),
    );
    // The Stripe customer turns out to have Bea's email: the two records become one, and one id is gone.
    const linked = await p.worker.store.apply(
      withRefs(subscription('sub_dp2', 'active', { version: 2_000 }), {
        stripeCustomerId: 'cus_dp2',
        zendeskOrganizationId: '702',
        email: 'bea@dp.example',
      }),
    );
    const [gone] = linked.mergedIds;
    expect(gone).toBeDefined();
    expect(await p.worker.store.get(gone!)).toBeNull();
    await p.worker.planner.planDeflection(decided(gone!, 'bea@dp.example', 2));
    await until('the deflection to reach the target', () => target.deflections.length === 2);
    expect(target.deflections[1]!.links).toMatchObject({ stripeCustomerId: 'cus_dp2', zendeskOrganizationId: '702' });
  });

  it('dead-letter what the platform refuses, with its message', async () => {
    target.refuseNext = true;
    const record = await p.worker.store.findByKey('stripe:cus_dp1');
    await p.worker.planner.planDeflection(decided(record!.id, 'ann@dp.example', 3));
    const queue = p.worker.planner.queues.get('zendesk')!;
    await until('the dead letter', async () => (await queue.getFailed()).some((j) => j.id === 'defl-push3'));
    const [job] = (await queue.getFailed()).filter((j) => j.id === 'defl-push3');
    expect(job?.failedReason).toBe('zendesk refused the push: InvalidRequest: event.properties must be an object');
  });

  it('leave projection jobs written before they existed (no kind) working as before', async () => {
    const record = await p.worker.store.findByKey('stripe:cus_dp1');
    const queue = p.worker.planner.queues.get('zendesk')!;
    const before = target.pushes.length;
    await p.daemon.redis.del(`${p.daemon.prefix}:pushed:zendesk:${record!.id}`);
    await queue.add('push-zendesk', { v: 1, customerId: record!.id, target: 'zendesk' });
    await until('the push to reach the target', () => target.pushes.length === before + 1);
    expect(target.pushes.at(-1)!.customerId).toBe(record!.id);
  });
});
