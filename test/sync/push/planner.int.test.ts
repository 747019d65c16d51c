/** Push planning on the real Redis: only projection changes, and one push per burst. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { startTestPipeline, type TestPipeline } from '../../support/pipeline.js';
import { invoice, subscription } from '../events/merge-events.js';

let p: TestPipeline;
const refs = { stripeCustomerId: 'cus_push' };
const jobsOf = async () =>
  (
    await Promise.all(
      [...p.worker.planner.queues.values()].map((q) =>
        q.getJobs(['delayed', 'waiting', 'active', 'completed', 'failed']),
      ),
    )
  ).flat();
const obliterateAll = () =>
  Promise.all([...p.worker.planner.queues.values()].map((q) => q.obliterate({ force: true })));

beforeAll(async () => {
  // A long debounce so the test sees the scheduled jobs before they would run.
  p = await startTestPipeline(
    {
      PORTAL_TARGET: 'zendesk,salesforce',
      ZENDESK_SUBDOMAIN: 'acme',
      ZENDESK_EMAIL: 'ops@acme.example',
      ZENDESK_API_TOKEN: 'zd_token_0123456789abcdef',
      SALESFORCE_ACCESS_TOKEN: 'sf_token_0123456789abcdef',
      SALESFORCE_INSTANCE_URL: 'https://acme.my.salesforce.com',
    },
    (c) => {
      c.push.debounceMs = 60_000;
    },
  );
});
afterAll(async () => {
  await p.stop();
});

describe('push planning', () => {
  it('turns a burst of 50 changes for one customer into one scheduled push per target', async () => {
    const events: SourceEvent[] = [];
    for (let i = 0; i < 50; i++) events.push({ ...invoice(`in_push_${i}`, 'open', { version: 1_000 + i }), refs });
    await p.daemon.ingestor.enqueue(events);
    await p.drain();
    const jobs = await jobsOf();
    expect(jobs.map((j) => j.data.target).sort()).toEqual(['salesforce', 'zendesk']);
    const record = await p.worker.store.findByKey('stripe:cus_push');
    expect(jobs.every((j) => j.data.customerId === record!.id)).toBe(true);
    expect(record!.derived.invoices).toHaveLength(50);
  });

  it('schedules nothing new for a change the portal does not show', async () => {
    await obliterateAll();
    // The same subscription state again under a new event id: stored entities do not change what the portal shows.
    const sub = { ...subscription('sub_push', 'active', { version: 10_000 }), refs };
    await p.daemon.ingestor.enqueue([sub]);
    await p.drain();
    await obliterateAll();
    await p.daemon.ingestor.enqueue([{ ...sub, eventId: 'evt_same_state_again', version: 10_000 }]);
    await p.drain();
    expect(await jobsOf()).toHaveLength(0);
  });

  it('puts resync pushes behind real-time ones', async () => {
    await obliterateAll();
    const record = await p.worker.store.findByKey('stripe:cus_push');
    await p.worker.planner.plan(null, record!, [], { resync: true });
    const [resync] = await p.worker.planner.queues.get('zendesk')!.getJobs(['delayed']);
    expect(resync?.opts.priority).toBe(10);
    await obliterateAll();
    await p.worker.planner.plan(null, record!);
    const [realtime] = await p.worker.planner.queues.get('zendesk')!.getJobs(['delayed']);
    expect(realtime?.opts.priority ?? 0).toBe(0);
  });
});
