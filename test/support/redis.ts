/** Real Redis for tests, under a unique prefix per test file, cleaned up through SCAN + DEL. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';

/** The tests' Redis (vitest's global setup provides it); outside vitest (bench/ reusing these helpers) REDIS_URL or the local one. */
export function redisUrl(): string {
  if (!process.env.VITEST) return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  return inject('redisUrl');
}

export function uniquePrefix(): string {
  return `test-${randomUUID().slice(0, 12)}`;
}

export async function deleteByPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * A test file's (or describe block's) Redis: a connection opened before its tests under a unique key prefix, closed
 * after them with every key of the prefix deleted. `redis()` is the connection once the tests run.
 */
export function redisUnderPrefix(): { prefix: string; redis: () => Redis } {
  const prefix = uniquePrefix();
  let conn: Redis | undefined;
  beforeAll(() => {
    conn = new Redis(redisUrl());
  });
  afterAll(async () => {
    conn?.disconnect();
    await deleteByPrefix(redisUrl(), prefix);
  });
  return {
    prefix,
    redis: () => {
      if (!conn) throw new Error('redisUnderPrefix: the connection opens before the tests run');
      return conn;
    },
  };
}
