/** The daemon's web role and its events worker in one test process, on real Redis. */
import type { Config } from '../../src/config.js';
import type { Refetcher } from '../../src/connectors/refetch.js';
import { createLogger } from '../../src/log.js';
import { startWorker, type RunningWorker, type TargetFactory } from '../../src/worker-role.js';
import { startTestDaemon, type TestDaemon } from './daemon.js';

export interface TestPipeline {
  daemon: TestDaemon;
  worker: RunningWorker;
  /** Waits until the events queue has nothing waiting, delayed or active. */
  drain(timeoutMs?: number): Promise<void>;
  /** Then until every push queue has nothing waiting, delayed or active either. */
  drainAll(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestPipeline(
  env: Record<string, string> = {},
  tweak: (c: Config) => void = () => undefined,
  targets?: TargetFactory,
  refetch?: Refetcher,
): Promise<TestPipeline> {
  const daemon = await startTestDaemon(env, tweak);
  const worker = await startWorker(daemon.config, createLogger('silent'), {
    concurrency: 4,
    registry: daemon.metrics.registry,
    ...(targets ? { targets } : {}),
    ...(refetch ? { refetch } : {}),
  });
  const drain = async (timeoutMs = 15_000) => {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const c = await daemon.queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
      if (Object.values(c).every((n) => n === 0)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('events queue did not drain');
  };
  return {
    daemon,
    worker,
    drain,
    async drainAll(timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      await drain(timeoutMs);
      for (const q of worker.planner.queues.values()) {
        while (Date.now() < end) {
          const c = await q.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
          if (Object.values(c).every((n) => n === 0)) break;
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      if (Date.now() >= end) throw new Error('push queues did not drain');
    },
    async stop() {
      await worker.close();
      await daemon.stop();
    },
  };
}
