/**
 * The tracker's pool of WATCH connections, on real Redis: a burst of transactions (a merge storm: every merged
 * record moves its sessions) waits for a connection of a bounded pool instead of opening one per transaction.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { executed, WatchPool } from '../../../src/sync/deflection/transaction.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
const prefix = uniquePrefix();

afterAll(async () => {
  await deleteByPrefix(redisUrl(), prefix);
  redis.disconnect();
});

describe('the WATCH pool', () => {
  it('runs a burst of 60 transactions on at most its 4 connections, each of them once, none lost', async () => {
    const pool = new WatchPool(redis, { maxConnections: 4 });
    const used = new Set<Redis>();
    let running = 0;
    let mostAtOnce = 0;
    const key = `${prefix}:counter`;
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        pool.atomically(async (conn) => {
          used.add(conn);
          running += 1;
          mostAtOnce = Math.max(mostAtOnce, running);
          try {
            await conn.watch(key);
            const n = Number((await conn.get(key)) ?? 0);
            return executed(
              await conn
                .multi()
                .set(key, String(n + 1))
                .exec(),
            )
              ? i
              : undefined;
          } finally {
            running -= 1;
          }
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(await redis.get(key)).toBe('60');
    expect(used.size).toBeLessThanOrEqual(4);
    expect(mostAtOnce).toBeLessThanOrEqual(4);
    pool.close();
  });

  it('gives a connection back when a step throws, so the next transactions still run', async () => {
    const pool = new WatchPool(redis, { maxConnections: 1 });
    const failures = await Promise.allSettled(
      Array.from({ length: 5 }, () =>
        pool.atomically(async (conn) => {
          await conn.watch(`${prefix}:x`);
          throw new Error('step failed');
        }),
      ),
    );
    expect(failures.every((f) => f.status === 'rejected')).toBe(true);
    await expect(pool.atomically(async (conn) => (await conn.ping()) === 'PONG')).resolves.toBe(true);
    pool.close();
  });

  it('refuses new work once closed', async () => {
    const pool = new WatchPool(redis, { maxConnections: 2 });
    await pool.atomically(async () => true);
    pool.close();
    await expect(pool.atomically(async () => true)).rejects.toThrow(/closed/);
  });
});
