/**
 * Redis connections. Producers (the web role) must fail fast when Redis is
 * away, so that a webhook gets a 503 and the provider retries, instead of
 * waiting in an offline queue while the provider times out. Workers use
 * BullMQ's recommended blocking settings.
 */
import { Redis, type RedisOptions } from 'ioredis';

export type { Redis } from 'ioredis';

export function createProducerRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // Keep trying to come back: the daemon outlives a Redis restart.
    retryStrategy: (times) => Math.min(200 * times, 2000),
    lazyConnect: false,
    ...extra,
  });
}

export function createWorkerRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...extra,
  });
}

/** How often a wait for Redis is said again in the log (the first time at once). */
export const REDIS_WAIT_LOG_EVERY_MS = 30_000;

/**
 * Waits until the Redis at `url` answers PING, trying every second and calling `say` at once and then at
 * most every REDIS_WAIT_LOG_EVERY_MS (the log says what the daemon waits for, not once a retry).
 * Resolves false when `signal` aborts first.
 */
export async function waitForRedis(url: string, say: (waitedSeconds: number) => void, signal?: AbortSignal): Promise<boolean> {
  const started = Date.now();
  let saidAt = -Infinity;
  while (!signal?.aborted) {
    const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    client.on('error', () => undefined);
    const answered = await client
      .connect()
      .then(() => client.ping())
      .then((r) => r === 'PONG')
      .catch(() => false)
      .finally(() => client.disconnect());
    if (answered) return true;
    if (Date.now() - saidAt >= REDIS_WAIT_LOG_EVERY_MS) {
      saidAt = Date.now();
      say(Math.round((saidAt - started) / 1000));
    }
    await new Promise<void>((r) => setTimeout(r, 1000).unref());
  }
  return false;
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

export class TimeoutError extends Error {
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
