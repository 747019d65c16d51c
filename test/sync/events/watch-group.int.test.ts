/**
 * Applies that run at once share one WATCH connection and one MULTI/EXEC (watch-group.ts), on the real Redis:
 * they still behave as if each ran its own optimistic transaction. A read-modify-write counter stands in for
 * the record store's applies: a lost update would show as a count short of the number of increments.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WatchGroups, type WatchSession } from '../../../src/sync/events/watch-group.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const prefix = uniquePrefix();
let redis: Redis;
const opened: Redis[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  for (const c of opened) c.disconnect();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

/** Groups on a pool of connections, as the record store keeps them. */
function groups(maxMembers?: number): { groups: WatchGroups; pool: Redis[] } {
  const pool: Redis[] = [];
  const g = new WatchGroups({
    acquire: () => {
      const conn = pool.pop();
      if (conn) return conn;
      const fresh = redis.duplicate();
      opened.push(fresh);
      return fresh;
    },
    release: (conn) => void pool.push(conn),
    ...(maxMembers !== undefined && { maxMembers }),
  });
  return { groups: g, pool };
}

/** One optimistic increment of `key` through a session: WATCH and read, then write the read value plus one. */
async function incrementOnce(session: WatchSession, key: string, extraWrite?: string): Promise<boolean> {
  const replies = (await session.pipeline().watch(key).get(key).exec()) ?? [];
  const value = Number((replies[1]?.[1] as string | null) ?? 0);
  const tx = session.multi().set(key, String(value + 1));
  if (extraWrite) tx.set(extraWrite, 'x');
  return (await tx.exec()) !== null;
}

/** Increments until one attempt is stored, each attempt in a session of its own (as RecordStore.apply does). */
async function increment(g: WatchGroups, key: string, extraWrite?: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const session = g.join();
    const stored = await incrementOnce(session, key, extraWrite).finally(() => session.leave());
    if (stored) return attempt;
  }
}

describe('applies sharing a WATCH connection', () => {
  it('stores the changes of applies running at once in fewer transactions than applies', async () => {
    const { groups: g } = groups();
    const keys = Array.from({ length: 24 }, (_, i) => `${prefix}:separate:${i}`);
    await Promise.all(keys.map((k) => increment(g, k)));
    expect(await redis.mget(...keys)).toEqual(keys.map(() => '1'));
    expect(g.stats.committed).toBe(24);
    expect(g.stats.transactions).toBeLessThan(24);
    expect(g.stats.leftOut).toBe(0);
  });

  it('loses no increment when the applies of one group read and write the same key', async () => {
    const { groups: g } = groups();
    const key = `${prefix}:shared`;
    const attempts = await Promise.all(Array.from({ length: 10 }, () => increment(g, key)));
    expect(await redis.get(key)).toBe('10');
    // All ten read 0 in the first group: one was stored, the others were left out and computed again.
    expect(g.stats.leftOut).toBeGreaterThan(0);
    expect(Math.max(...attempts)).toBeGreaterThan(1);
  });

  it('leaves out an apply that read a key an earlier member of the same transaction writes, though it writes elsewhere', async () => {
    const { groups: g } = groups();
    const a = `${prefix}:a`;
    const b = `${prefix}:b`;
    await redis.set(a, '5');
    const first = g.join();
    const second = g.join();
    // first reads a, writes a; second reads a (and b), writes b from what it read of a.
    const firstRead = first.pipeline().watch(a).get(a).exec();
    const secondRead = second.pipeline().watch(a, b).get(a).exec();
    const [r1, r2] = await Promise.all([firstRead, secondRead]);
    const done1 = first
      .multi()
      .set(a, String(Number(r1![1]![1]) + 1))
      .exec();
    const done2 = second
      .multi()
      .set(b, `copy of ${String(r2![1]![1])}`)
      .exec();
    expect((await done1) !== null).toBe(true);
    expect(await done2).toBeNull(); // its copy of a would be stale once first's write is applied
    first.leave();
    second.leave();
    expect(await redis.mget(a, b)).toEqual(['6', null]);
  });

  it('fails the whole group when another client changes a watched key, and each apply then computes again', async () => {
    const { groups: g } = groups();
    const key = `${prefix}:raced`;
    const other = `${prefix}:raced-other`;
    const sessions = [g.join(), g.join()];
    const reads = await Promise.all([
      sessions[0]!.pipeline().watch(key).get(key).exec(),
      sessions[1]!.pipeline().watch(other).get(other).exec(),
    ]);
    expect(reads.every((r) => r !== null)).toBe(true);
    await redis.set(key, '100'); // another process, between the reads and the EXEC
    const results = await Promise.all([
      sessions[0]!.multi().set(key, '1').exec(),
      sessions[1]!.multi().set(other, '1').exec(),
    ]);
    expect(results).toEqual([null, null]);
    for (const s of sessions) s.leave();
    expect(await redis.mget(key, other)).toEqual(['100', null]);
  });

  it('waits for every member before its transaction: one still reading is not cut off', async () => {
    const { groups: g } = groups();
    const slowKey = `${prefix}:slow`;
    const fastKey = `${prefix}:fast`;
    const fast = g.join();
    const slow = g.join();
    await fast.pipeline().watch(fastKey).get(fastKey).exec();
    let fastDone = false;
    const fastCommit = fast
      .multi()
      .set(fastKey, 'f')
      .exec()
      .then((r) => {
        fastDone = true;
        return r;
      });
    await slow.pipeline().watch(slowKey).get(slowKey).exec();
    await new Promise((r) => setTimeout(r, 20));
    expect(fastDone).toBe(false);
    const slowCommit = slow.multi().set(slowKey, 's').exec();
    expect((await fastCommit) !== null && (await slowCommit) !== null).toBe(true);
    expect(await redis.mget(fastKey, slowKey)).toEqual(['f', 's']);
    expect(g.stats.transactions).toBe(1);
  });

  it('unwatches when every member left without writing, so the next group on that connection is not failed by stale watches', async () => {
    const { groups: g, pool } = groups();
    const key = `${prefix}:stale-watch`;
    const reader = g.join();
    await reader.pipeline().watch(key).get(key).exec();
    await reader.unwatch();
    expect(pool).toHaveLength(1);
    await redis.set(key, 'changed by another client');
    expect(await increment(g, `${prefix}:after-stale`)).toBe(1);
  });

  it('tells a member to compute again when its connection closed after its reads: Redis no longer watches for it', async () => {
    const acquired: Redis[] = [];
    const released: Redis[] = [];
    const g = new WatchGroups({
      acquire: () => {
        const fresh = redis.duplicate();
        opened.push(fresh);
        acquired.push(fresh);
        return fresh;
      },
      release: (conn) => void released.push(conn),
    });
    const key = `${prefix}:reconnected`;
    await redis.set(key, '1');
    const session = g.join();
    const read = await session.pipeline().watch(key).get(key).exec();
    expect(read?.[1]?.[1]).toBe('1');
    // The connection drops and ioredis reconnects on its own; meanwhile another client changes the key.
    acquired[0]!.disconnect(true);
    await redis.set(key, '50');
    await new Promise((r) => setTimeout(r, 50));
    expect(await session.multi().set(key, '2').exec()).toBeNull();
    session.leave();
    expect(await redis.get(key)).toBe('50');
    expect(released).toEqual([]); // dropped, not handed to the next group
  });

  it('opens a new group once the open one is full or committing', async () => {
    const { groups: g } = groups(2);
    const keys = Array.from({ length: 6 }, (_, i) => `${prefix}:small:${i}`);
    await Promise.all(keys.map((k) => increment(g, k)));
    expect(await redis.mget(...keys)).toEqual(keys.map(() => '1'));
    expect(g.stats.groups).toBeGreaterThanOrEqual(3);
    expect(g.stats.members).toBe(6);
  });
});
