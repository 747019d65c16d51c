/**
 * The connection factory: every kind of connection gets the Sentinel options when sentinels are configured,
 * reconnects on the errors a failover causes, and nothing in src/ connects to Redis any other way.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  connectRedis,
  describeRedis,
  reconnectOnFailoverError,
  redisOptions,
  type ConnectionKind,
} from '../../../src/sync/redis/connection.js';

const sentinel = {
  url: 'redis://127.0.0.1:6379/2',
  sentinels: [
    { host: 's1', port: 26379 },
    { host: 's2', port: 26380 },
  ],
  sentinelMaster: 'portal-sync',
  sentinelPassword: 'test_fake_sentinel_pw',
  password: 'test_fake_redis_pw',
};

describe('the Redis connection factory', () => {
  it('gives every kind of connection the sentinels, the master name and both passwords', () => {
    for (const kind of ['producer', 'worker', 'admin', 'probe'] as ConnectionKind[]) {
      const o = redisOptions(sentinel, kind);
      expect(o, kind).toMatchObject({
        sentinels: sentinel.sentinels,
        name: 'portal-sync',
        role: 'master',
        sentinelPassword: 'test_fake_sentinel_pw',
        password: 'test_fake_redis_pw',
      });
      expect(o.reconnectOnError, kind).toBe(reconnectOnFailoverError);
    }
  });

  it('keeps the behaviour of each kind: producers fail fast, workers wait', () => {
    expect(redisOptions(sentinel, 'producer')).toMatchObject({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    expect(redisOptions(sentinel, 'worker').maxRetriesPerRequest).toBeNull();
    expect(redisOptions(sentinel, 'probe').sentinelRetryStrategy?.(1)).toBeNull();
  });

  it('builds an ioredis client in Sentinel mode that keeps its options when BullMQ duplicates it', () => {
    const client = connectRedis(sentinel, 'worker', { lazyConnect: true });
    const copy = client.duplicate();
    try {
      for (const c of [client, copy]) {
        expect(c.options).toMatchObject({
          name: 'portal-sync',
          sentinelPassword: 'test_fake_sentinel_pw',
          password: 'test_fake_redis_pw',
          db: 2,
          maxRetriesPerRequest: null,
        });
        expect(c.options.sentinels).toEqual(sentinel.sentinels);
      }
    } finally {
      client.disconnect();
      copy.disconnect();
    }
  });

  it('turns TLS on for the nodes and the sentinels with tls or a rediss:// URL', () => {
    expect(redisOptions({ ...sentinel, tls: true }, 'worker')).toMatchObject({
      tls: {},
      enableTLSForSentinelMode: true,
      sentinelTLS: {},
    });
    expect(redisOptions('rediss://cache.example.invalid:6380', 'producer').tls).toEqual({});
    expect(redisOptions('redis://127.0.0.1:6379', 'producer').tls).toBeUndefined();
  });

  it('gives a plain URL no sentinel options but still reconnects on failover errors', () => {
    const o = redisOptions('redis://127.0.0.1:6379', 'worker');
    expect(o.sentinels).toBeUndefined();
    expect(o.reconnectOnError).toBe(reconnectOnFailoverError);
  });

  it('reconnects and resends on READONLY and UNBLOCKED, and on nothing else', () => {
    expect(reconnectOnFailoverError(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(
      reconnectOnFailoverError(
        new Error('UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)'),
      ),
    ).toBe(2);
    expect(
      reconnectOnFailoverError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ).toBe(false);
    expect(reconnectOnFailoverError(new Error('ERR unknown command'))).toBe(false);
  });

  it('describes a target for logs without its password', () => {
    expect(describeRedis('redis://user:test_fake_pw@cache:6379')).toBe('redis://***@cache:6379');
    expect(describeRedis(sentinel)).toBe('sentinel portal-sync via s1:26379,s2:26380');
  });

  it('is the only place in src/ that constructs an ioredis client', () => {
    const root = resolve(import.meta.dirname, '../../..');
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
      );
    const leaks = files(join(root, 'src'))
      .filter((f) => relative(root, f) !== 'src/sync/redis/connection.ts')
      .filter((f) => /new (IO)?Redis\(|import (?!type)[^;]*from 'ioredis'/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(leaks).toEqual([]);
  });
});
