/**
 * Outbound webhooks in the worker role: the emitter the events worker calls,
 * and one delivery worker per subscription. With no subscription configured
 * it costs nothing: the emitter returns at once and no worker runs.
 */
import type { Worker } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Logger } from '../../log.js';
import type { RecordStore } from '../events/store.js';
import { createDeliveryWorker } from './delivery-worker.js';
import { OutboundEmitter } from './emitter.js';
import { createOutboundMetrics } from './metrics.js';
import { createOutboundQueue, kickLanes, type OutboundQueue } from './queue.js';
import type { OutboundSettings, SubscriptionSettings } from './settings.js';
import { OutboundStore } from './store.js';
import type { Subscription, SubscriberTransport } from './types.js';

export interface OutboundConfig {
  outbound: OutboundSettings;
  subscriptions: readonly SubscriptionSettings[];
  outboundSecrets: Readonly<Record<string, readonly string[]>>;
  redis: { prefix: string };
}

/** The subscriptions of the config, each with the secrets its variable held. */
export function subscriptionsOf(config: Pick<OutboundConfig, 'subscriptions' | 'outboundSecrets'>): Subscription[] {
  return config.subscriptions.map((s) => ({
    id: s.id,
    url: s.url,
    events: s.events,
    requires: s.requires,
    timeoutMs: s.timeoutMs,
    allowPrivateNetworks: s.allowPrivateNetworks,
    secrets: config.outboundSecrets[s.id] ?? [],
  }));
}

/** The customer a push job names, if its data is sound enough to say. */
export function customerOfJob(data: unknown): string | null {
  const id = (data as { customerId?: unknown } | null)?.customerId;
  return typeof id === 'string' && id !== '' ? id : null;
}

export interface OutboundService {
  emitter: OutboundEmitter;
  store: OutboundStore;
  queues: ReadonlyMap<string, OutboundQueue>;
  workers: Worker[];
  /** Emits sync.dead_lettered when one of these workers fails a job for good. */
  watchDeadLetters(worker: Worker, customerOf: (data: unknown) => string | null): void;
  close(): Promise<void>;
}

export interface OutboundServiceOptions {
  /** For the delivery workers (BullMQ makes its blocking connections from it). */
  connection: Redis;
  /** Non-blocking: records, views, lanes, and the producers of lane jobs. */
  redis: Redis;
  records: RecordStore;
  config: OutboundConfig;
  /** Without one, events are recorded and queued, and wait for a worker that has one. */
  transport?: SubscriberTransport | undefined;
  logger: Logger;
  registry?: Registry | undefined;
}

export async function startOutbound(opts: OutboundServiceOptions): Promise<OutboundService> {
  const { config, logger } = opts;
  const prefix = config.redis.prefix;
  const subscriptions = subscriptionsOf(config);
  const store = new OutboundStore(opts.redis, prefix, config.outbound);
  const queues = new Map(subscriptions.map((s) => [s.id, createOutboundQueue(opts.redis, prefix, s.id)] as const));
  for (const q of queues.values()) q.on('error', () => undefined); // reported by the connection's users
  const metrics =
    opts.registry && subscriptions.length > 0
      ? createOutboundMetrics(
          opts.registry,
          store,
          subscriptions.map((s) => s.id),
        )
      : undefined;
  const emitter = new OutboundEmitter({
    redis: opts.redis,
    records: opts.records,
    store,
    subscriptions,
    queues,
    logger,
    metrics,
  });
  const workers = opts.transport
    ? subscriptions.map((subscription) =>
        createDeliveryWorker({
          connection: opts.connection,
          prefix,
          store,
          queue: queues.get(subscription.id)!,
          subscription,
          transport: opts.transport!,
          settings: config.outbound,
          logger,
          metrics,
        }),
      )
    : [];
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const log = logger.child({ module: 'outbound' });
  // Lanes whose job was lost (a crash between recording and queueing): every lane with events gets one, in the background.
  const kicking = (async () => {
    for (const s of subscriptions) await kickLanes(queues.get(s.id)!, s.id, await store.customersWaiting(s.id));
  })().catch((err: unknown) =>
    log.warn(
      { err: (err as Error).message },
      'could not check the outbound lanes at start; each gets a job with its next event',
    ),
  );
  if (subscriptions.length > 0)
    logger.info(
      { subscriptions: subscriptions.map((s) => s.id), delivering: workers.length > 0 },
      'outbound webhooks running',
    );

  return {
    emitter,
    store,
    queues,
    workers,
    watchDeadLetters(worker, customerOf) {
      if (subscriptions.length === 0) return;
      worker.on('failed', (job, err) => {
        if (!job) return;
        const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
        if (!final) return;
        const data = job.data as { source?: unknown; eventId?: unknown } | undefined;
        const facts = {
          queue: worker.name,
          jobId: job.id ?? '',
          reason: err.message,
          attempts: job.attemptsMade,
          failedAt: job.finishedOn ?? Date.now(),
          ...(typeof data?.source === 'string' ? { source: data.source } : {}),
          ...(typeof data?.eventId === 'string' ? { eventId: data.eventId } : {}),
        };
        emitter
          .onDeadLettered(facts, customerOf(job.data))
          .catch((e: unknown) =>
            log.warn(
              { jobId: job.id, queue: worker.name, err: (e as Error).message },
              'could not record sync.dead_lettered',
            ),
          );
      });
    },
    async close() {
      await kicking;
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
