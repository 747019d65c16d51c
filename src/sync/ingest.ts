/**
 * The hand-off from the HTTP edge to the core: remember which events were
 * accepted (so redeliveries are dropped for longer than BullMQ keeps jobs),
 * enqueue the new ones, and keep schema-invalid payloads in a quarantine list.
 *
 * Dedupe marks go through two states. `pending` (short TTL) while the job is
 * being added, `done` (long TTL) once it is in the queue. A crash between the
 * two leaves only a short-lived `pending`, so the provider's retry succeeds;
 * a concurrent duplicate that sees `pending` is told to retry rather than
 * being acknowledged for an event that may yet fail to enqueue.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { EventsQueue } from './queues.js';
import { isRedisReady, withTimeout } from './redis.js';
import { jobIdFor, type Source, type SourceEvent } from './source-event.js';

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export interface IngestOptions {
  redis: Redis;
  queue: EventsQueue;
  prefix: string;
  dedupeTtlSeconds: number;
  quarantineMax: number;
  timeoutMs: number;
}

export interface EnqueueOutcome {
  accepted: SourceEvent[];
  duplicates: SourceEvent[];
  /** Another delivery of the same event is being enqueued right now: answer "retry later". */
  inFlight: SourceEvent[];
}

export interface QuarantineEntry {
  id: string;
  source: Source;
  eventId: string | null;
  reason: string;
  receivedAt: string;
  contentType: string | null;
  /** The verified body, kept for inspection and replay (never logged). */
  body: string;
}

const PENDING_TTL_SECONDS = 60;

export class Ingestor {
  constructor(private readonly opts: IngestOptions) {}

  seenKey(event: Pick<SourceEvent, 'source' | 'eventId'>): string {
    return `${this.opts.prefix}:seen:${jobIdFor(event.source, event.eventId)}`;
  }

  get quarantineKey(): string {
    return `${this.opts.prefix}:quarantine`;
  }

  async enqueue(events: SourceEvent[]): Promise<EnqueueOutcome> {
    this.assertReady();
    return this.guard(this.enqueueNow(events));
  }

  private async enqueueNow(events: SourceEvent[]): Promise<EnqueueOutcome> {
    const { redis, queue, dedupeTtlSeconds } = this.opts;
    // The same event twice in one payload counts once.
    const unique = [...new Map(events.map((e) => [this.seenKey(e), e])).values()];
    const claim = redis.multi();
    for (const e of unique) claim.set(this.seenKey(e), 'pending', 'EX', PENDING_TTL_SECONDS, 'NX', 'GET');
    const replies = (await claim.exec()) ?? [];
    const outcome: EnqueueOutcome = { accepted: [], duplicates: [], inFlight: [] };
    unique.forEach((e, i) => {
      const [err, previous] = replies[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      if (previous === null) outcome.accepted.push(e);
      else if (previous === 'pending') outcome.inFlight.push(e);
      else outcome.duplicates.push(e);
    });
    if (outcome.accepted.length === 0) return outcome;
    try {
      await queue.addBulk(outcome.accepted.map((e) => ({ name: e.type, data: e, opts: { jobId: jobIdFor(e.source, e.eventId) } })));
    } catch (err) {
      // Release the claims so the provider's retry is not mistaken for a duplicate.
      await redis.del(...outcome.accepted.map((e) => this.seenKey(e))).catch(() => undefined);
      throw err;
    }
    const commit = redis.multi();
    for (const e of outcome.accepted) commit.set(this.seenKey(e), 'done', 'EX', dedupeTtlSeconds);
    await commit.exec();
    return outcome;
  }

  async quarantine(entry: Omit<QuarantineEntry, 'id' | 'receivedAt'>): Promise<QuarantineEntry> {
    this.assertReady();
    const full: QuarantineEntry = { id: randomUUID(), receivedAt: new Date().toISOString(), ...entry };
    await this.guard(
      this.opts.redis
        .multi()
        .lpush(this.quarantineKey, JSON.stringify(full))
        .ltrim(this.quarantineKey, 0, this.opts.quarantineMax - 1)
        .exec(),
    );
    return full;
  }

  async listQuarantine(limit = 100): Promise<QuarantineEntry[]> {
    const rows = await this.opts.redis.lrange(this.quarantineKey, 0, limit - 1);
    return rows.map((r) => JSON.parse(r) as QuarantineEntry);
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
