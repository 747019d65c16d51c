/**
 * The worker role: consumes the `events` queue into the record store. Runs
 * beside the web role in one process (`--role all`, the default) or alone,
 * scaled out on its own (`--role worker`).
 */
import { migrateStripeKeys } from './sync/admin/migrate-stripe-keys.js';
import type { Server } from 'node:http';
import { UnrecoverableError, type Worker } from 'bullmq';
import express from 'express';
import type { Config, PortalTargetName } from './config.js';
import { createRefetcher, type Refetcher } from './connectors/refetch.js';
import { createLogger, type Logger } from './log.js';
import type { PortalTarget } from './sync/push/portal-target.js';
import { createPushWorker } from './sync/push/worker.js';
import { watchTargetSetup } from './sync/push/setup-check.js';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { targetCallGate, type CallGate } from './sync/push/call-gate.js';
import { createSyncMetrics, type SyncMetrics } from './sync/metrics.js';
import { addDrainJob, PushPlanner } from './sync/push/planner.js';
import { repushOnMappingChange } from './sync/push/repush.js';
import { createProducerRedis, createWorkerRedis } from './sync/redis/connection.js';
import { RecordStore } from './sync/events/store.js';
import { configuredSources, createSnapshotStreams } from './connectors/resync.js';
import { Ingestor } from './sync/events/ingest.js';
import { createEventsQueue, QUEUES, type EventsQueue } from './sync/events/queue.js';
import { openQueue } from './sync/queues.js';
import type { Redis } from 'ioredis';
import {
  createReconcileWorker,
  Reconciler,
  RECONCILE_QUEUE,
  scheduleReconcile,
  type ReconcileReport,
} from './sync/resync/reconcile.js';
import type { SnapshotStream } from './sync/resync/snapshot.js';
import type { Source, SourceEvent } from './sync/events/source-event.js';
import type { Queue } from 'bullmq';
import { createPipeline, type Pipeline } from './sync/pipeline.js';
import { createEventsWorker, type SplitJob } from './sync/events/worker.js';
import { startHeartbeat } from './sync/health.js';
import { Tombstones } from './sync/events/tombstones.js';
import { createTicketClassifier, withTicketCategory } from './sync/events/ticket-categories.js';
import { reconcileCustomers } from './sync/deflection/customers.js';
import { createDeflectionFeed } from './sync/deflection/feed.js';
import {
  closeScheduler,
  createDeflectionQueue,
  createDeflectionWorker,
  scheduleSweeps,
} from './sync/deflection/queue.js';
import { DeflectionTracker } from './sync/deflection/tracker.js';
import type { DeflectionEvent } from './sync/deflection/types.js';
import { brandLabeller } from './sync/events/brands.js';
import { createSubscriberTransport } from './connectors/subscribers/transport.js';
import { customerOfJob, startOutbound, type OutboundService } from './sync/outbound/service.js';

/** Builds the portal target of a name; the daemon passes the SDK-backed ones from src/connectors. */
export type TargetFactory = (
  name: PortalTargetName,
  config: Config,
  deps: { gate: CallGate; onApiUsage?: (used: number, limit: number) => void },
) => PortalTarget;

export interface RunningWorker {
  store: RecordStore;
  planner: PushPlanner;
  pushWorkers: Worker[];
  tracker: DeflectionTracker;
  reconciler: Reconciler;
  outbound: OutboundService;
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
  /** What the reconciler reads per source (default: the SDK streams of every configured source). */
  reconcileStreams?: Partial<Record<Source, (since: Date) => Promise<SnapshotStream[]>>>;
  /** The clock deflection windows end by (tests move it on; the delayed jobs still run on real time). */
  now?: () => number;
  /** What its heartbeat calls this worker (`start --role`): all or worker. */
  role?: string;
}

/**
 * The automatic half of the single-account upgrade (docs/setup-stripe.md): a worker of a deployment whose one
 * Stripe account is named (STRIPE_ACCOUNT_ID) moves any `stripe:cus_…` key left from before to that account
 * before it applies an event — keys written by an older worker while `migrate stripe-accounts` ran included.
 * One SCAN when nothing is left.
 */
async function upgradeStripeKeys(redis: Redis, store: RecordStore, config: Config, logger: Logger): Promise<void> {
  const single = config.stripe.accountsListed ? null : (config.stripe.accounts[0]?.id ?? null);
  if (single === null) return;
  const result = await migrateStripeKeys(redis, store, config.redis.prefix, single);
  if (result.moved > 0 || result.clashes.length > 0) {
    logger.info(
      { account: single, moved: result.moved, clashes: result.clashes.length },
      'Stripe customer keys moved to the named account (single-account upgrade)',
    );
  }
}

/** The worker role's three connections: BullMQ workers block on one, the record store has its own, producers share the third. */
interface Connections {
  connection: Redis;
  storeConnection: Redis;
  pushConnection: Redis;
}

function openConnections(config: Config): Connections {
  const connection = createWorkerRedis(config.redis);
  const storeConnection = createWorkerRedis(config.redis);
  connection.on('error', () => undefined); // reported by the worker's own listener
  storeConnection.on('error', () => undefined);
  const pushConnection = createProducerRedis(config.redis, { enableOfflineQueue: true });
  pushConnection.on('error', () => undefined);
  return { connection, storeConnection, pushConnection };
}

/** What the events worker hands a stored change to, and what it is stored in. */
interface RecordSide {
  store: RecordStore;
  planner: PushPlanner;
  deflectionQueue: ReturnType<typeof createDeflectionQueue>;
  outbound: OutboundService;
  tracker: DeflectionTracker;
  classifier: ReturnType<typeof createTicketClassifier>;
  pipeline: Pipeline;
}

/** The record store (its Stripe keys upgraded), push planning, outbound, deflection, and the pipeline over them. */
async function buildRecordSide(
  config: Config,
  logger: Logger,
  { connection, storeConnection, pushConnection }: Connections,
  metrics: SyncMetrics | undefined,
  now: () => number,
  registry: Registry | undefined,
): Promise<RecordSide> {
  const store = new RecordStore(storeConnection, config.redis.prefix);
  await upgradeStripeKeys(storeConnection, store, config, logger);
  const planner = new PushPlanner(
    pushConnection,
    config.redis.prefix,
    config.portal.targets,
    config.push.debounceMs,
    config.push.backoffMs,
    config.mapping,
  );
  const classifier = createTicketClassifier(config.ticketCategories);
  const deflectionQueue = createDeflectionQueue(pushConnection, config.redis.prefix);
  deflectionQueue.on('error', () => undefined); // reported by the connection's users
  // Outbound webhooks: recorded from the hooks below, delivered by their own workers and queues.
  const outbound = await startOutbound({
    connection,
    redis: pushConnection,
    records: store,
    config,
    transport: createSubscriberTransport(),
    logger,
    registry,
  });
  // Brands as metric labels: bounded (brands.ts), whatever ids the events carry.
  const brandLabel = brandLabeller({ listed: config.zendesk.brands ?? [] });
  const tracker = new DeflectionTracker({
    redis: storeConnection,
    prefix: config.redis.prefix,
    settings: config.deflection,
    historyMs: config.deflection.historyDays * 86_400_000,
    now,
    schedule: closeScheduler(deflectionQueue, now),
    publish: async (event) => {
      await planner.planDeflection(event);
      await outbound.emitter.onDeflection(event);
    },
    logger: logger.child({ module: 'deflection' }),
    ...(metrics && {
      onStarted: (s: { brandId?: string | undefined }) =>
        metrics.deflectionSessions.inc({ outcome: 'started', brand: brandLabel(s.brandId) }),
      onDecided: (e: DeflectionEvent) =>
        metrics.deflectionSessions.inc({ outcome: e.outcome, brand: brandLabel(e.brandId) }),
    }),
  });
  const feed = createDeflectionFeed({
    tracker,
    classifier,
    activityCategories: config.deflection.activityCategories,
    merges: store,
    people: store,
  });
  // What follows a stored change: deflection, push planning, outbound (src/sync/pipeline.ts).
  const pipeline = createPipeline({
    redis: storeConnection,
    prefix: config.redis.prefix,
    feed,
    planner,
    emitter: outbound.emitter,
    ...(metrics && { metrics }),
  });
  return { store, planner, deflectionQueue, outbound, tracker, classifier, pipeline };
}

/** A split-out event's job: the events queue's default options under the split-out id. */
const splitJob = ({ name, data, jobId }: SplitJob) => ({ name, data: data as SourceEvent, opts: { jobId } });

/** The `events` queue's worker, handing what it stores to the pipeline; a job given up on is the pipeline's too. */
function startEventsWorker(
  config: Config,
  logger: Logger,
  opts: WorkerOptions,
  { connection, storeConnection, pushConnection }: Connections,
  { store, classifier, pipeline }: RecordSide,
  metrics: SyncMetrics | undefined,
): Worker {
  // The failed events of a batch job go back on the events queue as jobs of their own.
  const splitQueue = createEventsQueue(pushConnection, config.redis.prefix);
  splitQueue.on('error', () => undefined); // reported by the connection's users
  const worker = createEventsWorker({
    connection,
    requeue: async (jobs) => void (await splitQueue.addBulk(jobs.map((j) => splitJob(j)))),
    prefix: config.redis.prefix,
    store,
    logger,
    concurrency: opts.concurrency ?? config.worker.concurrency,
    ...(metrics ? { metrics } : {}),
    refetch: opts.refetch ?? createRefetcher(config),
    unscopedStripeAccount: config.stripe.accountsListed ? null : (config.stripe.accounts[0]?.id ?? null),
    classifier,
    tombstones: new Tombstones(storeConnection, config.redis.prefix),
    brands: { listed: config.zendesk.brands ?? [] },
    onStored: pipeline.onStored,
    onApplied: pipeline.onApplied,
  });
  worker.on('closed', () => void splitQueue.close().catch(() => undefined));
  worker.on('failed', (job, err) => {
    if (!job || !(err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1))) return;
    void pipeline.onGaveUp(job.id).catch(() => undefined);
  });
  return worker;
}

/** One push worker per portal target, each with its own call gate, and the targets; none without a target factory. */
function startPushWorkers(
  config: Config,
  logger: Logger,
  targets: TargetFactory | undefined,
  { connection, pushConnection }: Connections,
  store: RecordStore,
  metrics: SyncMetrics | undefined,
): { workers: Worker[]; targets: PortalTarget[] } {
  if (!targets) return { workers: [], targets: [] };
  const made: PortalTarget[] = [];
  const workers = config.portal.targets.map((name) => {
    // One gate per target: the SDK client's calls and the bulk pushes' calls count in the same window.
    const gate = targetCallGate(pushConnection, config.redis.prefix, name, config.targets[name].rate);
    const target = targets(name, config, {
      gate,
      ...(metrics && {
        onApiUsage: (used: number, limit: number) => metrics.salesforceApiUsage.set(used / limit),
      }),
    });
    made.push(target);
    return createPushWorker({
      connection,
      redis: pushConnection,
      prefix: config.redis.prefix,
      store,
      target,
      gate,
      rate: config.targets[name].rate,
      concurrency: config.targets[name].concurrency,
      backoffMs: config.push.backoffMs,
      debounceMs: config.push.debounceMs,
      maxBackoffMs: config.push.maxBackoffMs,
      mapping: config.mapping,
      logger,
      ...(metrics
        ? { onPushed: (target, r) => metrics.pushes.inc({ target, outcome: r.skipped ? 'skipped' : 'written' }, 1) }
        : {}),
    });
  });
  return { workers, targets: made };
}

/** The reconciler, its queue and worker, and the `events` queue it feeds. */
interface Reconciling {
  reconciler: Reconciler;
  eventsQueue: EventsQueue;
  reconcileQueue: Queue;
  reconcileWorker: Worker;
}

function startReconciling(
  config: Config,
  logger: Logger,
  opts: WorkerOptions,
  { connection, pushConnection }: Connections,
  store: RecordStore,
  metrics: SyncMetrics | undefined,
): Reconciling {
  const eventsQueue = createEventsQueue(pushConnection, config.redis.prefix);
  eventsQueue.on('error', () => undefined); // reported by the connection's users; unheard, BullMQ prints it outside the JSON log
  const reconciler = buildReconciler(config, {
    redis: pushConnection,
    store,
    queue: eventsQueue,
    logger,
    ...(metrics && { metrics }),
    ...(opts.reconcileStreams && { streams: opts.reconcileStreams }),
  });
  const reconcileQueue = openQueue(RECONCILE_QUEUE, pushConnection, config.redis.prefix);
  reconcileQueue.on('error', () => undefined);
  const reconcileWorker = createReconcileWorker({ connection, prefix: config.redis.prefix, reconciler, logger });
  return { reconciler, eventsQueue, reconcileQueue, reconcileWorker };
}

/** Counting customers for the report: bring records the store's set does not know yet in, in the background. */
function reconcileCustomerCount(config: Config, logger: Logger, storeConnection: Redis): Promise<unknown> {
  return reconcileCustomers(storeConnection, config.redis.prefix).catch((err: unknown) =>
    logger.warn(
      { err: (err as Error).message },
      'could not reconcile the customer count; the report counts records by SCAN meanwhile',
    ),
  );
}

/**
 * Conflicts an earlier release stored without the per-key index go into it, in the background: until then the
 * customer view reads every conflict (store.conflictsNaming), correct but slower.
 */
function indexOldConflicts(logger: Logger, store: RecordStore): Promise<unknown> {
  return store.indexConflicts().then(
    (added) => {
      if (added > 0) logger.info({ added }, 'identity conflicts of an earlier release indexed by their keys');
    },
    (err: unknown) =>
      logger.warn(
        { err: (err as Error).message },
        'could not index the identity conflicts by their keys; the customer view reads them all meanwhile',
      ),
  );
}

/** A mapping other than the one the targets' pushes were made with: every customer gets a bulk push (those it changes write). */
function repushChangedMapping(
  config: Config,
  logger: Logger,
  pushConnection: Redis,
  { store, planner }: RecordSide,
  pushWorkers: Worker[],
): Promise<unknown> {
  return (
    pushWorkers.length > 0
      ? repushOnMappingChange(
          {
            redis: pushConnection,
            prefix: config.redis.prefix,
            customersKey: store.customersKey,
            drain: (t) => addDrainJob(planner.queues.get(t)!, t, 0, 0),
          },
          config.portal.targets,
          config.mapping,
        )
      : Promise.resolve({})
  )
    .then(
      (queued) =>
        Object.keys(queued).length > 0 &&
        logger.info({ queued }, 'field mapping changed: customers queued for a bulk push'),
    )
    .catch((err: unknown) =>
      logger.warn(
        { err: (err as Error).message },
        'could not queue the pushes of a changed field mapping; run portal-sync resync',
      ),
    );
}

/** Everything startWorker started, closed in order: workers first, then queues and background work, connections last. */
async function closeWorker(parts: {
  connections: Connections;
  side: RecordSide;
  worker: Worker;
  deflectionWorker: Worker;
  reconciling: Reconciling;
  pushWorkers: Worker[];
  background: Promise<unknown>[];
  heartbeat: { stop(): Promise<void> };
}): Promise<void> {
  const { connections, side, worker, deflectionWorker, reconciling, pushWorkers, heartbeat } = parts;
  await worker.close();
  await deflectionWorker.close();
  await reconciling.reconcileWorker.close();
  await reconciling.reconcileQueue.close();
  await reconciling.eventsQueue.close();
  for (const work of parts.background) await work;
  await Promise.all(pushWorkers.map((w) => w.close()));
  await side.outbound.close();
  await heartbeat.stop();
  await side.deflectionQueue.close();
  await side.planner.close();
  side.tracker.close();
  connections.pushConnection.disconnect();
  side.store.close();
  connections.storeConnection.disconnect();
  connections.connection.disconnect();
}

export async function startWorker(config: Config, logger: Logger, opts: WorkerOptions = {}): Promise<RunningWorker> {
  const metrics = opts.registry ? createSyncMetrics(opts.registry) : undefined;
  const connections = openConnections(config);
  const { connection, storeConnection, pushConnection } = connections;
  const side = await buildRecordSide(config, logger, connections, metrics, opts.now ?? Date.now, opts.registry);
  const { store, planner, tracker, outbound, deflectionQueue } = side;
  const worker = startEventsWorker(config, logger, opts, connections, side, metrics);
  const pushing = startPushWorkers(config, logger, opts.targets, connections, store, metrics);
  const pushWorkers = pushing.workers;
  outbound.watchDeadLetters(worker, () => null);
  for (const w of pushWorkers) outbound.watchDeadLetters(w, customerOfJob);
  const deflectionWorker = createDeflectionWorker({ connection, prefix: config.redis.prefix, tracker, logger });
  const reconciling = startReconciling(config, logger, opts, connections, store, metrics);
  const { reconciler, reconcileQueue, reconcileWorker } = reconciling;
  await Promise.all([
    worker.waitUntilReady(),
    deflectionWorker.waitUntilReady(),
    reconcileWorker.waitUntilReady(),
    ...pushWorkers.map((w) => w.waitUntilReady()),
  ]);
  await scheduleReconcile(reconcileQueue, reconciler.sources.length > 0 ? config.reconcile.everyMs : 0);
  await scheduleSweeps(deflectionQueue, config.deflection.sweepEveryMs);
  const background = [
    reconcileCustomerCount(config, logger, storeConnection),
    indexOldConflicts(logger, store),
    repushChangedMapping(config, logger, pushConnection, side, pushWorkers),
  ];
  const heartbeat = startHeartbeat(pushConnection, config.redis.prefix, opts.role ?? 'worker');
  const setupWatch = watchTargetSetup(pushing.targets, {
    redis: pushConnection,
    prefix: config.redis.prefix,
    logger,
    everyMs: config.push.setupCheckEveryMs,
    ...(metrics && {
      onChecked: (target, problems) => metrics.portalSetupProblems.set({ target }, problems),
      onFailing: (target, failing) => metrics.portalSetupCheckFailing.set({ target }, failing ? 1 : 0),
    }),
  });
  logger.info(
    {
      queue: QUEUES.events,
      concurrency: worker.opts.concurrency,
      pushTargets: opts.targets ? config.portal.targets : [],
    },
    'events worker running',
  );
  return {
    store,
    planner,
    pushWorkers,
    tracker,
    reconciler,
    outbound,
    close: () => {
      setupWatch.stop();
      return closeWorker({
        connections,
        side,
        worker,
        deflectionWorker,
        reconciling,
        pushWorkers,
        background,
        heartbeat,
      });
    },
  };
}

/**
 * The reconciler over every configured source's SDK streams (or `deps.streams`); the worker role
 * runs it on a schedule, `portal-sync reconcile` once.
 */
function buildReconciler(
  config: Config,
  deps: {
    redis: Redis;
    store: RecordStore;
    queue: EventsQueue;
    logger: Logger;
    metrics?: SyncMetrics;
    streams?: Partial<Record<Source, (since: Date) => Promise<SnapshotStream[]>>>;
  },
): Reconciler {
  const { redis, queue, metrics } = deps;
  const classifier = createTicketClassifier(config.ticketCategories);
  return new Reconciler({
    redis,
    prefix: config.redis.prefix,
    store: deps.store,
    queue,
    ingestor: new Ingestor({
      redis,
      queue,
      prefix: config.redis.prefix,
      dedupeTtlSeconds: config.webhooks.dedupeTtlSeconds,
      quarantineLimits: config.quarantine,
      timeoutMs: config.server.enqueueTimeoutMs,
    }),
    streams:
      deps.streams ??
      Object.fromEntries(
        configuredSources(config).map((source) => [
          source,
          (since: Date) =>
            createSnapshotStreams(config, {
              sources: [source],
              since,
              zendeskGate: targetCallGate(redis, config.redis.prefix, 'zendesk', config.targets.zendesk.rate),
            }),
        ]),
      ),
    settings: config.reconcile,
    logger: deps.logger,
    prepare: (event: SourceEvent) => withTicketCategory(event, classifier),
    ...(metrics && {
      onDrift: (source: Source, n: number) => metrics.reconcileDrift.inc({ source }, n),
      onPass: (r: { finishedAt: string; drift: number }) => {
        metrics.reconcileLastPass.set(Date.parse(r.finishedAt) / 1000);
        metrics.reconcileLastDrift.set(r.drift);
      },
    }),
  });
}

/**
 * One reconcile pass now (`portal-sync reconcile`), through an events queue opened for it and closed after;
 * the pass logs nothing (its report says what failed). Null when no source is configured: nothing to ask.
 */
export async function reconcileOnce(config: Config, redis: Redis): Promise<ReconcileReport | null> {
  const queue = createEventsQueue(redis, config.redis.prefix);
  try {
    const reconciler = buildReconciler(config, {
      redis,
      store: new RecordStore(redis, config.redis.prefix),
      queue,
      logger: createLogger('silent'),
    });
    if (reconciler.sources.length === 0) return null;
    return await reconciler.pass();
  } finally {
    await queue.close();
  }
}

/** For `--role worker`: liveness and metrics on PORT, nothing else. */
export async function startProbeServer(
  config: Config,
  logger: Logger,
): Promise<{ registry: Registry; close(): Promise<void> }> {
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
