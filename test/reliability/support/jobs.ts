/**
 * Where each accepted event ended up in the events queue. A 2xx means its job
 * was added; so a job that is neither completed nor failed either still exists
 * in another state (stuck: lost to the portal) or was completed and then
 * trimmed by the queue's retention (removeOnComplete keeps the newest 10,000) —
 * its effect is then checked through the records, not the job.
 */
import type { Redis } from 'ioredis';

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
  const fates: JobFates = { completed: 0, trimmed: 0, failed: [], stuck: [] };
  for (let i = 0; i < all.length; i += 1000) {
    const batch = all.slice(i, i + 1000);
    const p = redis.pipeline();
    for (const id of batch)
      p.zscore(`${prefix}:${queue}:completed`, id)
        .zscore(`${prefix}:${queue}:failed`, id)
        .exists(`${prefix}:${queue}:${id}`);
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
