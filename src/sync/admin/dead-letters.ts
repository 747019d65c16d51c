/**
 * The dead letters: jobs that failed for good (their reason kept by BullMQ) and payloads quarantined at
 * the edge because they failed their schema — listed a page at a time (`dlq list`, the dashboard), replayed
 * (a job back in its queue; a quarantined payload parsed again and enqueued) and purged.
 */
import { isBatchData } from '../events/batch-job.js';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Ingestor } from '../events/ingest.js';
import { PUSH_QUEUES } from '../push/planner.js';
import type { QuarantineEntry, QuarantineLimits, QuarantineMeta } from '../events/quarantine.js';
import { createEventsQueue } from '../events/queue.js';
import { openQueue } from '../queues.js';
import type { ParseResult } from '../events/source-event.js';

export interface DeadLetter {
  kind: 'job' | 'quarantine';
  id: string;
  queue: string;
  reason: string;
  attempts: number;
  at: string;
  source?: string;
  eventId?: string | null;
  customerId?: string;
}

/** Where dead letters are kept: the failed jobs of the events and push queues, and the quarantine (through the ingestor). */
export interface DeadLetters {
  queues: Array<Queue>;
  ingestor: Ingestor;
  close(): Promise<void>;
}

/** The part of the configuration dead letters need (the app's Config is one). */
export interface DeadLetterSettings {
  redis: { prefix: string };
  webhooks: { dedupeTtlSeconds: number };
  quarantine: QuarantineLimits;
}

/** `readOnly` (dlq list): the queues are opened without writing their meta keys. */
export function openDeadLetters(redis: Redis, config: DeadLetterSettings, readOnly = false): DeadLetters {
  const events = createEventsQueue(redis, config.redis.prefix, { readOnly });
  const push = PUSH_QUEUES.map((name) => openQueue(name, redis, config.redis.prefix, { readOnly }));
  const ingestor = new Ingestor({
    redis,
    queue: events,
    prefix: config.redis.prefix,
    dedupeTtlSeconds: config.webhooks.dedupeTtlSeconds,
    quarantineLimits: config.quarantine,
    timeoutMs: 10_000,
  });
  const queues = [events, ...push];
  return { queues, ingestor, close: async () => void (await Promise.all(queues.map((q) => q.close()))) };
}

/** Where a failed job's work came from: an event's source and id, or a push's target and customer. */
function jobOrigin(job: Job): { source?: string; eventId?: string | null; customerId?: string } {
  // A batch fails whole only when its failed events could not be split out (Redis refused): its replay runs them all.
  if (isBatchData(job.data)) return { source: `batch of ${job.data.events.length} events`, eventId: null };
  const data = (job.data ?? {}) as { source?: unknown; eventId?: unknown; target?: unknown; customerId?: unknown };
  if (typeof data.source === 'string')
    return { source: data.source, eventId: typeof data.eventId === 'string' ? data.eventId : null };
  return {
    ...(typeof data.target === 'string' ? { source: `push to ${data.target}` } : {}),
    ...(typeof data.customerId === 'string' ? { customerId: data.customerId } : {}),
  };
}

const jobLetter = (queue: string, job: Job): DeadLetter => ({
  kind: 'job',
  id: job.id ?? '',
  queue,
  reason: job.failedReason ?? 'unknown',
  attempts: job.attemptsMade,
  at: new Date(job.finishedOn ?? job.timestamp).toISOString(),
  ...jobOrigin(job),
});
const quarantineLetter = (q: QuarantineMeta): DeadLetter => ({
  kind: 'quarantine',
  id: q.id,
  queue: 'quarantine',
  reason: q.reason,
  attempts: 0,
  at: q.receivedAt,
  source: q.source,
  eventId: q.eventId,
});

export interface DeadLetterPage {
  /** Dead letters in all, across every queue and the quarantine. */
  total: number;
  offset: number;
  /** Newest first. */
  letters: DeadLetter[];
  /** Quarantined payloads evicted to stay within quarantine.maxEntries / maxBytes. */
  evicted: number;
}

/** With a time window, this many of the newest of each kind are looked through (metadata only, never a body). */
const WINDOW_SCAN = 10_000;

/**
 * One page of dead letters, newest first: reads at most offset + limit of each kind (WINDOW_SCAN with a
 * time window), and never a quarantined body.
 */
export async function listDeadLetters(
  dlq: DeadLetters,
  page: { offset?: number; limit: number; window?: { from: Date; to: Date } },
): Promise<DeadLetterPage> {
  const offset = page.offset ?? 0;
  const end = page.window ? WINDOW_SCAN : offset + page.limit;
  const [failedCounts, quarantine, jobs, quarantined] = await Promise.all([
    Promise.all(dlq.queues.map((q) => q.getFailedCount())),
    dlq.ingestor.quarantined.stats(),
    Promise.all(dlq.queues.map(async (q) => (await q.getFailed(0, end - 1)).map((job) => jobLetter(q.name, job)))),
    dlq.ingestor.listQuarantine({ limit: end }),
  ]);
  const w = page.window;
  const all = [...jobs.flat(), ...quarantined.map(quarantineLetter)]
    .filter((l) => !w || (Date.parse(l.at) >= w.from.getTime() && Date.parse(l.at) < w.to.getTime()))
    .sort((a, b) => b.at.localeCompare(a.at));
  const total = w ? all.length : failedCounts.reduce((n, c) => n + c, 0) + quarantine.entries;
  return { total, offset, letters: all.slice(offset, offset + page.limit), evicted: quarantine.evicted };
}

/** Parses a quarantined body again with today's parsers (src/connectors/reparse.ts: the core knows no parser). */
export type Reparse = (entry: QuarantineEntry) => ParseResult[];

/** Replays the named dead letters (or all); returns one line of outcome per letter. */
export async function replayDeadLetters(
  dlq: DeadLetters,
  reparse: Reparse,
  ids: Set<string> | 'all',
): Promise<Array<{ id: string; outcome: string }>> {
  const results: Array<{ id: string; outcome: string }> = [];
  const wanted = (id: string) => ids === 'all' || ids.has(id);
  for (const q of dlq.queues) {
    for (const job of await q.getFailed(0, 999)) {
      if (!job.id || !wanted(job.id)) continue;
      await job.retry('failed');
      results.push({ id: job.id, outcome: `back in the ${q.name} queue` });
    }
  }
  // One body in memory at a time: ids first, then each entry as it is replayed.
  for (const id of ids === 'all' ? await dlq.ingestor.quarantined.allIds() : [...ids]) {
    const entry = await dlq.ingestor.getQuarantined(id);
    if (!entry) continue;
    const parsed = reparse(entry);
    const events = parsed.flatMap((r) => (r.kind === 'events' ? r.events : []));
    const still = parsed.find((r) => r.kind === 'invalid');
    if (events.length === 0) {
      results.push({
        id: entry.id,
        outcome: still ? `still invalid: ${still.reason}` : 'nothing to apply (ignored type); removed',
      });
      if (!still) await dlq.ingestor.removeQuarantined(entry);
      continue;
    }
    const outcome = await dlq.ingestor.enqueue(events);
    await dlq.ingestor.removeQuarantined(entry);
    results.push({
      id: entry.id,
      outcome: `enqueued ${outcome.accepted.length} event(s), ${outcome.duplicates.length} already seen`,
    });
  }
  if (ids !== 'all')
    for (const id of ids)
      if (!results.some((r) => r.id === id)) results.push({ id, outcome: 'not found among dead letters' });
  return results;
}

/** Deletes every dead letter for good; returns how many. */
export async function purgeDeadLetters(dlq: DeadLetters): Promise<number> {
  let count = 0;
  for (const q of dlq.queues) count += (await q.clean(0, 100_000, 'failed')).length;
  return count + (await dlq.ingestor.purgeQuarantine());
}
