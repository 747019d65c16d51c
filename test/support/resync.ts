/**
 * A whole resync run through a test pipeline's daemon — a run recorded, the sources' snapshot streams
 * read into its events queue, waited for until the worker applied them — and the wait for the bulk
 * pushes a resync leaves behind. What `portal-sync resync` does, without the CLI.
 */
import { Redis } from 'ioredis';
import { createSnapshotStreams, type ResyncSource } from '../../src/connectors/resync.js';
import { createLogger } from '../../src/log.js';
import { createEventsQueue } from '../../src/sync/events/queue.js';
import { REDIS_KEYS } from '../../src/sync/redis/keys.js';
import { runResync, type ResyncSummary } from '../../src/sync/resync/runner.js';
import { ResyncRuns } from '../../src/sync/resync/runs.js';
import { until } from './e2e.js';
import type { TestPipeline } from './pipeline.js';

/** The run's summary and the names of the streams it read (e.g. `stripe.customers`), in reading order. */
export interface ResyncRun {
  summary: ResyncSummary;
  streams: string[];
}

export async function resyncThrough(
  p: TestPipeline,
  sources: readonly ResyncSource[],
  since: Date | null = null,
): Promise<ResyncRun> {
  const redis = new Redis(p.daemon.config.redis.url);
  const queue = createEventsQueue(redis, p.daemon.prefix);
  try {
    const runs = new ResyncRuns(redis, p.daemon.prefix);
    const runId = await runs.create({
      sources: [...sources],
      since: since?.toISOString() ?? null,
      customer: null,
      dryRun: false,
    });
    const streams = await createSnapshotStreams(p.daemon.config, { sources: [...sources], since });
    const summary = await runResync({
      runs,
      runId,
      queue,
      streams,
      logger: createLogger('silent'),
      stallTimeoutMs: 20_000,
    });
    return { summary, streams: streams.map((s) => s.name) };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** Until nothing is pending or claimed for a bulk call, nor queued, for either portal target. */
export async function bulkPushesSettled(p: TestPipeline, redis: Redis, timeoutMs = 45_000): Promise<void> {
  await until(
    'the resync pushes to finish',
    async () => {
      for (const target of ['zendesk', 'salesforce'] as const) {
        const k = REDIS_KEYS.bulk(p.daemon.prefix, target);
        if ((await redis.zcard(k.pending)) + (await redis.zcard(k.claimed)) > 0) return false;
        const c = await p.worker.planner.queues
          .get(target)!
          .getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        if (Object.values(c).some((n) => n > 0)) return false;
      }
      return true;
    },
    timeoutMs,
  );
}
