/**
 * The events worker: validate the job (a rolling deploy may hand us old or
 * foreign data), resolve identity, merge, store — one optimistic transaction
 * per event. A job that no retry can fix fails at once and stays in the
 * queue's failed set with its reason: that set is the dead-letter list that
 * `status` counts and that can be replayed once the cause is fixed. A batch
 * job's events are applied together; one that fails is split out into a job
 * of its own (batch-job.ts), so it retries and dead-letters alone.
 */
import { withStripeAccount } from './stripe-accounts.js';
import { MetricsTime, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { cappedBackoffStrategy } from '../backoff.js';
import { EVENT_MAX_BACKOFF_MS, QUEUES } from './queue.js';
import { describeZodError, SourceEventSchema, type JobLane, type SourceEvent } from './source-event.js';
import { entityKeyFor, storedRank } from './merge.js';
import type { SyncMetrics } from '../metrics.js';
import type { ApplyOutcome, RecordStore } from './store.js';
import { withTicketCategory, type TicketClassifier } from './ticket-categories.js';
import { eventIdentityKeys } from './identity.js';
import type { Tombstones } from './tombstones.js';
import { brandVerdict, type BrandScope } from './brands.js';
import {
  FORGOTTEN_ELEMENT,
  isBatchData,
  isForgottenElement,
  isSplitJobId,
  splitJobId,
  type BatchJobData,
} from './batch-job.js';

/** What the hooks learn of the job: a retry of it, its id, and the lane its producer put in its data (none in jobs of an older release). */
export interface JobContext {
  retry: boolean;
  jobId: string | undefined;
  lane: JobLane | undefined;
}

/** A job the events of a failed batch are split out into (batch-job.ts). */
export interface SplitJob {
  name: string;
  data: unknown;
  jobId: string;
}

export interface EventsWorkerOptions {
  connection: Redis;
  /**
   * Adds the jobs that the failed events of a batch are split out into (the events queue's addBulk). Without it,
   * a batch with a failed event fails as a whole and runs again whole (each event is applied once either way).
   */
  requeue?: (jobs: SplitJob[]) => Promise<void>;
  prefix: string;
  store: RecordStore;
  logger: Logger;
  concurrency?: number;
  metrics?: SyncMetrics;
  /**
   * Reads an object from its source API, for equal-version writes with different data. Returns
   * null when that source's API is not configured. Throws an error with `retryable` on failure.
   */
  refetch?: (tie: {
    source: SourceEvent['source'];
    kind: SourceEvent['data']['kind'];
    objectId: string;
    version: number;
    stripeAccountId?: string;
  }) => Promise<SourceEvent | null>;
  /**
   * The id of a single-account deployment's named Stripe account: a Stripe event queued without an account (by
   * a release before accounts, or before STRIPE_ACCOUNT_ID was set) is that account's (stripe-accounts.ts).
   */
  unscopedStripeAccount?: string | null;
  /** Called after each stored change (src/sync/pipeline.ts hooks in here). */
  onApplied?: (event: SourceEvent, outcome: ApplyOutcome, ctx: JobContext) => Promise<void>;
  /** Sets each Zendesk ticket's category before it is stored (refetched ones too). */
  classifier?: TicketClassifier;
  /** Called after EVERY apply, changed or not (deflection tracking: an older activity changes no record but still happened). */
  onStored?: (event: SourceEvent, outcome: ApplyOutcome, ctx: JobContext) => Promise<void>;
  /** Customers erased by `identity forget`: events naming them are dropped (counted), their job data scrubbed. */
  tombstones?: Tombstones;
  /** The Zendesk brands this deployment serves (config zendesk.brands): events of others are skipped, counted and logged. */
  brands?: BrandScope;
}

export interface EventJobResult {
  recordId: string;
  changed: boolean;
  merged: string[];
  conflicts: number;
  /** A batch job's: its events, and those split out into jobs of their own. */
  events?: number;
  splitOut?: number;
}

/** What handling one event needs of its job: a BullMQ job, or one event of a batch job. */
type EventJob = Pick<Job<unknown, EventJobResult>, 'data' | 'id' | 'timestamp' | 'attemptsMade' | 'attemptsStarted'> & {
  updateData(data: unknown): Promise<void>;
};

/** What the steps of a job share: the worker's options and its log. */
interface EventsDeps {
  opts: EventsWorkerOptions;
  log: Logger;
}

/** The result of a job whose event was not filed under any record. */
const nothingApplied = (): EventJobResult => ({ recordId: '', changed: false, merged: [], conflicts: 0 });

/**
 * A retry of the job, a stalled one started again (its attemptsMade is still 0), or an event split out of a batch
 * (its first try was in the batch).
 */
const isRetry = (job: EventJob): boolean => job.attemptsMade > 0 || job.attemptsStarted > 1 || isSplitJobId(job.id);

/** The job's event, validated (a rolling deploy may hand us old or foreign data), and the lane it was queued on. */
function parseEventJob({ opts }: EventsDeps, job: EventJob): { event: SourceEvent; lane: JobLane | undefined } {
  const parsed = SourceEventSchema.safeParse(job.data);
  if (!parsed.success) {
    throw new UnrecoverableError(`job data is not a v1 SourceEvent: ${describeZodError(parsed.error)}`);
  }
  // The lane is the job's, not the event's: kept out of what is stored, handed to the hooks.
  const { lane, ...data } = parsed.data;
  return { event: withStripeAccount(data, opts.unscopedStripeAccount), lane };
}

/** Whether the event is dropped before it is applied: it names a forgotten customer, or a brand not served. */
async function skipUnserved({ opts, log }: EventsDeps, job: EventJob, event: SourceEvent): Promise<boolean> {
  if (opts.tombstones && (await opts.tombstones.forgotten(eventIdentityKeys(event)))) {
    // Not stored, and not kept in the job either: the payload names a customer who asked to be erased.
    await job.updateData({ v: 1, forgotten: true });
    await opts.tombstones.noteDropped();
    opts.metrics?.applied.inc({ source: event.source, outcome: 'forgotten' });
    log.info({ source: event.source, eventId: event.eventId }, 'event names a forgotten customer: dropped');
    return true;
  }
  const brand = opts.brands ? brandVerdict(opts.brands, event) : { serve: true as const };
  if (!brand.serve) {
    // Acknowledged upstream, never applied: webhooks, resync snapshots and replays alike.
    opts.metrics?.applied.inc({ source: event.source, outcome: brand.reason });
    log.info(
      { source: event.source, eventId: event.eventId, brandId: brand.brandId, reason: brand.reason },
      'event of a brand this deployment does not serve (zendesk.brands): skipped',
    );
    return true;
  }
  return false;
}

/** The event stored; ids refused by identity are counted (on the first attempt) and logged. */
async function applyEvent({ opts, log }: EventsDeps, job: EventJob, event: SourceEvent): Promise<ApplyOutcome> {
  const first = !isRetry(job);
  const outcome = await opts.store.apply(event, first ? {} : { retry: true });
  for (const r of outcome.refused ?? []) if (first) opts.metrics?.refused.inc({ ref: r.ref, reason: r.reason });
  if (outcome.refused?.length) {
    log.warn(
      { source: event.source, eventId: event.eventId, refused: outcome.refused.map((r) => `${r.ref}:${r.reason}`) },
      'identity refused: ids that link nothing',
    );
  }
  if (outcome.unattributed) {
    // A portal event none of whose ids has its system's shape: nothing to file it under.
    if (first) opts.metrics?.unattributed.inc();
    log.info({ source: event.source, eventId: event.eventId }, 'portal activity names no valid id; not filed');
  }
  return outcome;
}

/** A retry: a tie this job stored may not have been settled (the refetch failed, or the worker died first). */
async function resumePendingTie(
  { opts }: EventsDeps,
  event: SourceEvent,
  outcome: ApplyOutcome,
): Promise<ApplyOutcome> {
  const version = await opts.store.pendingTie(event);
  const path = entityKeyFor(event)?.path;
  if (version === null || !path) return outcome;
  const stored = await opts.store.getFull(outcome.recordId);
  return {
    ...outcome,
    tie: {
      path,
      source: event.source,
      objectId: event.objectId,
      version,
      rank: (stored ? storedRank(stored, event) : 0) + 1,
    },
  };
}

/**
 * Two writes of one version with different data (Stripe counts in seconds, Zendesk triggers in
 * minutes) are already resolved deterministically; the source API's current object then settles
 * them for good, applied one rank above the stored entry so it wins over both (a webhook of that version after an earlier refetch ties again). A refetched object never triggers
 * another refetch. If the API cannot be reached the job retries; if it will never answer (e.g. the
 * object is gone), the deterministic result stands.
 */
async function settleTie({ opts, log }: EventsDeps, event: SourceEvent, outcome: ApplyOutcome): Promise<ApplyOutcome> {
  let fresh: SourceEvent | null;
  try {
    const account = event.refs.stripeAccountId;
    fresh = await opts.refetch!({
      source: event.source,
      kind: event.data.kind,
      objectId: event.objectId,
      version: outcome.tie?.version ?? event.version,
      ...(account && { stripeAccountId: account }),
    });
  } catch (err) {
    if ((err as { retryable?: boolean }).retryable === false) {
      log.warn(
        { source: event.source, objectId: event.objectId, reason: (err as Error).message },
        'could not refetch a tied object; the deterministic result stands',
      );
      await opts.store.settledTie(event);
      return outcome;
    }
    throw err;
  }
  if (fresh === null) {
    await opts.store.settledTie(event);
    return outcome;
  }
  // The tie's entry goes in the apply's own EXEC: nobody sees the settled record with the tie still pending.
  // An apply that writes nothing leaves it to settledTie.
  const settled = await opts.store.apply(withTicketCategory(fresh, opts.classifier), {
    rank: outcome.tie?.rank ?? 1,
    // The tie is named by the event that made it, not by what the API answered.
    settlesTie: event,
  });
  if (!settled.changed) await opts.store.settledTie(event);
  log.info(
    { source: event.source, objectId: event.objectId, version: event.version },
    'equal-version tie settled from the source API',
  );
  return {
    ...settled,
    previous: outcome.previous,
    changed: outcome.changed || settled.changed,
    mergedIds: [...outcome.mergedIds, ...settled.mergedIds],
    conflicts: [...outcome.conflicts, ...settled.conflicts],
    tie: outcome.tie,
  };
}

/** The apply counted and timed; identity conflicts and ties logged. */
function recordApplied(
  { opts, log }: EventsDeps,
  job: EventJob,
  event: SourceEvent,
  outcome: ApplyOutcome,
  started: number,
): void {
  const m = opts.metrics;
  m?.applySeconds.observe({ source: event.source }, (performance.now() - started) / 1000);
  m?.lagSeconds.observe({ source: event.source }, Math.max(0, Date.now() - job.timestamp) / 1000);
  m?.applied.inc({ source: event.source, outcome: outcome.changed ? 'changed' : 'unchanged' });
  if (outcome.mergedIds.length > 0) m?.merges.inc(outcome.mergedIds.length);
  for (const c of outcome.conflicts) m?.conflicts.inc({ system: c.system });
  if (outcome.tie) m?.ties.inc({ source: event.source });
  if (outcome.conflicts.length > 0) {
    log.warn(
      { source: event.source, eventId: event.eventId, conflicts: outcome.conflicts.map((c) => c.id) },
      'identity conflict: records kept apart',
    );
  }
  if (outcome.tie)
    log.info(
      { source: event.source, eventId: event.eventId, objectId: outcome.tie.objectId },
      'equal source versions with different data',
    );
}

/** One event job: validate, skip forgotten customers and brands not served, apply, settle a tie, run the hooks. */
async function handleEventJob(deps: EventsDeps, job: EventJob): Promise<EventJobResult> {
  const { opts, log } = deps;
  const { event: parsed, lane } = parseEventJob(deps, job);
  if (await skipUnserved(deps, job, parsed)) return nothingApplied();
  const event = withTicketCategory(parsed, opts.classifier);
  const started = performance.now();
  let outcome = await applyEvent(deps, job, event);
  if (outcome.unattributed) return nothingApplied();
  if (!outcome.tie && opts.refetch && isRetry(job)) outcome = await resumePendingTie(deps, event, outcome);
  if (outcome.tie && opts.refetch) outcome = await settleTie(deps, event, outcome);
  recordApplied(deps, job, event, outcome, started);
  // A retry may follow a failure after the record was stored, or a worker that died after storing it (a stalled
  // job, started again: its attemptsMade is still 0): the hooks run again rather than never.
  const retry = isRetry(job);
  const ctx: JobContext = { retry, jobId: job.id, lane };
  if (outcome.changed || outcome.linked || retry) await opts.onApplied?.(event, outcome, ctx);
  await opts.onStored?.(event, outcome, ctx);
  log.debug(
    {
      source: event.source,
      eventId: event.eventId,
      customerId: outcome.recordId,
      changed: outcome.changed,
      merged: outcome.mergedIds,
    },
    'event applied',
  );
  return {
    recordId: outcome.recordId,
    changed: outcome.changed,
    merged: outcome.mergedIds,
    conflicts: outcome.conflicts.length,
  };
}

/** Applies a batch job's events together; those that failed are split out into jobs of their own. */
async function handleBatchJob(
  deps: EventsDeps,
  job: Job<unknown, EventJobResult>,
  data: BatchJobData,
): Promise<EventJobResult> {
  const elements = [...data.events];
  let scrubbed = false;
  const eventJob = (element: unknown, index: number): EventJob => ({
    data: element,
    id: job.id,
    timestamp: job.timestamp,
    attemptsMade: job.attemptsMade,
    attemptsStarted: job.attemptsStarted,
    // A forgotten customer's event leaves the batch's data; the others keep their places (and split-out ids).
    updateData: () => {
      elements[index] = FORGOTTEN_ELEMENT;
      scrubbed = true;
      return Promise.resolve();
    },
  });
  const results = await Promise.allSettled(
    elements.map((element, index) =>
      isForgottenElement(element) ? Promise.resolve(nothingApplied()) : handleEventJob(deps, eventJob(element, index)),
    ),
  );
  if (scrubbed) await job.updateData({ v: 1, events: elements } satisfies BatchJobData);
  const failed = results.flatMap((r, index) => (r.status === 'rejected' ? [{ index, err: r.reason as Error }] : []));
  if (failed.length > 0) await splitOut(deps, job, elements, failed);
  const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  return {
    recordId: '',
    changed: done.some((r) => r.changed),
    merged: done.flatMap((r) => r.merged),
    conflicts: done.reduce((n, r) => n + r.conflicts, 0),
    events: elements.length,
    splitOut: failed.length,
  };
}

/**
 * The failed events of a batch, each added as a job of its own (under an id derived from the batch's, so a second
 * run of the batch adds none twice). Without `requeue`, or if adding fails, the batch fails as a whole.
 */
async function splitOut(
  { opts, log }: EventsDeps,
  job: Job<unknown, EventJobResult>,
  elements: unknown[],
  failed: Array<{ index: number; err: Error }>,
): Promise<void> {
  if (!opts.requeue || !job.id) throw failed[0]!.err;
  const jobs = failed.map(({ index }) => {
    const element = elements[index] as { type?: unknown } | null;
    return {
      name: typeof element?.type === 'string' ? element.type : 'event',
      data: element,
      jobId: splitJobId(job.id!, index),
    };
  });
  await opts.requeue(jobs);
  opts.metrics?.splitOut.inc(jobs.length);
  for (const [i, { err }] of failed.entries()) {
    log.warn(
      { jobId: jobs[i]!.jobId, batch: job.id, reason: err.message },
      'event of a batch failed; split out into a job of its own',
    );
  }
}

/** A job: a batch of events, or one event. */
function handleJob(deps: EventsDeps, job: Job<unknown, EventJobResult>): Promise<EventJobResult> {
  return isBatchData(job.data) ? handleBatchJob(deps, job, job.data) : handleEventJob(deps, job);
}

export function createEventsWorker(opts: EventsWorkerOptions): Worker<unknown, EventJobResult> {
  const log = opts.logger.child({ module: 'events-worker' });
  const deps: EventsDeps = { opts, log };
  const worker = new Worker<unknown, EventJobResult>(
    QUEUES.events,
    (job: Job<unknown, EventJobResult>) => handleJob(deps, job),
    // BullMQ's per-minute metrics feed `status` (processing rates); two weeks of points, ~1 KB a day.
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 8,
      autorun: true,
      metrics: { maxDataPoints: MetricsTime.TWO_WEEKS },
      settings: { backoffStrategy: cappedBackoffStrategy(EVENT_MAX_BACKOFF_MS) },
    },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    log[final ? 'error' : 'warn'](
      { jobId: job.id, attempt: job.attemptsMade, reason: err.message, deadLettered: final },
      final ? 'event dead-lettered' : 'event failed; will retry',
    );
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'worker connection error'));
  return worker;
}
