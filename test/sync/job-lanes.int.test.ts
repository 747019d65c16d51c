/**
 * Every producer of the events queue says in the job's data which lane it came by (src/sync/pipeline.ts reads
 * it): ingest `realtime` (a missed webhook the reconciler found included), the resync runner `resync`, a
 * reconcile pass's drift `reconcile` — on the real Redis, with no worker taking the jobs.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { Ingestor } from '../../src/sync/events/ingest.js';
import type { EventsQueue } from '../../src/sync/events/queue.js';
import { Reconciler } from '../../src/sync/resync/reconcile.js';
import { runResync } from '../../src/sync/resync/runner.js';
import { ResyncRuns } from '../../src/sync/resync/runs.js';
import type { SnapshotStream } from '../../src/sync/resync/snapshot.js';
import type { SourceEvent } from '../../src/sync/events/source-event.js';
import { RecordStore } from '../../src/sync/events/store.js';
import { eventsUnderPrefix } from '../support/store.js';
import { subscription } from './events/merge-events.js';

let redis: Redis;
let queue: EventsQueue;
let store: RecordStore;
const prefix = eventsUnderPrefix((open) => ({ redis, queue, store } = open));

const streamOf = (events: SourceEvent[]): SnapshotStream => ({
  name: 'stripe.subscriptions',
  source: 'stripe',
  page: async () => ({ events, read: events.length, next: null, rejected: [] }),
});
const laneOfQueued = async (eventId: string) =>
  (await queue.getJobs(['waiting', 'prioritized'])).find((j) => j.data.eventId === eventId)?.data.lane;

describe('the lane in an events job', () => {
  it('is resync for what `portal-sync resync` queues', async () => {
    const runs = new ResyncRuns(redis, prefix);
    const runId = await runs.create({ sources: ['stripe'], since: null, customer: null, dryRun: false });
    const snap = {
      ...subscription('sub_lane1', 'active', { version: 1_000, eventId: 'snap_lane1', origin: 'snapshot' }),
      refs: { stripeCustomerId: 'cus_lane1' },
    };
    await runResync({
      runs,
      runId,
      queue,
      streams: [streamOf([snap])],
      logger: createLogger('silent'),
      waitForApply: false,
    });
    expect(await laneOfQueued('snap_lane1')).toBe('resync');
  });

  it("is reconcile for a pass's drift, and realtime for a webhook it found missed (queued through ingest)", async () => {
    const drift = {
      ...subscription('sub_lane2', 'past_due', { version: 2_000, eventId: 'snap_lane2', origin: 'snapshot' }),
      refs: { stripeCustomerId: 'cus_lane2' },
    };
    const missed = {
      ...subscription('sub_lane3', 'active', { version: 3_000, eventId: 'evt_lane3' }),
      refs: { stripeCustomerId: 'cus_lane3' },
    };
    const reconciler = new Reconciler({
      redis,
      prefix,
      store,
      queue,
      ingestor: new Ingestor({
        redis,
        queue,
        prefix,
        dedupeTtlSeconds: 60,
        quarantineLimits: { maxEntries: 10, maxBytes: 1_048_576 },
        timeoutMs: 5000,
      }),
      streams: { stripe: async () => [streamOf([drift, missed])] },
      settings: { overlapMs: 1000, firstLookbackMs: 60_000 },
      logger: createLogger('silent'),
    });
    expect((await reconciler.pass()).drift).toBe(2);
    expect(await laneOfQueued('snap_lane2')).toBe('reconcile');
    expect(await laneOfQueued('evt_lane3')).toBe('realtime');
  });
});
