/**
 * Resync runs in Redis: what was asked, where each stream stands (its
 * checkpoint cursor) and the running counts. A run killed half-way is
 * continued by `resync --resume` from the last page it finished: the cursor
 * of a page is saved in the same MULTI as its counts, after the page's jobs
 * are in the queue, so a page is never skipped (at worst re-enqueued, and a
 * snapshot applied twice changes nothing).
 *
 * Keys (prefix p):
 *   p:resync:latest            id of the newest run
 *   p:resync:run:<id>          hash: params (JSON), startedAt, finishedAt, status
 *   p:resync:run:<id>:cursor   hash: stream -> cursor ('' = finished)
 *   p:resync:run:<id>:counts   hash: enqueued, read, rejected, applied, changed, unchanged, conflicts, failed
 * The events worker adds applied/changed/unchanged/conflicts/failed (tallyResync) as it goes,
 * finding the run by the job id (resyncJobId).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { REDIS_KEYS } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';

/** Run ids are lower-case base36: BullMQ job ids may not contain ':' and the id is split on '-'. */
const RESYNC_EVENT_PREFIX = 'rs';
const RUN_ID_IN_JOB = /^rs-([0-9a-z]+)-/;
/** Kept for a week: long enough to resume after a weekend, short enough not to pile up. */
const RUN_TTL_SECONDS = 7 * 24 * 3600;
/** A resync process holds its run's lease this long past its last renewal. */
export const LEASE_MS = 10_000;

export interface ResyncParams {
  sources: string[];
  since: string | null;
  customer: string | null;
  dryRun: boolean;
}

export interface ResyncCounts {
  enqueued: number;
  read: number;
  rejected: number;
  applied: number;
  changed: number;
  unchanged: number;
  conflicts: number;
  failed: number;
}

export interface ResyncRunInfo {
  id: string;
  params: ResyncParams;
  startedAt: string;
  finishedAt: string | null;
  status: 'running' | 'finished' | 'failed';
  cursors: Record<string, string | null>;
  counts: ResyncCounts;
}

const ZERO: ResyncCounts = {
  enqueued: 0,
  read: 0,
  rejected: 0,
  applied: 0,
  changed: 0,
  unchanged: 0,
  conflicts: 0,
  failed: 0,
};

export class ResyncRuns {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private runKey(id: string): string {
    return REDIS_KEYS.resync(this.prefix).run(id);
  }
  private cursorKey(id: string): string {
    return `${this.runKey(id)}:cursor`;
  }
  countsKey(id: string): string {
    return `${this.runKey(id)}:counts`;
  }

  async create(params: ResyncParams, now = new Date()): Promise<string> {
    const id = `${now.getTime().toString(36)}${randomBytes(3).toString('hex')}`;
    await this.redis
      .multi()
      .hset(this.runKey(id), { params: JSON.stringify(params), startedAt: now.toISOString(), status: 'running' })
      .expire(this.runKey(id), RUN_TTL_SECONDS)
      .hset(this.countsKey(id), ZERO as unknown as Record<string, number>)
      .expire(this.countsKey(id), RUN_TTL_SECONDS)
      .set(REDIS_KEYS.resync(this.prefix).latest, id, 'EX', RUN_TTL_SECONDS)
      .zadd(this.indexKey, now.getTime(), id)
      .zremrangebyscore(this.indexKey, '-inf', now.getTime() - RUN_TTL_SECONDS * 1000)
      .exec();
    return id;
  }

  /** Run ids by start time (kept as long as the runs themselves). */
  private get indexKey(): string {
    return REDIS_KEYS.resync(this.prefix).runs;
  }

  /**
   * The newest run that has not finished, for `--resume`: a `--customer` resync started after a big
   * run was killed must not hide it. Dry runs store no run.
   */
  async latestUnfinished(lookBack = 50): Promise<ResyncRunInfo | null> {
    for (const id of await this.redis.zrevrange(this.indexKey, 0, lookBack - 1)) {
      const run = await this.get(id);
      if (run?.status === 'running') return run;
    }
    // Runs started before the index existed.
    const latest = await this.latest();
    return latest?.status === 'running' ? latest : null;
  }

  async latest(): Promise<ResyncRunInfo | null> {
    const id = await this.redis.get(REDIS_KEYS.resync(this.prefix).latest);
    return id === null ? null : this.get(id);
  }

  async get(id: string): Promise<ResyncRunInfo | null> {
    const [run, cursors, counts] = await Promise.all([
      this.redis.hgetall(this.runKey(id)),
      this.redis.hgetall(this.cursorKey(id)),
      this.counts(id),
    ]);
    if (!run['params']) return null;
    return {
      id,
      params: JSON.parse(run['params']) as ResyncParams,
      startedAt: run['startedAt'] ?? '',
      finishedAt: run['finishedAt'] ?? null,
      status: (run['status'] as ResyncRunInfo['status']) ?? 'running',
      cursors: Object.fromEntries(Object.entries(cursors).map(([k, v]) => [k, v === '' ? null : v])),
      counts,
    };
  }

  async counts(id: string): Promise<ResyncCounts> {
    const raw = await this.redis.hgetall(this.countsKey(id));
    const counts = { ...ZERO };
    for (const k of Object.keys(ZERO) as (keyof ResyncCounts)[]) counts[k] = Number(raw[k] ?? 0);
    return counts;
  }

  /** The stream's saved position: undefined = not started, null = finished, else the cursor to resume from. */
  async cursor(id: string, stream: string): Promise<string | null | undefined> {
    const v = await this.redis.hget(this.cursorKey(id), stream);
    return v === null ? undefined : v === '' ? null : v;
  }

  /** After a page's jobs are queued: its cursor and counts, in one transaction. */
  async pageDone(
    id: string,
    stream: string,
    next: string | null,
    page: { enqueued: number; read: number; rejected: number },
  ): Promise<void> {
    await this.redis
      .multi()
      .hset(this.cursorKey(id), stream, next ?? '')
      .expire(this.cursorKey(id), RUN_TTL_SECONDS)
      .hincrby(this.countsKey(id), 'enqueued', page.enqueued)
      .hincrby(this.countsKey(id), 'read', page.read)
      .hincrby(this.countsKey(id), 'rejected', page.rejected)
      .exec();
  }

  /**
   * A lease on the run, so two processes never read one run at once (a `--resume` while the first is
   * still going, or a tsx wrapper killed while its node child lives on). Renewed by `renew` while
   * the holder runs; a killed holder's lease lapses after LEASE_MS.
   */
  async acquire(id: string, holder: string): Promise<boolean> {
    return (await this.redis.set(`${this.runKey(id)}:lease`, holder, 'PX', LEASE_MS, 'NX')) === 'OK';
  }

  async renew(id: string, holder: string): Promise<boolean> {
    const key = `${this.runKey(id)}:lease`;
    const renewed = await runScript(this.redis, 'lease-renew', [key], [holder, String(LEASE_MS)]);
    return renewed === 1;
  }

  /** Whether a live process holds the run's lease (a killed one's lapses after LEASE_MS). */
  async isHeld(id: string): Promise<boolean> {
    return (await this.redis.exists(`${this.runKey(id)}:lease`)) === 1;
  }

  async release(id: string, holder: string): Promise<void> {
    await runScript(this.redis, 'lease-release', [`${this.runKey(id)}:lease`], [holder]);
  }

  async finish(id: string, status: 'finished' | 'failed', now = new Date()): Promise<void> {
    await this.redis.hset(this.runKey(id), { status, finishedAt: now.toISOString() });
  }
}

/**
 * A resync job's id: by run, page and the object's snapshot (its event id: object and version).
 * A later run queues an object again; a page read again after a crash gets the same ids for the
 * objects it still holds (BullMQ drops the duplicates the crashed attempt queued), and an object
 * that has moved into it meanwhile gets an id of its own — by position, it would take the id of
 * one the crashed attempt queued, be dropped, and never be read in this run. An object that two
 * pages both hold (time-based exports repeat their boundary) is queued twice rather than being
 * counted as queued and never applied.
 */
export function resyncJobId(runId: string, page: { stream: string; cursor: string | null }, eventId: string): string {
  const pageKey = createHash('sha1')
    .update(`${page.stream}|${page.cursor ?? ''}`)
    .digest('hex')
    .slice(0, 12);
  const objectKey = createHash('sha1').update(eventId).digest('hex').slice(0, 16);
  return `${RESYNC_EVENT_PREFIX}-${runId}-${pageKey}-${objectKey}`;
}

export function resyncRunOf(jobId: string | undefined): string | null {
  return jobId === undefined ? null : (RUN_ID_IN_JOB.exec(jobId)?.[1] ?? null);
}

/**
 * Called by the events worker for every applied job: counts a resync's snapshots as they land.
 * `changed` counts what a user would see change (the record's derived views), not stamps.
 */
export async function tallyResync(
  redis: Redis,
  prefix: string,
  jobId: string | undefined,
  outcome:
    { previous: { derived: unknown } | null; record: { derived: unknown }; conflicts: readonly unknown[] } | 'failed',
): Promise<void> {
  const runId = resyncRunOf(jobId);
  if (runId === null) return;
  const key = REDIS_KEYS.resync(prefix).counts(runId);
  const tx = redis.multi();
  if (outcome === 'failed') tx.hincrby(key, 'failed', 1);
  else {
    const visible =
      outcome.previous === null || JSON.stringify(outcome.previous.derived) !== JSON.stringify(outcome.record.derived);
    tx.hincrby(key, 'applied', 1).hincrby(key, visible ? 'changed' : 'unchanged', 1);
    if (outcome.conflicts.length > 0) tx.hincrby(key, 'conflicts', outcome.conflicts.length);
  }
  await tx.exec();
}
