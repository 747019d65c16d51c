/**
 * `portal-sync dlq list | replay | purge` — the dead letters: jobs that failed
 * for good (their reason kept by BullMQ) and payloads quarantined at the edge
 * because they failed their schema. Replay puts a job back in its queue, or
 * parses a quarantined payload again with today's parsers and enqueues it.
 */
import { Queue, type Job } from 'bullmq';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { Ingestor } from '../sync/ingest.js';
import type { QuarantineMeta } from '../sync/quarantine.js';
import { PUSH_QUEUES } from '../sync/push-planner.js';
import { createEventsQueue, QUEUES } from '../sync/queues.js';
import { reparseQuarantined } from '../webhooks/reparse.js';
import { printJson, requireConfig, withDataRedis, withRedis } from './connect.js';
import { UsageError } from './errors.js';
import { TIME_GRAMMAR, timeWindowOption } from './time-options.js';
import { MAX_BACK_DAYS } from '../sync/admin/time-window.js';
import { printText } from './terminal.js';

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

interface Dlq {
  queues: Array<Queue>;
  ingestor: Ingestor;
  close(): Promise<void>;
}

/** `readOnly` (dlq list): the queues are opened without writing their meta keys. */
function open(redis: Redis, config: Config, readOnly = false): Dlq {
  const events = createEventsQueue(redis, config.redis.prefix, { readOnly });
  const push = PUSH_QUEUES.map((name) => new Queue(name, { connection: redis, prefix: config.redis.prefix, skipMetasUpdate: readOnly }));
  const ingestor = new Ingestor({ redis, queue: events, prefix: config.redis.prefix, dedupeTtlSeconds: config.webhooks.dedupeTtlSeconds, quarantineLimits: config.quarantine, timeoutMs: 10_000 });
  const queues = [events, ...push];
  return { queues, ingestor, close: async () => void (await Promise.all(queues.map((q) => q.close()))) };
}

/** Where a failed job's work came from: an event's source and id, or a push's target and customer. */
function jobOrigin(job: Job): { source?: string; eventId?: string | null; customerId?: string } {
  const data = (job.data ?? {}) as { source?: unknown; eventId?: unknown; target?: unknown; customerId?: unknown };
  if (typeof data.source === 'string') return { source: data.source, eventId: typeof data.eventId === 'string' ? data.eventId : null };
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
const quarantineLetter = (q: QuarantineMeta): DeadLetter => ({ kind: 'quarantine', id: q.id, queue: 'quarantine', reason: q.reason, attempts: 0, at: q.receivedAt, source: q.source, eventId: q.eventId });

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
export async function listDeadLetters(dlq: Dlq, page: { offset?: number; limit: number; window?: { from: Date; to: Date } }): Promise<DeadLetterPage> {
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

/** Replays the named dead letters (or all); returns one line of outcome per letter. */
export async function replayDeadLetters(dlq: Dlq, config: Config, ids: Set<string> | 'all'): Promise<Array<{ id: string; outcome: string }>> {
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
    const parsed = reparseQuarantined(entry, config);
    const events = parsed.flatMap((r) => (r.kind === 'events' ? r.events : []));
    const still = parsed.find((r) => r.kind === 'invalid');
    if (events.length === 0) {
      results.push({ id: entry.id, outcome: still ? `still invalid: ${still.reason}` : 'nothing to apply (ignored type); removed' });
      if (!still) await dlq.ingestor.removeQuarantined(entry);
      continue;
    }
    const outcome = await dlq.ingestor.enqueue(events);
    await dlq.ingestor.removeQuarantined(entry);
    results.push({ id: entry.id, outcome: `enqueued ${outcome.accepted.length} event(s), ${outcome.duplicates.length} already seen` });
  }
  if (ids !== 'all') for (const id of ids) if (!results.some((r) => r.id === id)) results.push({ id, outcome: 'not found among dead letters' });
  return results;
}

/** One aligned row a letter: when, queue, source, event id (or customer), the id to replay, why. */
export function deadLetterTable(letters: DeadLetter[]): string {
  const rows = [['DEAD-LETTERED', 'QUEUE', 'SOURCE', 'EVENT', 'ID (for dlq replay --id)', 'REASON']];
  for (const l of letters) rows.push([l.at, l.queue, l.source ?? '-', l.eventId ?? (l.customerId ? `customer ${l.customerId}` : '-'), l.id, l.reason]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

const wholeNumber = (flag: string, min: number) => (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) throw new UsageError(`${flag} must be a whole number of at least ${min} (got ${value})`);
  return n;
};

export function registerDlqCommand(program: Command): void {
  const dlq = program.command('dlq').description('dead letters: failed jobs and quarantined payloads');
  const run = <T>(work: (d: Dlq, config: Config) => Promise<T>, readOnly = false) => {
    const config = requireConfig();
    return (readOnly ? withDataRedis : withRedis)(config, async (redis) => {
      const d = open(redis, config, readOnly);
      try {
        return await work(d, config);
      } finally {
        await d.close();
      }
    });
  };
  dlq
    .command('list')
    .description('list dead-lettered jobs and quarantined payloads with their source, event id and reason, newest first, a page at a time')
    .option('--since <when>', `only those dead-lettered since then: ${TIME_GRAMMAR}`)
    .option('--until <when>', 'only those dead-lettered before then, in the same grammar')
    .option('--limit <n>', 'how many to show, newest first', wholeNumber('--limit', 1), 100)
    .option('--offset <n>', 'how many of the newest to skip (the next page)', wholeNumber('--offset', 0), 0)
    .option('--json', 'print the page as JSON')
    .addHelpText('after', '\nFailed jobs are kept until replayed or purged; quarantine keeps the newest quarantine.maxEntries payloads (quarantine.maxBytes of bodies).\n\nExamples:\n  $ portal-sync dlq list --since 24h\n  $ portal-sync dlq list --limit 20 --offset 20\n  $ portal-sync dlq list --since 2026-11-01 --until 2026-11-08 --json\n')
    .action(async (opts: { since?: string; until?: string; json?: boolean; limit: number; offset: number }) => {
      const window = opts.since === undefined && opts.until === undefined ? null : timeWindowOption(opts, new Date(), `${MAX_BACK_DAYS}d`);
      const page = await run((d) => listDeadLetters(d, { offset: opts.offset, limit: opts.limit, ...(window && { window }) }), true);
      if (opts.json) return printJson(page.letters);
      if (page.letters.length === 0) {
        const none = window ? `no dead letters between ${window.from.toISOString()} and ${window.to.toISOString()}` : 'no dead letters';
        printText(page.total === 0 ? `${none}\n` : `no dead letters past the ${opts.offset} newest (${page.total} in all)\n`);
      } else printText(deadLetterTable(page.letters));
      const shown = page.offset + page.letters.length;
      if (page.letters.length > 0 && shown < page.total) printText(`showing ${page.offset + 1}–${shown} of ${page.total}, newest first; next page: portal-sync dlq list --offset ${shown}\n`);
      if (page.evicted > 0) printText(`${page.evicted} quarantined payload(s) were evicted, oldest first, to stay within quarantine.maxEntries / quarantine.maxBytes\n`);
    });
  dlq
    .command('replay')
    .description('put dead-lettered jobs back in their queue; parse quarantined payloads again and enqueue them')
    .option('--id <id...>', 'the dead letters to replay (ids from `dlq list`)')
    .option('--all', 'replay every dead letter')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  $ portal-sync dlq replay --id stripe-evt_1NG8Du2eZvKYlo2C\n  $ portal-sync dlq replay --all\n')
    .action(async (opts: { id?: string[]; all?: boolean; json?: boolean }) => {
      if (!opts.all && !opts.id?.length) throw new UsageError('say which dead letters to replay: --id ID [ID…] or --all');
      const results = await run((d, config) => replayDeadLetters(d, config, opts.all ? 'all' : new Set(opts.id)));
      if (opts.json) return printJson(results);
      for (const r of results) printText(`${r.id}: ${r.outcome}\n`);
      if (results.some((r) => r.outcome.startsWith('not found') || r.outcome.startsWith('still invalid'))) process.exitCode = 1;
    });
  dlq
    .command('purge')
    .description('delete every dead letter (failed jobs and quarantined payloads) for good')
    .requiredOption('--yes', 'confirm: this cannot be undone')
    .action(async () => {
      const n = await run(async (d) => {
        let count = 0;
        for (const q of d.queues) count += (await q.clean(0, 100_000, 'failed')).length;
        return count + (await d.ingestor.purgeQuarantine());
      });
      printText(`purged ${n} dead letter(s)\n`);
    });
}
