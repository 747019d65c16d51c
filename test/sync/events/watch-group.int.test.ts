/**
 * Applies that run at once share one WATCH connection and one MULTI/EXEC (watch-group.ts), on the real Redis:
 * they still behave as if each ran its own optimistic transaction. A read-modify-write counter stands in for
 * the record store's applies: a lost update would show as a count short of the number of increments.
 */
import { Redis, type ChainableCommander } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WatchGroups, type WatchSession } from '../../../src/sync/events/watch-group.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { spawnRedis } from '../../../src/sync/redis/spawn-redis.js';

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

describe('the commands a group sends', () => {
  /** A group on one connection whose commands are counted as they go out (they still run on the real Redis). */
  async function countedGroup(): Promise<{ groups: WatchGroups; sent: string[] }> {
    const sent: string[] = [];
    const conn = redis.duplicate();
    opened.push(conn);
    await conn.ping(); // connected: its handshake is not counted
    const send = conn.sendCommand.bind(conn);
    conn.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      sent.push(command.name);
      return (send as (...a: unknown[]) => unknown)(command, ...rest);
    }) as typeof conn.sendCommand;
    const g = new WatchGroups({ acquire: () => conn, release: () => undefined });
    return { groups: g, sent };
  }

  it("sends a group's reads as one script call and one MGET, its writes as one script call and one MSET in MULTI/EXEC, with each command's own reply", async () => {
    const p = `${prefix}:batched`;
    await redis.set(`${p}:rec`, 'stored record');
    await redis.hset(`${p}:hash`, { a: '1', b: '2' });
    await redis.sadd(`${p}:set`, 'x', 'y');
    const { groups: g, sent } = await countedGroup();
    // Warm: the first call of a script loads it on the connection.
    const warm = g.join();
    await warm.pipeline().watch(`${p}:warm`).get(`${p}:warm`).scard(`${p}:warm`).exec();
    await warm.multi().set(`${p}:warm`, 'w').expire(`${p}:warm`, 60).exec();
    sent.length = 0;
    const members = Array.from({ length: 8 }, () => g.join());
    // Every read the script runs, a missing key among them; the last one differs per member.
    const readsOn = (pipe: ChainableCommander, i: number) =>
      pipe
        .get(`${p}:rec`)
        .get(`${p}:missing`)
        .mget(`${p}:rec`, `${p}:missing`)
        .hgetall(`${p}:hash`)
        .hget(`${p}:hash`, 'b')
        .scard(`${p}:set`)
        .smismember(`${p}:set`, 'x', 'z', 'y')
        .smembers(`${p}:set`)
        .get(`${p}:out:${i}`);
    const reads = await Promise.all(
      members.map((m, i) => readsOn(m.pipeline().watch(`${p}:rec`, `${p}:hash`, `${p}:set`), i).exec()),
    );
    const direct = await readsOn(redis.pipeline(), 0).exec();
    for (const r of reads) expect(r!.slice(1)).toEqual(direct);
    const written = await Promise.all(
      members.map((m, i) =>
        m
          .multi()
          .set(`${p}:out:${i}`, Buffer.from(`record ${i}`))
          .sadd(`${p}:outset`, String(i))
          .hset(`${p}:outhash:${i}`, { f: 'v', n: String(i) })
          .expire(`${p}:outhash:${i}`, 60)
          .exec(),
      ),
    );
    expect(written.every((w) => w !== null && w.every(([err]) => err === null))).toBe(true);
    expect(await redis.mget(...members.map((_, i) => `${p}:out:${i}`))).toEqual(members.map((_, i) => `record ${i}`));
    expect(await redis.scard(`${p}:outset`)).toBe(8);
    expect(await redis.hgetall(`${p}:outhash:3`)).toEqual({ f: 'v', n: '3' });
    expect(await redis.ttl(`${p}:outhash:3`)).toBeGreaterThan(0);
    // The strings read (GET) as one MGET, the records written (SET of bytes) as one MSET: Lua copies each value
    // on its way through the script. Beside the MSET the script goes as EVAL (see the SCRIPT FLUSH test).
    expect(sent).toEqual(['watch', 'evalsha', 'mget', 'multi', 'eval', 'mset', 'exec']);
  });

  it('gives a failed read its own error and the others their replies, as a pipeline would', async () => {
    const p = `${prefix}:wrongtype`;
    await redis.set(`${p}:string`, 'not a hash');
    const { groups: g } = await countedGroup();
    const m = g.join();
    await redis.hset(`${p}:hash`, 'f', 'v');
    const replies = await m
      .pipeline()
      .watch(`${p}:string`)
      .hgetall(`${p}:string`)
      .get(`${p}:string`)
      .get(`${p}:hash`)
      .get(`${p}:missing`)
      .exec();
    m.leave();
    expect(replies![1]![0]).toBeInstanceOf(Error);
    expect(String(replies![1]![0])).toMatch(/WRONGTYPE/);
    expect(replies![2]).toEqual([null, 'not a hash']);
    // A GET goes out in the MGET, which answers nil for a key of another type: the script's TYPE check keeps GET's error.
    expect(replies![3]![0]).toBeInstanceOf(Error);
    expect(String(replies![3]![0])).toMatch(/WRONGTYPE/);
    expect(replies![4]).toEqual([null, null]);
  });

  /**
   * Two members of a group on a private Redis (SCRIPT FLUSH empties the whole server's script cache) that have
   * read under WATCH; the script cache is then flushed and each member commits `write` of its keys k<i>, s<i>.
   */
  async function commitsAfterFlush(
    write: (tx: ChainableCommander, i: number) => ChainableCommander,
  ): Promise<{ settled: Array<PromiseSettledResult<unknown>>; own: Redis; done: () => void }> {
    const { port, child } = await spawnRedis({
      args: (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    });
    const own = new Redis({ port, host: '127.0.0.1' });
    const conn = own.duplicate();
    const g = new WatchGroups({ acquire: () => conn, release: () => undefined });
    const members = [g.join(), g.join()];
    await Promise.all(members.map((m, i) => m.pipeline().watch(`k${i}`).get(`k${i}`).scard(`s${i}`).exec()));
    await own.script('FLUSH');
    const settled = await Promise.allSettled(members.map((m, i) => write(m.multi(), i).exec()));
    return {
      settled,
      own,
      done: () => {
        conn.disconnect();
        own.disconnect();
        child.kill('SIGKILL');
      },
    };
  }

  it("fails the commits, never passes them for stored, when Redis lost the script between the group's reads and its EXEC", async () => {
    const { settled, own, done } = await commitsAfterFlush((tx, i) => tx.set(`k${i}`, 'v').sadd(`s${i}`, 'x'));
    try {
      expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      expect(String((settled[0] as PromiseRejectedResult).reason)).toMatch(/NOSCRIPT/);
      expect(await own.mget('k0', 'k1')).toEqual([null, null]);
    } finally {
      done();
    }
  });

  it('stores the records and the rest of an EXEC together, never the records alone, when Redis lost the script', async () => {
    // A record (bytes) goes out in the MSET, the rest in the script: an EVALSHA that found no script would fail
    // alone, and the MSET would store the records without their sets. The script beside an MSET goes as EVAL.
    const { settled, own, done } = await commitsAfterFlush((tx, i) =>
      tx.set(`k${i}`, Buffer.from('record')).sadd(`s${i}`, 'x'),
    );
    try {
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      const written = settled.map((r) => (r as PromiseFulfilledResult<Array<[Error | null, unknown]> | null>).value);
      expect(written.every((w) => w !== null && w.every(([err]) => err === null))).toBe(true);
      expect(await own.mget('k0', 'k1')).toEqual(['record', 'record']);
      expect([await own.scard('s0'), await own.scard('s1')]).toEqual([1, 1]);
    } finally {
      done();
    }
  });

  it('keeps in the script, in their order, the writes of a key another command of the EXEC writes too', async () => {
    const p = `${prefix}:twice`;
    const { groups: g, sent } = await countedGroup();
    const members = [g.join(), g.join()];
    await Promise.all(members.map((m, i) => m.pipeline().watch(`${p}:${i}`).get(`${p}:${i}`).exec()));
    const written = await Promise.all([
      members[0]!.multi().set(`${p}:rec`, Buffer.from('first')).sadd(`${p}:set`, 'a').exec(),
      members[1]!.multi().del(`${p}:rec`).sadd(`${p}:set`, 'b').exec(),
    ]);
    expect(written.every((w) => w !== null)).toBe(true);
    // The second member's DEL comes after the first's SET: the record is gone, not set again by an MSET sent last.
    expect(await redis.exists(`${p}:rec`)).toBe(0);
    expect(await redis.smembers(`${p}:set`)).toEqual(expect.arrayContaining(['a', 'b']));
    expect(sent.slice(-3)).toEqual(['multi', 'evalsha', 'exec']);
  });

  it('sends a group with a command of thousands of arguments one by one, and stores all of it', async () => {
    const p = `${prefix}:large`;
    const { groups: g, sent } = await countedGroup();
    const m = g.join();
    await m.pipeline().watch(`${p}:hash`).get(`${p}:rec`).scard(`${p}:set`).exec();
    const fields = Object.fromEntries(Array.from({ length: 6_000 }, (_, i) => [`f${i}`, String(i)]));
    const written = await m.multi().set(`${p}:rec`, 'r').hset(`${p}:hash`, fields).exec();
    expect(written!.every(([err]) => err === null)).toBe(true);
    expect(await redis.hlen(`${p}:hash`)).toBe(6_000);
    expect(await redis.get(`${p}:rec`)).toBe('r');
    expect(sent.slice(-4)).toEqual(['multi', 'set', 'hset', 'exec']);
  });

  it('sends a command the scripts do not run one by one, as before', async () => {
    const p = `${prefix}:plain`;
    await redis.zadd(`${p}:z`, 1, 'one');
    const { groups: g, sent } = await countedGroup();
    const m = g.join();
    const replies = await m.pipeline().watch(`${p}:z`).zrange(`${p}:z`, '0', '-1').get(`${p}:z:missing`).exec();
    m.leave();
    expect(replies!.slice(1)).toEqual([
      [null, ['one']],
      [null, null],
    ]);
    expect(sent).toEqual(['watch', 'zrange', 'get', 'unwatch']);
  });
});
