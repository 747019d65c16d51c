/**
 * The worker role: consumes the `events` queue into the record store. Runs
 * beside the web role in one process (`--role all`, the default) or alone,
 * scaled out on its own (`--role worker`).
 */
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Server } from 'node:http';
import express from 'express';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createSyncMetrics } from './sync/metrics.js';
import { PushPlanner } from './sync/push-planner.js';
import { createProducerRedis, createWorkerRedis } from './sync/redis.js';
import { RecordStore } from './sync/store.js';
import { createEventsWorker } from './sync/worker.js';

export interface RunningWorker {
  store: RecordStore;
  planner: PushPlanner;
  /** Stops taking jobs and waits for the ones in flight (they finish, or go back to the queue). */
  close(): Promise<void>;
}

export async function startWorker(config: Config, logger: Logger, opts: { concurrency?: number; registry?: Registry } = {}): Promise<RunningWorker> {
  const metrics = opts.registry ? createSyncMetrics(opts.registry) : undefined;
  const connection = createWorkerRedis(config.redis.url);
  const storeConnection = createWorkerRedis(config.redis.url);
  connection.on('error', () => undefined); // reported by the worker's own listener
  storeConnection.on('error', () => undefined);
  const pushConnection = createProducerRedis(config.redis.url, { enableOfflineQueue: true });
  pushConnection.on('error', () => undefined);
  const store = new RecordStore(storeConnection, config.redis.prefix);
  const planner = new PushPlanner(pushConnection, config.redis.prefix, config.portal.targets, config.push.debounceMs);
  const worker = createEventsWorker({
    connection,
    prefix: config.redis.prefix,
    store,
    logger,
    concurrency: opts.concurrency ?? config.worker.concurrency,
    ...(metrics ? { metrics } : {}),
    onApplied: async (_event, outcome, { retry }) => {
      const targets = await planner.plan(retry ? null : outcome.previous, outcome.record, outcome.mergedIds);
      for (const target of targets) metrics?.pushesScheduled.inc({ target });
    },
  });
  await worker.waitUntilReady();
  logger.info({ queue: 'events', concurrency: worker.opts.concurrency }, 'events worker running');
  return {
    store,
    planner,
    async close() {
      await worker.close();
      await planner.close();
      pushConnection.disconnect();
      store.close();
      storeConnection.disconnect();
      connection.disconnect();
    },
  };
}

/** For `--role worker`: liveness and metrics on PORT, nothing else. */
export async function startProbeServer(config: Config, logger: Logger): Promise<{ registry: Registry; close(): Promise<void> }> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'portal_sync_' });
  const app = express();
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok', role: 'worker' }));
  app.get('/metrics', async (_req, res) => void res.type(registry.contentType).send(await registry.metrics()));
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.http.port, config.http.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as { port: number };
  logger.info({ url: `http://127.0.0.1:${port}` }, 'worker probe listening (/healthz, /metrics)');
  return { registry, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
