/**
 * The worker role: consumes the `events` queue into the record store. Runs
 * beside the web role in one process (`--role all`, the default) or alone,
 * scaled out on its own (`--role worker`).
 */
import type { Server } from 'node:http';
import type { Worker } from 'bullmq';
import express from 'express';
import type { Config, PortalTargetName } from './config.js';
import { createRefetcher, type Refetcher } from './connectors/refetch.js';
import type { Logger } from './log.js';
import type { PortalTarget } from './sync/portal-target.js';
import { createPushWorker } from './sync/push-worker.js';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createCallGate, type CallGate } from './sync/call-gate.js';
import { createSyncMetrics } from './sync/metrics.js';
import { PushPlanner } from './sync/push-planner.js';
import { createProducerRedis, createWorkerRedis } from './sync/redis.js';
import { RecordStore } from './sync/store.js';
import { createEventsWorker } from './sync/worker.js';
import { createTicketClassifier } from './sync/deflection/categories.js';
import { reconcileCustomers } from './sync/deflection/customers.js';
import { createDeflectionFeed } from './sync/deflection/feed.js';
import { closeScheduler, createDeflectionQueue, createDeflectionWorker, scheduleSweeps } from './sync/deflection/queue.js';
import { DeflectionTracker } from './sync/deflection/tracker.js';

/** Builds the portal target of a name; the daemon passes the SDK-backed ones from src/connectors. */
export type TargetFactory = (name: PortalTargetName, config: Config, deps: { gate: CallGate }) => PortalTarget;

export interface RunningWorker {
  store: RecordStore;
  planner: PushPlanner;
  pushWorkers: Worker[];
  tracker: DeflectionTracker;
  /** Stops taking jobs and waits for the ones in flight (they finish, or go back to the queue). */
  close(): Promise<void>;
}

export interface WorkerOptions {
  concurrency?: number;
  registry?: Registry;
  /** Without one, records are kept and push jobs wait in their queues for a worker that has one. */
  targets?: TargetFactory;
  /** Defaults to the SDK-backed refetcher of src/connectors (null for unconfigured sources). */
  refetch?: Refetcher;
  /** The clock deflection windows end by (tests move it on; the delayed jobs still run on real time). */
  now?: () => number;
}

export async function startWorker(config: Config, logger: Logger, opts: WorkerOptions = {}): Promise<RunningWorker> {
  const metrics = opts.registry ? createSyncMetrics(opts.registry) : undefined;
  const connection = createWorkerRedis(config.redis.url);
  const storeConnection = createWorkerRedis(config.redis.url);
  connection.on('error', () => undefined); // reported by the worker's own listener
  storeConnection.on('error', () => undefined);
  const pushConnection = createProducerRedis(config.redis.url, { enableOfflineQueue: true });
  pushConnection.on('error', () => undefined);
  const store = new RecordStore(storeConnection, config.redis.prefix);
  const planner = new PushPlanner(pushConnection, config.redis.prefix, config.portal.targets, config.push.debounceMs, config.push.backoffMs);
  const now = opts.now ?? Date.now;
  const classifier = createTicketClassifier(config.ticketCategories);
  const deflectionQueue = createDeflectionQueue(pushConnection, config.redis.prefix);
  deflectionQueue.on('error', () => undefined); // reported by the connection's users
  const tracker = new DeflectionTracker({
    redis: storeConnection,
    prefix: config.redis.prefix,
    settings: config.deflection,
    now,
    schedule: closeScheduler(deflectionQueue, now),
    publish: async (event) => void (await planner.planDeflection(event)),
    logger: logger.child({ module: 'deflection' }),
  });
  const feed = createDeflectionFeed({ tracker, classifier, activityCategories: config.deflection.activityCategories });
  const worker = createEventsWorker({
    connection,
    prefix: config.redis.prefix,
    store,
    logger,
    concurrency: opts.concurrency ?? config.worker.concurrency,
    ...(metrics ? { metrics } : {}),
    refetch: opts.refetch ?? createRefetcher(config),
    classifier,
    onStored: feed,
    onApplied: async (event, outcome, { retry }) => {
      const targets = await planner.plan(retry ? null : outcome.previous, outcome.record, outcome.mergedIds, { resync: event.origin === 'snapshot' });
      for (const target of targets) metrics?.pushesScheduled.inc({ target });
    },
  });
  const pushWorkers = opts.targets
    ? config.portal.targets.map((name) =>
        createPushWorker({
          connection,
          redis: pushConnection,
          prefix: config.redis.prefix,
          store,
          target: opts.targets!(name, config, { gate: createCallGate(pushConnection, `${config.redis.prefix}:rate:${name}`, config.targets[name].rate) }),
          rate: config.targets[name].rate,
          concurrency: config.targets[name].concurrency,
          logger,
          ...(metrics ? { onPushed: (target, r) => metrics.pushes.inc({ target, outcome: r.skipped ? 'skipped' : 'written' }, 1) } : {}),
        }),
      )
    : [];
  const deflectionWorker = createDeflectionWorker({ connection, prefix: config.redis.prefix, tracker, logger });
  await Promise.all([worker.waitUntilReady(), deflectionWorker.waitUntilReady(), ...pushWorkers.map((w) => w.waitUntilReady())]);
  await scheduleSweeps(deflectionQueue, config.deflection.sweepEveryMs);
  // Counting customers for the report: bring records the store's set does not know yet in, in the background.
  const reconciling = reconcileCustomers(storeConnection, config.redis.prefix).catch((err: unknown) =>
    logger.warn({ err: (err as Error).message }, 'could not reconcile the customer count; the report counts records by SCAN meanwhile'),
  );
  logger.info({ queue: 'events', concurrency: worker.opts.concurrency, pushTargets: opts.targets ? config.portal.targets : [] }, 'events worker running');
  return {
    store,
    planner,
    pushWorkers,
    tracker,
    async close() {
      await worker.close();
      await deflectionWorker.close();
      await reconciling;
      await Promise.all(pushWorkers.map((w) => w.close()));
      await deflectionQueue.close();
      await planner.close();
      tracker.close();
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
