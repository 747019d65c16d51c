/**
 * The run behind `portal-sync resync`: a new one recorded with its parameters, or the newest unfinished one,
 * resumed from its checkpoints; the events queue it feeds, and how many workers consume that queue now (none:
 * snapshots wait until a daemon runs).
 */
import type { Redis } from 'ioredis';
import { createEventsQueue, type EventsQueue } from '../events/queue.js';
import { ResyncRuns, type ResyncParams } from '../resync/runs.js';

export interface ResyncRunStart {
  runs: ResyncRuns;
  runId: string;
  params: ResyncParams;
  queue: EventsQueue;
  workers: number;
  /** Closes the queue (the connection stays the caller's). */
  close(): Promise<void>;
}

/** `resume`: the newest unfinished run, or null when there is none; otherwise a new run with `params`. */
export async function startResyncRun(
  redis: Redis,
  prefix: string,
  what: ResyncParams | 'resume',
): Promise<ResyncRunStart | null> {
  const runs = new ResyncRuns(redis, prefix);
  let runId: string;
  let params: ResyncParams;
  if (what === 'resume') {
    const last = await runs.latestUnfinished();
    if (!last) return null;
    ({ id: runId, params } = last);
  } else {
    params = what;
    runId = await runs.create(params);
  }
  const queue = createEventsQueue(redis, prefix);
  try {
    const workers = await queue.getWorkersCount();
    return { runs, runId, params, queue, workers, close: () => queue.close() };
  } catch (err) {
    await queue.close();
    throw err;
  }
}
