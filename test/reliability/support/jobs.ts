/**
 * Where each accepted event ended up in the events queue (in a job of its own,
 * or in a batch job and perhaps split out of it again). A 2xx means its job
 * was added; so a job that is neither completed nor failed either still exists
 * in another state (stuck: lost to the portal) or was completed and then
 * trimmed by the queue's retention (removeOnComplete keeps the newest 10,000) —
 * its effect is then checked through the records, not the job.
 */
import type { Redis } from 'ioredis';
import { isBatchData, isBatchJobId, isSplitJobId } from '../../../src/sync/events/batch-job.js';
import { jobIdFor, type Source } from '../../../src/sync/events/source-event.js';

type EventRef = { source?: Source; eventId?: string };
const refId = (e: unknown): string | null => {
  const { source, eventId } = (e ?? {}) as EventRef;
  return source && eventId ? jobIdFor(source, eventId) : null;
};

/**
 * Which job holds each event that is not in a job of its own id: under load the ingest queues batch jobs
 * (src/sync/events/batch-job.ts), and an event that failed in one is split out into a job of its own, which then
 * decides its fate. Event job id → the id of the job holding it.
 */
export async function eventHolders(redis: Redis, prefix: string, queue = 'events'): Promise<Map<string, string>> {
  const head = `${prefix}:${queue}:`;
  const ids: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${head}b-*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) if (!k.slice(head.length).includes(':')) ids.push(k.slice(head.length));
  } while (cursor !== '0');
  const holders = new Map<string, string>();
  const splits: Array<[string, string]> = [];
  for (let i = 0; i < ids.length; i += 500) {
    const some = ids.slice(i, i + 500);
    const p = redis.pipeline();
    for (const id of some) p.hget(`${head}${id}`, 'data');
    const replies = (await p.exec()) ?? [];
    some.forEach((id, j) => {
      const data = JSON.parse((replies[j]?.[1] as string | null) ?? 'null') as unknown;
      if (isBatchJobId(id) && isBatchData(data)) {
        for (const e of data.events) {
          const event = refId(e);
          if (event && !holders.has(event)) holders.set(event, id);
        }
      } else if (isSplitJobId(id)) {
        const event = refId(data);
        if (event) splits.push([event, id]);
      }
    });
  }
  for (const [event, id] of splits) holders.set(event, id);
  return holders;
}

/**
 * A counter of the events the queue's completed jobs held (a batch job counts its events), read on from where the
 * last call stopped; for waiting on progress while the jobs complete (the completed set is trimmed past 10,000).
 */
export function completedEvents(redis: Redis, prefix: string, queue = 'events'): () => Promise<number> {
  const seen = new Set<string>();
  let since = 0;
  let count = 0;
  return async () => {
    const rows = await redis.zrangebyscore(`${prefix}:${queue}:completed`, since, '+inf', 'WITHSCORES');
    for (let i = 0; i < rows.length; i += 2) {
      const id = rows[i]!;
      since = Math.max(since, Number(rows[i + 1]));
      if (seen.has(id)) continue;
      seen.add(id);
      if (!isBatchJobId(id)) count += 1;
      else {
        const data = JSON.parse((await redis.hget(`${prefix}:${queue}:${id}`, 'data')) ?? 'null') as unknown;
        count += isBatchData(data) ? data.events.length : 0;
      }
    }
    return count;
  };
}

export interface JobFates {
  completed: number;
  /** Completed and since removed by the queue's retention. */
  trimmed: number;
  failed: string[];
  /** Accepted ids whose job exists but never finished: lost. */
  stuck: string[];
}

export async function jobFates(
  redis: Redis,
  prefix: string,
  ids: Iterable<string>,
  queue = 'events',
): Promise<JobFates> {
  const all = [...new Set(ids)];
  const holders = await eventHolders(redis, prefix, queue);
  const fates: JobFates = { completed: 0, trimmed: 0, failed: [], stuck: [] };
  for (let i = 0; i < all.length; i += 1000) {
    const batch = all.slice(i, i + 1000);
    const p = redis.pipeline();
    for (const event of batch) {
      const id = holders.get(event) ?? event;
      p.zscore(`${prefix}:${queue}:completed`, id)
        .zscore(`${prefix}:${queue}:failed`, id)
        .exists(`${prefix}:${queue}:${id}`);
    }
    const replies = (await p.exec()) ?? [];
    batch.forEach((id, j) => {
      if (replies[3 * j]?.[1] !== null) fates.completed++;
      else if (replies[3 * j + 1]?.[1] !== null) fates.failed.push(id);
      else if (replies[3 * j + 2]?.[1] === 1) fates.stuck.push(id);
      else fates.trimmed++;
    });
  }
  return fates;
}
