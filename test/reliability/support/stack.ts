/**
 * The daemon in the test process (web role, and optionally the events and push
 * workers), on real Redis under a unique prefix, logging into a file. Used
 * where the scenario is not about processes; the others spawn real ones
 * (processes.ts).
 */
import { Queue } from 'bullmq';
import type { Config } from '../../../src/config.js';
import { createPortalTarget } from '../../../src/connectors/targets.js';
import { startDaemon, type RunningDaemon } from '../../../src/daemon.js';
import { PUSH_QUEUES } from '../../../src/sync/push/planner.js';
import { startWorker, type RunningWorker } from '../../../src/worker-role.js';
import { testConfig } from '../../support/daemon.js';
import { deleteByPrefix } from '../../support/redis.js';
import { fileLogger, type FileLogger } from './logs.js';

export interface Stack {
  config: Config;
  prefix: string;
  daemon: RunningDaemon;
  worker: RunningWorker | null;
  log: FileLogger;
  /** Until the events queue and every push queue have nothing waiting, delayed or active. */
  drain(timeoutMs?: number): Promise<void>;
  stop(opts?: { keepKeys?: boolean }): Promise<void>;
}

export interface StackOptions {
  env?: Record<string, string>;
  tweak?: (c: Config) => void;
  /** false: the web role only. Default: a worker with the SDK-backed portal targets. */
  worker?: false | { concurrency?: number };
  logLevel?: 'debug' | 'info';
}

const IDLE_STATES = ['waiting', 'delayed', 'active', 'prioritized', 'waiting-children'] as const;

export async function queueIdle(q: Queue): Promise<boolean> {
  const c = await q.getJobCounts(...IDLE_STATES);
  return Object.values(c).every((n) => n === 0);
}

/** Polls every queue until all are idle at once. */
export async function drainQueues(queues: Queue[], timeoutMs: number, what = 'queues'): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const idle = await Promise.all(queues.map(queueIdle));
    if (idle.every(Boolean)) {
      // Twice, a moment apart: a finishing event job may still schedule a push.
      await new Promise((r) => setTimeout(r, 150));
      if ((await Promise.all(queues.map(queueIdle))).every(Boolean)) return;
    }
    if (Date.now() > end) {
      const counts = await Promise.all(
        queues.map(async (q) => `${q.name}: ${JSON.stringify(await q.getJobCounts(...IDLE_STATES, 'failed'))}`),
      );
      const stuck = (await Promise.all(queues.map((q) => q.getJobs(['delayed', 'active', 'waiting'], 0, 2)))).flat();
      const about = stuck.map((j) => ({
        id: j.id,
        attemptsMade: j.attemptsMade,
        attemptsStarted: j.attemptsStarted,
        delay: j.delay,
        failedReason: j.failedReason,
        ageMs: Date.now() - j.timestamp,
      }));
      throw new Error(
        `${what} did not drain within ${timeoutMs} ms: ${counts.join('; ')}; e.g. ${JSON.stringify(about)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startStack(name: string, opts: StackOptions = {}): Promise<Stack> {
  const config = testConfig(opts.env ?? {});
  opts.tweak?.(config);
  const log = fileLogger(name, opts.logLevel ?? 'debug');
  const daemon = await startDaemon(config, log.logger, { defaultMetrics: false });
  const worker =
    opts.worker === false
      ? null
      : await startWorker(config, log.logger, {
          registry: daemon.metrics.registry,
          targets: createPortalTarget,
          ...(opts.worker?.concurrency ? { concurrency: opts.worker.concurrency } : {}),
        });
  const pushQueues = PUSH_QUEUES.map((q) => new Queue(q, { connection: daemon.redis, prefix: config.redis.prefix }));
  for (const q of pushQueues) q.on('error', () => undefined);
  return {
    config,
    prefix: config.redis.prefix,
    daemon,
    worker,
    log,
    drain: (timeoutMs = 60_000) => drainQueues([daemon.queue, ...pushQueues], timeoutMs, `${name} queues`),
    async stop({ keepKeys = false } = {}) {
      await worker?.close();
      await Promise.all(pushQueues.map((q) => q.close().catch(() => undefined)));
      await daemon.close();
      log.flush();
      if (!keepKeys) await deleteByPrefix(config.redis.url, config.redis.prefix);
    },
  };
}
