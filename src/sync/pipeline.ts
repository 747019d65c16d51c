/**
 * What follows a stored change — read this to learn "what happens after a webhook".
 *
 * The path: a platform's webhook reaches src/webhooks (verify, parse) → the Ingestor (src/sync/events/ingest.ts:
 * dedupe, one job on the `events` queue, lane `realtime`) → the events worker (src/sync/events/worker.ts: identity,
 * merge, store) → THIS pipeline, with the stored outcome:
 * - the deflection feed (src/sync/deflection) sees every apply, changed or not, and the resync run's tally counts it;
 * - push planning (src/sync/push/planner.ts) schedules a push of what the portal shows: real-time work as a
 *   debounced single push, resync and reconcile work (lane `resync`/`reconcile`, or a snapshot) in bulk behind it;
 * - the outbound emitter (src/sync/outbound) records the change for webhook subscribers.
 * `portal-sync resync` (src/sync/resync/runner.ts) and the reconciler (src/sync/resync/reconcile.ts) queue their jobs
 * on the same queue with their own lane. src/worker-role.ts builds the dependencies and hands these hooks to
 * the events worker.
 */
import type { Redis } from 'ioredis';
import type { DeflectionFeed } from './deflection/feed.js';
import type { SyncMetrics } from './metrics.js';
import type { OutboundEmitter } from './outbound/emitter.js';
import type { PushPlanner } from './push/planner.js';
import { tallyResync } from './resync/runs.js';
import type { JobLane, SourceEvent } from './events/source-event.js';
import type { ApplyOutcome } from './events/store.js';
import type { JobContext } from './events/worker.js';

export interface PipelineDeps {
  /** Where resync runs keep their tallies. */
  redis: Redis;
  prefix: string;
  feed: DeflectionFeed;
  planner: PushPlanner;
  emitter: Pick<OutboundEmitter, 'onApplied'>;
  metrics?: SyncMetrics;
}

export interface Pipeline {
  /** After every apply, changed or not. */
  onStored(event: SourceEvent, outcome: ApplyOutcome, ctx: JobContext): Promise<void>;
  /** After an apply that changed or linked a record (or a retry of one). */
  onApplied(event: SourceEvent, outcome: ApplyOutcome, ctx: JobContext): Promise<void>;
  /** A job that will not be tried again: its resync run counts it failed. */
  onGaveUp(jobId: string | undefined): Promise<void>;
}

/**
 * The lane of a job queued by a release before lanes were carried in job data, read from its id as those
 * releases did: the resync runner's ids start `rs-`, the reconciler's `rc-`. Remove it (and its call in
 * `laneOf`) once no job of such a release can be left: a release after the one that added `lane`, and not
 * before every queued event job of the older release has completed or been dead-lettered and replayed.
 */
function legacyLaneFromJobId(jobId: string | undefined): JobLane {
  if (jobId?.startsWith('rs-')) return 'resync';
  if (jobId?.startsWith('rc-')) return 'reconcile';
  return 'realtime';
}

/** The lane of a job: the typed one its producer put in its data; for older jobs without one, their id's. */
export function laneOf(ctx: Pick<JobContext, 'lane' | 'jobId'>): JobLane {
  return ctx.lane ?? legacyLaneFromJobId(ctx.jobId);
}

export function createPipeline(deps: PipelineDeps): Pipeline {
  const { redis, prefix, feed, planner, emitter, metrics } = deps;
  return {
    async onStored(event, outcome, { jobId, retry }) {
      await feed(event, outcome, { retry });
      await tallyResync(redis, prefix, jobId, outcome);
    },
    async onApplied(event, outcome, ctx) {
      // Resync and reconcile work (snapshots, and the Stripe events a --since resync or a reconcile pass reads
      // back) is pushed in bulk behind real-time work, not as real-time pushes.
      const resync = event.origin === 'snapshot' || laneOf(ctx) !== 'realtime';
      const targets = await planner.plan(ctx.retry ? null : outcome.previous, outcome.record, outcome.mergedIds, {
        resync,
        linked: outcome.linked === true,
      });
      for (const target of targets) metrics?.pushesScheduled.inc({ target });
      await emitter.onApplied(outcome, { retry: ctx.retry });
    },
    async onGaveUp(jobId) {
      await tallyResync(redis, prefix, jobId, 'failed');
    },
  };
}
