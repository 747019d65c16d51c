/**
 * `status` says which Redis it reads, how many replicas follow it, its persistence and eviction settings,
 * and warns when redis.ackReplicas asks for more replicas than are connected (every webhook would get 503).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatus } from '../../src/sync/admin/status.js';
import { statusText } from '../../src/cli/status.js';
import { connectRedis, type Redis } from '../../src/sync/redis/connection.js';
import { testConfig } from '../support/daemon.js';
import { startReplicaSet, type ReplicaSet } from '../support/redis-ha.js';

let set: ReplicaSet;
let redis: Redis;

beforeAll(async () => {
  set = await startReplicaSet(1);
  redis = connectRedis(set.primary.url, 'admin');
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await set?.stop();
});

describe('status on a primary with a replica', () => {
  it('reports the primary, its connected replica, AOF and noeviction, with no warning for ackReplicas 1', async () => {
    const config = testConfig({ REDIS_URL: set.primary.url });
    config.redis.ackReplicas = 1;
    const status = await readStatus(redis, config);
    expect(status.redis).toEqual({
      role: 'master',
      connectedReplicas: 1,
      aof: true,
      maxmemoryPolicy: 'noeviction',
      ackReplicas: 1,
      warnings: [],
    });
    expect(statusText(status, config.redis.prefix)).toMatch(
      /redis: master, 1 replica\(s\) connected, AOF on, maxmemory-policy noeviction, ackReplicas 1\n/,
    );
  });

  it('warns when ackReplicas asks for more replicas than are connected, and when keys may be evicted', async () => {
    const config = testConfig({ REDIS_URL: set.primary.url });
    config.redis.ackReplicas = 2;
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const text = statusText(await readStatus(redis, config), config.redis.prefix);
      expect(text).toMatch(
        /WARNING: redis\.ackReplicas is 2 but 1 replica\(s\) are connected: webhooks are answered 503/,
      );
      expect(text).toMatch(
        /WARNING: maxmemory-policy is allkeys-lru: Redis may evict queue and dedupe keys; set noeviction/,
      );
    } finally {
      await redis.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });
});
