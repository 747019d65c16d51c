/**
 * The daemon's life cycle: connect, listen, and on SIGTERM stop accepting,
 * finish what is in flight, close the queues, exit — within the grace period.
 */
import { createServer, type Server, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { Ingestor } from './sync/events/ingest.js';
import { configuredWebhookSources, registerHealthGauges } from './sync/health.js';
import { registerQueueGauges } from './sync/metrics.js';
import { PUSH_QUEUES } from './sync/push/planner.js';
import { createEventsQueue, type EventsQueue } from './sync/events/queue.js';
import { openQueue } from './sync/queues.js';
import { createProducerRedis, describeRedis, type Redis } from './sync/redis/connection.js';
import { createApp } from './webhooks/app.js';
import { createEdgeMetrics, type EdgeMetrics } from './webhooks/metrics.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** redis://user:password@host → redis://user:***@host, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}

/**
 * Socket limits from config: a request (a slow body included) must arrive whole within requestTimeoutMs
 * (node answers 408 and closes), its headers within headersTimeoutMs. Node checks these deadlines every
 * connectionsCheckingInterval (30 s by default): a tenth of the shorter one keeps the cut-off near it.
 */
function serverOptions(s: Config['server']): ServerOptions {
  return {
    requestTimeout: s.requestTimeoutMs,
    headersTimeout: s.headersTimeoutMs,
    keepAliveTimeout: s.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(
      50,
      Math.min(30_000, Math.floor(Math.min(s.requestTimeoutMs, s.headersTimeoutMs) / 10)),
    ),
  };
}

export interface RunningDaemon {
  server: Server;
  url: string;
  redis: Redis;
  queue: EventsQueue;
  ingestor: Ingestor;
  metrics: EdgeMetrics;
  /** Stop accepting, wait for in-flight requests (up to the grace period), close connections. */
  close(): Promise<void>;
}

export async function startDaemon(
  config: Config,
  logger: Logger,
  opts: { defaultMetrics?: boolean; devRedis?: string } = {},
): Promise<RunningDaemon> {
  const redis = createProducerRedis(config.redis);
  // Connection errors are expected while Redis restarts; readiness and 503s report them, the log says it once per change.
  let lastRedisError = '';
  redis.on('error', (err: Error) => {
    if (err.message !== lastRedisError) logger.warn({ err: err.message }, 'redis connection error');
    lastRedisError = err.message;
  });
  redis.on('ready', () => {
    if (lastRedisError) logger.info('redis connection restored');
    lastRedisError = '';
  });
  const queue = createEventsQueue(redis, config.redis.prefix);
  queue.on('error', () => undefined); // surfaced through the connection's own listener above
  const ingestor = new Ingestor({
    redis,
    queue,
    prefix: config.redis.prefix,
    dedupeTtlSeconds: config.webhooks.dedupeTtlSeconds,
    quarantineLimits: config.quarantine,
    timeoutMs: config.server.enqueueTimeoutMs,
    ackReplicas: config.redis.ackReplicas,
    ackTimeoutMs: config.redis.ackTimeoutMs,
  });
  // Give Redis a moment so the first webhook does not meet a half-open connection; a Redis that
  // stays away does not stop the daemon (/readyz and 503s say so, and it reconnects by itself).
  const ready = await Promise.race([
    queue.waitUntilReady().then(() => true),
    sleep(config.server.enqueueTimeoutMs).then(() => false),
  ]).catch(() => false);
  if (!ready)
    logger.warn({ redis: describeRedis(config.redis) }, 'redis not reachable yet: webhooks get 503 until it is');
  // Quarantine entries an earlier release kept whole are split (reasons apart from bodies); the next entry does it otherwise.
  else
    await ingestor.quarantined
      .migrateLegacy()
      .catch((err: Error) =>
        logger.warn({ err: err.message }, 'quarantine entries of an earlier release not moved yet'),
      );
  const metrics = createEdgeMetrics(opts.defaultMetrics === undefined ? {} : { defaultMetrics: opts.defaultMetrics });
  const pushQueues = PUSH_QUEUES.map((name) => openQueue(name, redis, config.redis.prefix));
  for (const q of pushQueues) q.on('error', () => undefined);
  registerQueueGauges(metrics.registry, [queue, ...pushQueues]);
  registerHealthGauges(metrics.registry, redis, config.redis.prefix, configuredWebhookSources(config));
  const { listener } = createApp({
    config,
    logger,
    ingestor,
    redis,
    metrics,
    ...(opts.devRedis && { devRedis: opts.devRedis }),
  });

  const server = createServer(serverOptions(config.server), listener);
  server.maxConnections = config.server.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;

  let closing: Promise<void> | undefined;
  // Once shutting down, every answer closes its connection: a keep-alive client (a load balancer, a provider)
  // would otherwise keep sending on it, and server.close() would wait out the whole grace period for it.
  server.prependListener('request', (_req, res) => {
    if (closing) res.setHeader('Connection', 'close');
  });
  const close = () =>
    (closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise<'timeout'>((resolve) =>
        setTimeout(resolve, config.server.shutdownGraceMs, 'timeout').unref(),
      );
      if ((await Promise.race([closed, grace])) === 'timeout') {
        logger.warn({ graceMs: config.server.shutdownGraceMs }, 'grace period over: closing remaining connections');
        server.closeAllConnections();
      }
      await queue.close().catch(() => undefined);
      await Promise.all(pushQueues.map((q) => q.close().catch(() => undefined)));
      redis.disconnect();
    })());

  return { server, url, redis, queue, ingestor, metrics, close };
}
