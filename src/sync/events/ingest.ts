/**
 * The hand-off from the HTTP edge to the core: remember which events were
 * accepted (so redeliveries are dropped for longer than BullMQ keeps jobs),
 * enqueue the new ones, and keep schema-invalid payloads in the quarantine (quarantine.ts).
 *
 * A batch is one Redis round trip (enqueue-script.ts): one script checks each
 * event's dedupe mark, adds the new events' jobs with BullMQ's own add code
 * and marks them `done` (long TTL) — atomically, so no mark ever says `done`
 * without its job, and a failed add leaves no mark to release: the provider's
 * retry is enqueued. A batch is answered once the script returned, i.e. once
 * its jobs are in the queue. Marks `pending:<claimed at>` written by earlier
 * releases (claim, add, commit) are honoured: a fresh one is in flight (the
 * delivery is told to retry), one older than the enqueue deadline belongs to a
 * process or a Redis that died between claim and add and is taken over —
 * harmless if the job did land, since the job id is the event's own and
 * BullMQ adds an existing job id once.
 *
 * With `ackReplicas` > 0 a batch is acknowledged only once that many replicas
 * hold it (WAIT after the script; replication is one ordered stream, so a
 * replica holding the mark holds the job). Short of that the batch fails with
 * ReplicaAckError (503): its marks stay `done` on the primary. The provider's
 * retry then meets a duplicate, and a duplicate is acknowledged only after the
 * same WAIT, behind a write of its own (the mark's TTL is renewed): that covers
 * the first delivery's job, whichever process wrote it. If the primary died
 * first, the promoted replica holds neither mark nor job and the retry is
 * accepted anew — applied exactly once either way.
 */
import type { Redis } from 'ioredis';
import {
  QuarantineStore,
  type NewQuarantineEntry,
  type QuarantineEntry,
  type QuarantineLimits,
  type QuarantineMeta,
} from './quarantine.js';
import type { EventsQueue } from './queue.js';
import { noteWebhook } from '../health.js';
import { markAndAdd, type JobToAdd } from './enqueue-script.js';
import { BATCH_JOB_NAME, batchJobId, batchSizes } from './batch-job.js';
import { isRedisReady, withTimeout } from '../redis/connection.js';
import { jobIdFor, type Source, type SourceEvent } from './source-event.js';
import { REDIS_KEYS } from '../redis/keys.js';

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** Redis took the batch, but fewer replicas than redis.ackReplicas confirmed it within redis.ackTimeoutMs. */
export class ReplicaAckError extends StoreUnavailableError {
  override name = 'ReplicaAckError';
  constructor(
    readonly wanted: number,
    readonly confirmed: number,
  ) {
    super(`${confirmed} of ${wanted} replicas confirmed the write in time`);
  }
}

export interface IngestOptions {
  redis: Redis;
  queue: EventsQueue;
  prefix: string;
  dedupeTtlSeconds: number;
  quarantineLimits: QuarantineLimits;
  timeoutMs: number;
  /** Replicas that must hold a batch before it is acknowledged (Redis WAIT); 0 or absent: the primary alone. */
  ackReplicas?: number;
  /** WAIT's timeout; below timeoutMs (the config refuses otherwise). */
  ackTimeoutMs?: number;
}

export interface EnqueueOutcome {
  accepted: SourceEvent[];
  duplicates: SourceEvent[];
  /** Another delivery of the same event is being enqueued right now: answer "retry later". */
  inFlight: SourceEvent[];
}

/** A webhook event's job data (a single job's, or an element of a batch's): the event, on the real-time lane. */
const jobJson = (e: SourceEvent): string => JSON.stringify({ ...e, lane: 'realtime' as const });

/** How often, at most, the time of the last webhook of a source is written (per process). */
const NOTE_INTERVAL_MS = 1000;
/** Past this many waiting requests a batch is flushed at once rather than at the end of the turn. */
const MAX_BATCH_REQUESTS = 200;

export class Ingestor {
  readonly quarantined: QuarantineStore;

  constructor(private readonly opts: IngestOptions) {
    this.quarantined = new QuarantineStore(opts.redis, opts.prefix, opts.quarantineLimits);
  }

  seenKey(event: Pick<SourceEvent, 'source' | 'eventId'>): string {
    return REDIS_KEYS.seen(this.opts.prefix, jobIdFor(event.source, event.eventId));
  }

  /**
   * Notes that a verified webhook of `source` arrived (for `status` and /metrics); never delays or fails the answer.
   * At most one write per source per NOTE_INTERVAL_MS: the first webhook after a quiet interval is written at once,
   * the ones during a burst by one trailing write of the latest time (a write per request cost more than the enqueue).
   */
  noteWebhook(source: Source): void {
    if (!isRedisReady(this.opts.redis)) return;
    const now = Date.now();
    const note = this.notes.get(source);
    if (!note || (now - note.writtenAt >= NOTE_INTERVAL_MS && !note.trailing)) {
      this.notes.set(source, { writtenAt: now, latest: now });
      noteWebhook(this.opts.redis, this.opts.prefix, source, now).catch(() => undefined);
      return;
    }
    note.latest = now;
    if (note.trailing) return;
    note.trailing = setTimeout(
      () => {
        note.trailing = undefined;
        note.writtenAt = Date.now();
        if (isRedisReady(this.opts.redis))
          noteWebhook(this.opts.redis, this.opts.prefix, source, note.latest).catch(() => undefined);
      },
      Math.max(0, NOTE_INTERVAL_MS - (now - note.writtenAt)),
    );
    note.trailing.unref();
  }

  private readonly notes = new Map<
    Source,
    { writtenAt: number; latest: number; trailing?: NodeJS.Timeout | undefined }
  >();

  /**
   * Requests that arrive in the same turn of the event loop are enqueued together, by one script (one
   * round trip). No request waits for a timer, and under load the Redis round trips are shared instead
   * of multiplied. The enqueue deadline (timeoutMs) is one timer per batch, not one per request.
   */
  async enqueue(events: SourceEvent[]): Promise<EnqueueOutcome> {
    this.assertReady();
    return new Promise<EnqueueOutcome>((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      if (this.waiting.length >= MAX_BATCH_REQUESTS) void this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private waiting: Array<{
    events: SourceEvent[];
    resolve: (o: EnqueueOutcome) => void;
    reject: (e: unknown) => void;
  }> = [];
  private flushScheduled = false;

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.waiting.splice(0);
    if (batch.length === 0) return;
    try {
      const outcomes = await this.guard(this.enqueueGroups(batch.map((w) => w.events)));
      batch.forEach((w, i) => w.resolve(outcomes[i]!));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }

  private async enqueueGroups(groups: SourceEvent[][]): Promise<EnqueueOutcome[]> {
    const { redis, queue, dedupeTtlSeconds } = this.opts;
    // The same event twice in one payload counts once; across requests, the first in the batch wins.
    const uniqueGroups = groups.map((events) => {
      if (events.length === 1) return events;
      return [...new Map(events.map((e) => [jobIdFor(e.source, e.eventId), e])).values()];
    });
    const found = await markAndAdd(redis, queue, {
      jobs: this.jobsOf(uniqueGroups.flat()),
      now: Date.now(),
      deadlineMs: this.opts.timeoutMs,
      dedupeTtlSeconds,
      // With ackReplicas, a duplicate renews its mark: a write of this batch that the WAIT below then covers.
      renewDuplicates: this.waitsForReplicas,
    });
    let n = 0;
    const outcomes = uniqueGroups.map((events) => {
      const outcome: EnqueueOutcome = { accepted: [], duplicates: [], inFlight: [] };
      for (const e of events) {
        const what = found[n++];
        (what === 'accepted' ? outcome.accepted : what === 'duplicate' ? outcome.duplicates : outcome.inFlight).push(e);
      }
      return outcome;
    });
    await this.awaitReplicas();
    return outcomes;
  }

  /**
   * The jobs a flush's events go in, in their order: one per event under its own id when the flush is small, else
   * batch jobs (batch-job.ts) of consecutive events. Each event keeps its own dedupe mark either way.
   */
  private jobsOf(events: SourceEvent[]): JobToAdd[] {
    const jobs: JobToAdd[] = [];
    let next = 0;
    for (const size of batchSizes(events.length)) {
      const members = events.slice(next, (next += size)).map((e) => {
        const jobId = jobIdFor(e.source, e.eventId);
        return { jobId, type: e.type, mark: REDIS_KEYS.seen(this.opts.prefix, jobId), json: jobJson(e) };
      });
      const [only] = members;
      if (size === 1 && only) jobs.push({ name: only.type, jobId: only.jobId, batch: false, events: members });
      else jobs.push({ name: BATCH_JOB_NAME, jobId: batchJobId(), batch: true, events: members });
    }
    return jobs;
  }

  private get waitsForReplicas(): boolean {
    return (this.opts.ackReplicas ?? 0) > 0;
  }

  /**
   * WAIT for redis.ackReplicas replicas to hold every write this connection made so far; a shortfall throws
   * ReplicaAckError. WAIT blocks this connection meanwhile: the batches behind it wait too, which is what a
   * replica that cannot keep up should cause (they would not be acknowledged sooner).
   */
  private async awaitReplicas(): Promise<void> {
    const wanted = this.opts.ackReplicas ?? 0;
    if (wanted <= 0) return;
    const confirmed = Number(await this.opts.redis.wait(wanted, this.opts.ackTimeoutMs ?? 500));
    if (confirmed < wanted) throw new ReplicaAckError(wanted, confirmed);
  }

  /** Keeps a payload that failed its schema; says which older entries were evicted to stay within the limits. */
  async quarantine(entry: NewQuarantineEntry): Promise<{ meta: QuarantineMeta; evicted: string[] }> {
    this.assertReady();
    return this.guard(
      this.quarantined.put(entry).then(async (kept) => {
        await this.awaitReplicas();
        return kept;
      }),
    );
  }

  /** Entries without their bodies, newest first. */
  async listQuarantine(opts: { offset?: number; limit: number } = { limit: 1000 }): Promise<QuarantineMeta[]> {
    return this.quarantined.page(opts);
  }

  async getQuarantined(id: string): Promise<QuarantineEntry | null> {
    return this.quarantined.get(id);
  }

  /** Removes one entry (after a successful replay, or a purge). */
  async removeQuarantined(entry: Pick<QuarantineMeta, 'id'>): Promise<boolean> {
    return this.quarantined.remove(entry.id);
  }

  async purgeQuarantine(): Promise<number> {
    return this.quarantined.purge();
  }

  private assertReady(): void {
    if (!isRedisReady(this.opts.redis)) throw new StoreUnavailableError('Redis is not connected');
  }

  private async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await withTimeout(work, this.opts.timeoutMs, 'enqueue');
    } catch (err) {
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError((err as Error).message);
    }
  }
}
