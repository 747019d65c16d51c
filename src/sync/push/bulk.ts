/**
 * Resync pushes in bulk: many customers per API call instead of one push job
 * each. The planner puts a resync-changed customer into the target's pending
 * set and schedules a drain job on the target's push queue (behind real-time
 * pushes, like every resync job); a drain claims a batch, reads each
 * customer's current record, skips those the target already accepted as
 * they are, and hands the rest to the target's pushMany, after setting each
 * one's writer token (progress.ts: a push's kept progress is not trusted
 * across a drain, which records none).
 *
 * Crash safety: a claim moves a customer from `pending` to `claimed` (with a
 * lease) and into the drain job's own set, in one script. A customer leaves
 * `claimed` only after its accepted state is stored or after it was handed to
 * a per-customer push job; a failure that stops the batch puts the batch back
 * in `pending`. A drain job that dies with its worker is re-run by BullMQ's
 * stalled-job recovery under the same job id, and takes its own claims back
 * first; claims whose lease ran out go back to `pending` on the next claim,
 * and a worker starting up schedules a drain when anything is left over.
 *
 * While a resync is still being read and applied, drains wait (at most
 * `holdMaxMs` from the first queued customer): the objects of one customer
 * arrive from three sources at different times, and a customer pushed once
 * its record is complete costs one write instead of three.
 *
 * Keys (prefix p, target t):
 *   p:bulk:t:pending        zset customerId → when it was queued (ms)
 *   p:bulk:t:claimed        zset customerId → lease expiry (ms, Redis time)
 *   p:bulk:t:by:<jobId>     set of the customers a drain job holds
 */
import { DelayedError, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { PortalTargetName } from '../target-names.js';
import type { Logger } from '../../log.js';
import { PermanentError } from '../errors.js';
import type { BulkPushResult, CallGate, PortalPush, PortalTarget, PushResult } from './portal-target.js';
import { createEventsQueue } from '../events/queue.js';
import { RESYNC_PRIORITY } from '../resync/runner.js';
import { ResyncRuns } from '../resync/runs.js';
import { REDIS_KEYS } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';
import { markWriters } from './progress.js';

export const BulkDrainJobSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('bulk'),
  target: z.enum(['zendesk', 'salesforce']),
  /** Which of the target's concurrent drains this is (its deduplication id). */
  slot: z.number().int().min(0),
});
export type BulkDrainJob = z.infer<typeof BulkDrainJobSchema>;

export interface BulkBacklog {
  /** Customers waiting for a bulk call. */
  pending: number;
  /** Customers a drain has taken and not finished yet. */
  inFlight: number;
  /** How long the customer waiting longest has waited, in seconds. */
  oldestSeconds: number;
}

/** What resync pushes still owe a target (for `status` and the dashboard). */
export async function bulkBacklog(
  redis: Redis,
  prefix: string,
  target: string,
  now = Date.now(),
): Promise<BulkBacklog> {
  const keys = REDIS_KEYS.bulk(prefix, target);
  const [pending, inFlight, oldest] = await Promise.all([
    redis.zcard(keys.pending),
    redis.zcard(keys.claimed),
    redis.zrangebyscore(keys.pending, '(0', '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
  ]);
  // A customer put back by a drain that died scores 0 (its first queueing time is lost): the oldest known one counts.
  const since = Number(oldest[1] ?? 0);
  return { pending, inFlight, oldestSeconds: since > 0 ? Math.max(0, Math.round((now - since) / 1000)) : 0 };
}

/** A drain job: deduplicated per slot, and while one runs, a single follow-up is kept. */
export function drainJob(target: PortalTargetName, slot: number, delayMs: number) {
  return {
    name: `bulk-${target}`,
    data: { v: 1, kind: 'bulk', target, slot } satisfies BulkDrainJob,
    opts: {
      delay: delayMs,
      priority: RESYNC_PRIORITY,
      deduplication: { id: `bulk-${target}-${slot}`, keepLastIfActive: true },
    },
  } as const;
}

/**
 * Queues customers for the target's next drains (the time of the first queueing is kept), and drops
 * records merged into them (gone: their data is pushed with the record they joined); returns how many
 * were not pending yet. While anything is pending a drain job exists (each drain schedules the next
 * while customers wait), so a customer already pending needs no new drain job.
 */
export async function queueForBulk(
  redis: Redis,
  prefix: string,
  target: PortalTargetName,
  customerIds: readonly string[],
  mergedIds: readonly string[] = [],
  now = Date.now(),
): Promise<number> {
  if (customerIds.length === 0) return 0;
  const pending = REDIS_KEYS.bulk(prefix, target).pending;
  const tx = redis.multi().zadd(pending, 'NX', ...customerIds.flatMap((id) => [String(now), id]));
  if (mergedIds.length > 0) tx.zrem(pending, ...mergedIds);
  const [[err, added] = [null, 0]] = (await tx.exec()) ?? [];
  if (err) throw err;
  return Number(added);
}

/** What pushing a customer now would send, or why nothing needs to be sent. */
export type PreparedPush =
  | { kind: 'skip'; result: PushResult & { calls: 0; skipped: string }; counted: boolean }
  /** `accept` stores what the target now holds; false when another push of the customer was accepted meanwhile (the state is dropped). */
  | { kind: 'push'; push: PortalPush; accept: (writerToken: string) => Promise<boolean> };

export interface BulkDrainerOptions {
  redis: Redis;
  prefix: string;
  target: PortalTarget;
  /** The target's push queue: follow-up drains. */
  queue: Queue;
  /** Drains of this target that may run at once (the push worker's concurrency). */
  slots: number;
  /** The target's call gate (see BulkContext). */
  gate: CallGate;
  prepare(customerId: string): Promise<PreparedPush>;
  /** Hands one customer to a per-customer push job, which retries it alone and dead-letters it with the platform's message. */
  pushAlone(customerId: string): Promise<void>;
  onPushed?: (result: PushResult) => void;
  logger: Logger;
  /** Longest wait for a running resync before its pushes go out anyway (default 60 min; 0: never wait). */
  holdMaxMs?: number;
  /** Whether snapshots are still being read or applied (default: the latest resync run, and resync jobs in the events queue). */
  resyncActive?: () => Promise<boolean>;
  leaseMs?: number;
}

export interface DrainOutcome {
  claimed: number;
  pushed: number;
  unchanged: number;
  /** Handed to per-customer push jobs (refused in the bulk answer, or pushed alone by a target without pushMany). */
  alone: number;
  calls: number;
}

/** A safety net: a resync still reading after this long gets its pushes going anyway (the wait ends with the run, normally). */
const BULK_HOLD_MAX_MS = 60 * 60_000;
const HOLD_RECHECK_MS = 1_000;
/** Records read and compared at once within a batch: memory stays flat however large the batch. */
const PREPARE_AT_ONCE = 50;
const LEASE_MS = 5 * 60_000;

/**
 * Resync activity as the runner leaves it in Redis: the latest run still being read (marked running,
 * and its lease held by a live process: a killed one's lapses within seconds), or snapshots waiting
 * in the events queue (a run started with --no-wait, the reconciler).
 */
function resyncActivity(redis: Redis, prefix: string): () => Promise<boolean> {
  const runs = new ResyncRuns(redis, prefix);
  const events = createEventsQueue(redis, prefix);
  events.on('error', () => undefined); // failures reach the caller through getJobCounts; unheard, BullMQ prints them outside the JSON log
  return async () => {
    const latest = await runs.latest();
    if (latest?.status === 'running' && !latest.params.dryRun && (await runs.isHeld(latest.id))) return true;
    return ((await events.getJobCounts('prioritized')).prioritized ?? 0) > 0;
  };
}

/** A customer of a batch whose current state the target does not hold yet. */
type BatchPush = { id: string; p: Extract<PreparedPush, { kind: 'push' }> };

/** The drains of one target: claims, the hold for a running resync, bulk calls and their answers, follow-up drains. */
export class BulkDrainer {
  /** The target's pending and claimed sets, and each drain job's own. */
  readonly keys: ReturnType<typeof REDIS_KEYS.bulk>;
  private readonly redis: Redis;
  private readonly target: PortalTarget;
  private readonly log: Logger;
  private readonly holdMaxMs: number;
  private readonly resyncActive: () => Promise<boolean>;
  private readonly leaseMs: number;
  private readonly size: number;
  private readonly allSlots: number[];

  constructor(private readonly opts: BulkDrainerOptions) {
    this.redis = opts.redis;
    this.target = opts.target;
    this.keys = REDIS_KEYS.bulk(opts.prefix, opts.target.name);
    this.log = opts.logger.child({ module: 'bulk-push', target: opts.target.name });
    this.holdMaxMs = opts.holdMaxMs ?? BULK_HOLD_MAX_MS;
    this.resyncActive = opts.resyncActive ?? resyncActivity(opts.redis, opts.prefix);
    this.leaseMs = opts.leaseMs ?? LEASE_MS;
    this.size = Math.max(1, opts.target.bulkSize ?? 100);
    this.allSlots = Array.from({ length: Math.max(1, opts.slots) }, (_, i) => i);
  }

  /** Runs one batch. Throws a RateLimitedError (the batch is back in pending) for the worker to wait out (pauseForRateLimit). */
  async drain(job: Job, token: string | undefined): Promise<DrainOutcome> {
    const jobId = job.id!;
    const outcome: DrainOutcome = { claimed: 0, pushed: 0, unchanged: 0, alone: 0, calls: 0 };
    const hold = await this.holdFor();
    if (hold > 0) {
      await job.moveToDelayed(Date.now() + hold, token);
      throw new DelayedError();
    }
    const ids = await this.claim(jobId);
    outcome.claimed = ids.length;
    if (ids.length === 0) return outcome;
    // More waiting than this batch: the other slots start now, not after it.
    if ((await this.redis.zcard(this.keys.pending)) > 0) await this.schedule(this.allSlots);
    let open = [...ids];
    try {
      await this.pushBatch(ids, outcome);
      await this.release(jobId, ids, false);
      open = [];
    } finally {
      // Stopped half-way (rate limit, a 5xx, a lost connection): what is not done goes back to pending.
      if (open.length > 0) await this.release(jobId, open, true).catch(() => undefined);
    }
    // Keep every slot busy while customers are waiting.
    if ((await this.redis.zcard(this.keys.pending)) > 0) await this.schedule(this.allSlots);
    return outcome;
  }

  /** After a start: a drain for whatever a stopped worker left pending or claimed. */
  async kick(): Promise<void> {
    const [pending, first] = await Promise.all([
      this.redis.zcard(this.keys.pending),
      this.redis.zrange(this.keys.claimed, '0', '0', 'WITHSCORES'),
    ]);
    if (pending > 0) return this.schedule([0]);
    if (first[1] !== undefined) {
      const [seconds, micros] = await this.redis.time();
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      await this.schedule([0], Math.max(0, Number(first[1]) - now) + 100);
    }
  }

  private release(jobId: string, ids: readonly string[], back: boolean): Promise<void> {
    const { keys } = this;
    return ids.length === 0
      ? Promise.resolve()
      : runScript(
          this.redis,
          'bulk-release',
          [keys.pending, keys.claimed, keys.byJob(jobId)],
          [back ? '1' : '0', ...ids],
        ).then(() => undefined);
  }

  /** The job's own claims back first (a drain of it died mid-batch), else a new batch from pending. */
  private async claim(jobId: string): Promise<string[]> {
    const { redis, keys } = this;
    const mine = await redis.smembers(keys.byJob(jobId));
    const taken =
      mine.length > 0
        ? ((await runScript(
            redis,
            'bulk-reclaim',
            [keys.claimed, keys.byJob(jobId)],
            [String(this.leaseMs), ...mine],
          )) as string[])
        : [];
    if (taken.length > 0) {
      this.log.warn(
        { jobId, customers: taken.length },
        'a drain of this job died mid-batch: pushing its customers again',
      );
      return taken;
    }
    return (await runScript(
      redis,
      'bulk-claim',
      [keys.pending, keys.claimed, keys.byJob(jobId)],
      [String(this.size), String(this.leaseMs)],
    )) as string[];
  }

  /** How long to wait before draining: while a resync is running, up to holdMaxMs after the first queued customer. */
  private async holdFor(): Promise<number> {
    if (this.holdMaxMs <= 0) return 0;
    const [, score] = await this.redis.zrangebyscore(this.keys.pending, '(0', '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
    if (score === undefined) return 0;
    const left = Number(score) + this.holdMaxMs - Date.now();
    if (left <= 0 || !(await this.resyncActive())) return 0;
    return Math.min(HOLD_RECHECK_MS, left);
  }

  private async schedule(slots: readonly number[], delayMs = 0): Promise<void> {
    for (const slot of slots) {
      const d = drainJob(this.target.name, slot, delayMs);
      await this.opts.queue.add(d.name, d.data, d.opts);
    }
  }

  /** The claimed customers compared with what the target holds; those it does not hold are pushed. */
  private async pushBatch(ids: readonly string[], outcome: DrainOutcome): Promise<void> {
    const prepared: Array<{ id: string; p: PreparedPush }> = [];
    for (let i = 0; i < ids.length; i += PREPARE_AT_ONCE) {
      prepared.push(
        ...(await Promise.all(
          ids.slice(i, i + PREPARE_AT_ONCE).map(async (id) => ({ id, p: await this.opts.prepare(id) })),
        )),
      );
    }
    const pushes = prepared.flatMap(({ id, p }) => (p.kind === 'push' ? [{ id, p }] : []));
    for (const { p } of prepared) if (p.kind === 'skip' && p.counted) this.opts.onPushed?.(p.result);
    outcome.unchanged = prepared.length - pushes.length;
    if (pushes.length === 0) return;
    if (!this.target.pushMany) {
      await this.pushAlone(pushes, null, outcome);
      return;
    }
    // Writers of these customers from now on: no push trusts the progress it kept before this drain, and where the
    // last writer stopped before its accept, the drain writes the whole projection (progress.ts).
    const { token, unfinished } = await markWriters(
      this.redis,
      this.opts.prefix,
      this.target.name,
      pushes.map(({ id }) => id),
    );
    let answer;
    try {
      answer = await this.target.pushMany(
        pushes.map(({ id, p }) => (unfinished.has(id) ? { ...p.push, previous: null } : p.push)),
        { gate: this.opts.gate },
      );
    } catch (err) {
      // A whole call refused: the batch goes out customer by customer, each with its own answer.
      if (!(err instanceof PermanentError)) throw err;
      await this.pushAlone(pushes, err.message, outcome);
      return;
    }
    await this.settleAnswer(pushes, answer, outcome, token);
  }

  /** Each customer of a bulk answer: its accepted state stored, or (refused, or changed since) pushed alone. */
  private async settleAnswer(
    pushes: BatchPush[],
    answer: BulkPushResult,
    outcome: DrainOutcome,
    writerToken: string,
  ): Promise<void> {
    outcome.calls = answer.calls;
    const refused: BatchPush[] = [];
    const movedOn: BatchPush[] = [];
    await Promise.all(
      pushes.map(async (entry, n) => {
        const item = answer.items[n];
        if (!item?.ok) {
          refused.push(entry);
          if (item) this.log.warn({ customerId: entry.id, reason: item.error.message }, 'refused in a bulk answer');
          return;
        }
        const kept = await entry.p.accept(writerToken);
        outcome.pushed += 1;
        this.opts.onPushed?.(item.result);
        // The record may have changed while the batch was on its way (a Zendesk job runs later still), and a
        // real-time push of the newer state may have landed BEFORE this older one (then the real-time push
        // accepted in between, and this accept kept nothing): push it again on its own.
        if (!kept || (await this.opts.prepare(entry.id)).kind === 'push') movedOn.push(entry);
      }),
    );
    await this.pushAlone(refused, null, outcome);
    await this.pushAlone(movedOn, null, outcome);
  }

  /** Customers handed to per-customer push jobs; `why` is the bulk call's refusal, if that is the reason. */
  private async pushAlone(which: readonly BatchPush[], why: string | null, outcome: DrainOutcome): Promise<void> {
    for (const { id } of which) await this.opts.pushAlone(id);
    outcome.alone += which.length;
    if (why !== null && which.length > 0)
      this.log.warn({ customers: which.length, reason: why }, 'bulk push refused; pushing these customers one by one');
  }
}

export function createBulkDrainer(opts: BulkDrainerOptions): BulkDrainer {
  return new BulkDrainer(opts);
}
