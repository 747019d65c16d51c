/**
 * The resync runner: reads every stream page by page, puts each page's
 * snapshots on the events queue BEHIND real-time work (BullMQ runs
 * un-prioritized jobs before prioritized ones), saves the stream's cursor
 * once the page is queued, and waits for the events worker to apply them.
 *
 * Bounded on purpose: one page per stream in memory, and reading pauses
 * while the queue already holds `maxBacklog` resync jobs, so a resync of a
 * million customers neither fills Redis nor starves the webhooks.
 */
import type { Logger } from '../../log.js';
import type { EventsQueue } from '../events/queue.js';
import { isRetryable } from '../errors.js';
import type { SnapshotPage, SnapshotStream } from './snapshot.js';
import { LEASE_MS, resyncJobId, type ResyncCounts, type ResyncRuns } from './runs.js';

/** Behind webhooks (priority 0); ahead of nothing. The push planner gives resync pushes the same. */
export const RESYNC_PRIORITY = 10;

export interface StreamProgress {
  stream: string;
  pages: number;
  read: number;
  enqueued: number;
  /** Objects the API says the stream holds, when it can tell. */
  total: number | null;
  done: boolean;
}

export interface ResyncProgress {
  streams: StreamProgress[];
  counts: ResyncCounts;
}

export interface RunResyncOptions {
  runs: ResyncRuns;
  runId: string;
  queue: EventsQueue;
  streams: SnapshotStream[];
  logger: Logger;
  /** Resync jobs allowed to wait in the queue before reading pauses. */
  maxBacklog?: number;
  /** Wait for the worker to apply everything queued (default true). */
  waitForApply?: boolean;
  /** Give up waiting for the worker after this long without progress. */
  stallTimeoutMs?: number;
  /** Attempts per page when the API says retry (429, 5xx, network). */
  pageAttempts?: number;
  onProgress?: (p: ResyncProgress) => void;
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
  /** How long to wait for another process's lease on the run to lapse (default: a lease's length). */
  leaseWaitMs?: number;
  onWaitingForLease?: () => void;
  /** Hears of each wait for a platform: a page refused for now (a rate limit with its Retry-After, a 5xx), and how long. */
  onWait?: (wait: ResyncWait) => void;
}

export interface ResyncWait {
  stream: string;
  ms: number;
  reason: string;
}

export interface ResyncSummary {
  runId: string;
  streams: StreamProgress[];
  counts: ResyncCounts;
  /** False when the worker stopped making progress before every snapshot was applied. */
  complete: boolean;
  seconds: number;
}

/**
 * One page, read again after what the API calls temporary (429 with its Retry-After, 5xx, network):
 * exponential backoff up to 30 s, `attempts` in all. Anything else, or the last failure, is thrown.
 */
export async function readPageWithRetry(
  stream: SnapshotStream,
  cursor: string | null,
  opts: {
    log: Logger;
    sleep?: (ms: number) => Promise<void>;
    attempts?: number;
    beforeWait?: (wait: ResyncWait) => void;
  },
): Promise<SnapshotPage> {
  const attempts = opts.attempts ?? 20;
  const sleep = opts.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await stream.page(cursor);
    } catch (err) {
      if (!isRetryable(err) || attempt >= attempts) throw err;
      const waitMs = err.retryAfterMs ?? Math.min(30_000, 500 * 2 ** (attempt - 1));
      opts.log.warn({ stream: stream.name, attempt, waitMs, reason: err.message }, 'page read failed; retrying');
      const reason =
        err.retryAfterMs !== undefined
          ? `${stream.source} rate limit (its Retry-After)`
          : `${stream.source} answered: ${err.message}; retrying`;
      opts.beforeWait?.({ stream: stream.name, ms: waitMs, reason });
      await sleep(waitMs);
    }
  }
}

class ResyncAbortedError extends Error {
  override name = 'ResyncAbortedError';
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class RunBusyError extends Error {
  override name = 'RunBusyError';
}

/**
 * Reads run `runId` to its end under the run's lease: another process holding it (a resync still
 * running, or killed less than LEASE_MS ago) makes this wait for it to lapse, up to `leaseWaitMs`.
 */
export async function runResync(opts: RunResyncOptions): Promise<ResyncSummary> {
  const { runs, runId } = opts;
  const sleep = opts.sleep ?? realSleep;
  const holder = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const giveUpAt = Date.now() + (opts.leaseWaitMs ?? LEASE_MS + 2_000);
  while (!(await runs.acquire(runId, holder))) {
    if (Date.now() > giveUpAt)
      throw new RunBusyError(
        `resync ${runId} is being read by another process; wait for it to finish (portal-sync status)`,
      );
    opts.onWaitingForLease?.();
    await sleep(500);
  }
  const renewal = setInterval(() => void runs.renew(runId, holder).catch(() => undefined), LEASE_MS / 3);
  try {
    return await readRun(opts);
  } finally {
    clearInterval(renewal);
    await runs.release(runId, holder).catch(() => undefined);
  }
}

async function readRun(opts: RunResyncOptions): Promise<ResyncSummary> {
  const started = performance.now();
  const { runs, runId, queue, logger } = opts;
  const sleep = opts.sleep ?? realSleep;
  const maxBacklog = opts.maxBacklog ?? 2_000;
  const log = logger.child({ module: 'resync', runId });
  const progress: StreamProgress[] = opts.streams.map((s) => ({
    stream: s.name,
    pages: 0,
    read: 0,
    enqueued: 0,
    total: null,
    done: false,
  }));
  let counts = await runs.counts(runId);
  const report = () => opts.onProgress?.({ streams: progress, counts });
  const checkAbort = () => {
    if (opts.signal?.aborted)
      throw new ResyncAbortedError('resync interrupted; run it again with --resume to continue');
  };

  const backlog = async () => {
    const c = await queue.getJobCounts('prioritized', 'waiting');
    return (c.prioritized ?? 0) + (c.waiting ?? 0);
  };

  const readStream = async (stream: SnapshotStream, p: StreamProgress) => {
    let cursor = await runs.cursor(runId, stream.name);
    if (cursor === null) {
      p.done = true;
      return; // finished before a restart: nothing is read again
    }
    p.total = (await stream.estimate?.().catch(() => null)) ?? null;
    let position: string | null = cursor ?? null;
    for (;;) {
      checkAbort();
      while ((await backlog()) > maxBacklog) {
        report();
        checkAbort();
        await sleep(100);
      }
      const page = await readPage(stream, position);
      // One job per snapshot: the same object at the same version twice in a page is one job (and one count).
      const events = [...new Map(page.events.map((e) => [e.eventId, e])).values()];
      if (events.length > 0) {
        await queue.addBulk(
          events.map((e) => ({
            name: e.type,
            data: { ...e, lane: 'resync' as const },
            opts: {
              jobId: resyncJobId(runId, { stream: stream.name, cursor: position }, e.eventId),
              priority: RESYNC_PRIORITY,
            },
          })),
        );
      }
      for (const r of page.rejected)
        log.warn(
          { stream: stream.name, objectId: r.objectId, reason: r.reason },
          'object skipped: its shape is rejected',
        );
      await runs.pageDone(runId, stream.name, page.next, {
        enqueued: events.length,
        read: page.read,
        rejected: page.rejected.length,
      });
      p.pages += 1;
      p.read += page.read;
      p.enqueued += events.length;
      report();
      if (page.next === null) break;
      position = page.next;
    }
    p.done = true;
    cursor = null;
    log.info({ stream: stream.name, pages: p.pages, read: p.read }, 'stream read');
  };

  const beforeWait = (w: ResyncWait) => {
    checkAbort();
    opts.onWait?.(w);
  };
  const readPage = (stream: SnapshotStream, cursor: string | null) =>
    readPageWithRetry(stream, cursor, {
      log,
      sleep,
      ...(opts.pageAttempts !== undefined && { attempts: opts.pageAttempts }),
      beforeWait,
    });

  const results = await Promise.allSettled(opts.streams.map((s, i) => readStream(s, progress[i]!)));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;

  let complete = true;
  if (opts.waitForApply ?? true) {
    const stallMs = opts.stallTimeoutMs ?? 120_000;
    let lastDone = -1;
    let lastMove = Date.now();
    for (;;) {
      counts = await runs.counts(runId);
      report();
      const done = counts.applied + counts.failed;
      if (done >= counts.enqueued) break;
      if (done !== lastDone) {
        lastDone = done;
        lastMove = Date.now();
      } else if (Date.now() - lastMove > stallMs) {
        complete = false;
        log.warn(
          { applied: done, enqueued: counts.enqueued },
          'the events worker made no progress; is the daemon running?',
        );
        break;
      }
      checkAbort();
      await sleep(200);
    }
  }
  counts = await runs.counts(runId);
  await runs.finish(runId, 'finished');
  report();
  return { runId, streams: progress, counts, complete, seconds: (performance.now() - started) / 1000 };
}
