/**
 * Redis connections: the ONE place portal-sync connects to Redis (the daemon's
 * web and worker roles, BullMQ queues, workers and their duplicated blocking
 * connections, the CLI, the dashboard, the demo). A plain REDIS_URL, a
 * managed failover endpoint that moves (READONLY after a promotion is a
 * reconnect, not an error), or Sentinel (REDIS_SENTINELS + the master name):
 * every client asks the same factory, so no connection is left pointing at a
 * demoted primary. Producers (the web role) fail fast when Redis is away, so
 * that a webhook gets a 503 and the provider retries, instead of waiting in an
 * offline queue while the provider times out. Workers use BullMQ's
 * recommended blocking settings.
 */
import { Redis, type RedisOptions } from 'ioredis';

export type { Redis } from 'ioredis';

export interface SentinelAddress {
  host: string;
  port: number;
}

/** Where and how to connect; config.redis carries these (src/config.ts). A bare URL is a plain single Redis. */
export interface RedisConnectionSettings {
  url: string;
  /** Sentinel mode when non-empty: the primary is asked of these, by `sentinelMaster`; REDIS_URL's host is then unused. */
  sentinels?: SentinelAddress[];
  sentinelMaster?: string;
  sentinelPassword?: string;
  /** The Redis nodes' password (AUTH); overrides one in the URL. */
  password?: string;
  /** TLS to the Redis nodes and the sentinels (a rediss:// URL turns it on too). */
  tls?: boolean;
}

export type RedisTarget = string | RedisConnectionSettings;

/**
 * producer: fails fast (webhook receivers, queue producers); worker: waits forever (BullMQ workers, the store);
 * admin: a CLI command, a few tries then an error; probe: one try, no reconnect (is anyone there?).
 */
export type ConnectionKind = 'producer' | 'worker' | 'admin' | 'probe';

const settingsOf = (target: RedisTarget): RedisConnectionSettings =>
  typeof target === 'string' ? { url: target } : target;

/**
 * After a failover the old primary, or a managed endpoint that has not moved yet, answers writes with
 * READONLY; a blocked BZPOPMIN/XREAD on a demoted primary is ended with UNBLOCKED. Neither command ran,
 * so reconnecting (to the new primary: Sentinel is asked again) and resending it is safe: 2.
 */
export function reconnectOnFailoverError(err: Error): 2 | false {
  return /^(READONLY|UNBLOCKED)\b/.test(err.message) ? 2 : false;
}

const keepTrying = (times: number) => Math.min(200 * times, 2000);

const KIND_OPTIONS: Record<ConnectionKind, RedisOptions> = {
  producer: {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: keepTrying,
    lazyConnect: false,
  },
  worker: { maxRetriesPerRequest: null, retryStrategy: keepTrying },
  admin: {
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    retryStrategy: (n) => (n > 2 ? null : 200),
    sentinelRetryStrategy: (n) => (n > 2 ? null : 200),
  },
  probe: {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
    enableOfflineQueue: false,
  },
};

/** The ioredis options of one connection: the kind's behaviour, then failover handling, TLS, auth and Sentinel. */
export function redisOptions(target: RedisTarget, kind: ConnectionKind, extra: RedisOptions = {}): RedisOptions {
  const s = settingsOf(target);
  const tls = s.tls === true || s.url.startsWith('rediss:');
  const sentinels = s.sentinels ?? [];
  const options: RedisOptions = { ...KIND_OPTIONS[kind], reconnectOnError: reconnectOnFailoverError };
  if (s.password !== undefined) options.password = s.password;
  if (tls) options.tls = {};
  if (sentinels.length > 0) {
    options.sentinels = sentinels.map(({ host, port }) => ({ host, port }));
    options.name = s.sentinelMaster ?? '';
    options.role = 'master';
    // No failoverDetector: its disconnect on +switch-master, landing while a client is still reconnecting
    // after the primary died, left BullMQ's connections closed for good (12-failover). A dead primary is a
    // connection error and a demoted one answers READONLY: both already lead to asking the sentinels again.
    options.sentinelRetryStrategy ??= keepTrying;
    if (s.sentinelPassword !== undefined) options.sentinelPassword = s.sentinelPassword;
    if (tls) {
      options.enableTLSForSentinelMode = true;
      options.sentinelTLS = {};
    }
  }
  return { ...options, ...extra };
}

/** The one way to connect. ioredis keeps these options in `duplicate()`, which BullMQ uses for its blocking connections. */
export function connectRedis(target: RedisTarget, kind: ConnectionKind, extra: RedisOptions = {}): Redis {
  return new Redis(settingsOf(target).url, redisOptions(target, kind, extra));
}

export function createProducerRedis(target: RedisTarget, extra: RedisOptions = {}): Redis {
  return connectRedis(target, 'producer', extra);
}

export function createWorkerRedis(target: RedisTarget, extra: RedisOptions = {}): Redis {
  return connectRedis(target, 'worker', extra);
}

/** Where a target points, for logs: the URL without its password, or the sentinels and the master name. */
export function describeRedis(target: RedisTarget): string {
  const s = settingsOf(target);
  if (s.sentinels && s.sentinels.length > 0)
    return `sentinel ${s.sentinelMaster ?? '?'} via ${s.sentinels.map((a) => `${a.host}:${a.port}`).join(',')}`;
  return s.url.replace(/\/\/[^@/]*@/, '//***@');
}

/** One PING on a fresh connection, closed after; false instead of throwing. */
export async function redisAnswers(target: RedisTarget, timeoutMs = 1000): Promise<boolean> {
  const client = connectRedis(target, 'probe', { connectTimeout: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** How often a wait for Redis is said again in the log (the first time at once). */
const REDIS_WAIT_LOG_EVERY_MS = 30_000;

/**
 * Waits until the Redis at `target` answers PING, trying every second and calling `say` at once and then at
 * most every REDIS_WAIT_LOG_EVERY_MS (the log says what the daemon waits for, not once a retry).
 * Resolves false when `signal` aborts first.
 */
export async function waitForRedis(
  target: RedisTarget,
  say: (waitedSeconds: number) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  const started = Date.now();
  let saidAt = -Infinity;
  while (!signal?.aborted) {
    if (await redisAnswers(target)) return true;
    if (Date.now() - saidAt >= REDIS_WAIT_LOG_EVERY_MS) {
      saidAt = Date.now();
      say(Math.round((saidAt - started) / 1000));
    }
    await new Promise<void>((r) => setTimeout(r, 1000).unref());
  }
  return false;
}

/** What `status` says of the Redis it reads: its role, its replicas, its persistence and eviction settings. */
export interface RedisTopology {
  role: string;
  connectedReplicas: number;
  aof: boolean | null;
  /** null when CONFIG is not allowed (managed services often rename or disable it). */
  maxmemoryPolicy: string | null;
}

const infoField = (info: string, field: string): string | undefined =>
  new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();

export async function readRedisTopology(redis: Redis): Promise<RedisTopology> {
  const [replication, persistence] = await Promise.all([
    redis.info('replication'),
    redis.info('persistence').catch(() => ''),
  ]);
  const policy = await (redis.config('GET', 'maxmemory-policy') as Promise<string[]>)
    .then((r) => r[1] ?? null)
    .catch(() => null);
  const aof = infoField(persistence, 'aof_enabled');
  return {
    role: infoField(replication, 'role') ?? 'unknown',
    connectedReplicas: Number(infoField(replication, 'connected_slaves') ?? 0),
    aof: aof === undefined ? null : aof === '1',
    maxmemoryPolicy: policy,
  };
}

/** What an operator must fix in that topology, given redis.ackReplicas. */
export function topologyWarnings(t: RedisTopology, ackReplicas: number): string[] {
  const out: string[] = [];
  if (ackReplicas > t.connectedReplicas) {
    out.push(
      `redis.ackReplicas is ${ackReplicas} but ${t.connectedReplicas} replica(s) are connected: webhooks are answered 503 until enough replicas are back`,
    );
  }
  if (t.maxmemoryPolicy !== null && t.maxmemoryPolicy !== 'noeviction')
    out.push(`maxmemory-policy is ${t.maxmemoryPolicy}: Redis may evict queue and dedupe keys; set noeviction`);
  return out;
}

export function isRedisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}

/** PING with a deadline; false instead of throwing. */
export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<boolean> {
  if (!isRedisReady(redis)) return false;
  try {
    return (await withTimeout(redis.ping(), timeoutMs, 'redis ping')) === 'PONG';
  } catch {
    return false;
  }
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
