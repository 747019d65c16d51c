/**
 * Equal source versions with different data (Stripe's one-second timestamps):
 * never settled by arrival order — the worker asks the source API for the
 * current object and applies that. The refetcher here answers like the
 * Stripe API would; its SDK calls are tested in test/connectors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefetchTie } from '../../src/connectors/refetch.js';
import type { SourceEvent } from '../../src/sync/source-event.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { subscription } from './merge-events.js';

const asked: RefetchTie[] = [];
let p: TestPipeline;
const refs = (c: string) => ({ stripeCustomerId: c });
const sameSecond = (c: string, status: string, eventId: string): SourceEvent => ({ ...subscription(`sub_${c}`, status, { version: 1_795_000_000_000, eventId }), refs: refs(c) });

beforeAll(async () => {
  p = await startTestPipeline({}, () => undefined, undefined, async (tie) => {
    asked.push(tie);
    // The API's answer: the subscription is active now.
    return { ...subscription(tie.objectId, 'active', { version: tie.version, eventId: `refetch-${tie.objectId}-${tie.version}`, origin: 'snapshot' }), refs: refs(tie.objectId.replace('sub_', '')) };
  });
});
afterAll(async () => {
  await p.stop();
});

describe('equal-version ties', () => {
  it.each([
    ['past_due first', ['past_due', 'incomplete']],
    ['incomplete first', ['incomplete', 'past_due']],
  ])('are settled by the source API whatever the arrival order (%s)', async (_name, order) => {
    const c = `cus_tie_${order[0]}`;
    for (const [i, status] of order.entries()) {
      await p.daemon.ingestor.enqueue([sameSecond(c, status!, `evt_${c}_${i}`)]);
      await p.drain();
    }
    const record = await p.worker.store.findByKey(`stripe:${c}`);
    expect(record?.derived.billing?.status).toBe('active');
    expect(record?.stripe.subscriptions[`sub_${c}`]?.stamp).toMatchObject({ rank: 1, origin: 'refetch' });
    expect(asked.filter((t) => t.objectId === `sub_${c}`)).toEqual([{ source: 'stripe', kind: 'stripe.subscription', objectId: `sub_${c}`, version: 1_795_000_000_000 }]);
  });
});
