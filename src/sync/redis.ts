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
