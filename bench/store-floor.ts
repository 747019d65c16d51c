/**
 * bench/store-floor — what the record store's Redis access alone costs this process, per event, against
 * BullMQ's own per-job cost, measured in the same run: the floor under bench:pipeline's ratio that no work
 * on the store's logic can go below. Three loops of the same size and concurrency as the events worker
 * (8 at once, a 9.4 kB record, bench:pipeline's mean), on real Redis, no logic at all:
 *
 *  - `bullmq`: BullMQ addBulk + a no-op worker (bench:pipeline's baseline);
 *  - `storePattern`: the store's apply as Redis sees it (store.ts): a pipeline of WATCH and the reads of a
 *    known customer (kept-apart pairs, index keys, record, key index, key-set size, probes), then a
 *    MULTI/EXEC writing the record and its key index, on a connection of its own;
 *  - `getSet`: the least any read-modify-write of the record costs: one GET and one SET.
 *
 * `ceiling` is the ratio bench:pipeline would have if the process's CPU alone bounded it and everything but
 * BullMQ's job and the store's round trips cost nothing: bullmq ÷ (bullmq + storePattern). Prints one JSON object.
 *
 *   npm run bench:store-floor      (BENCH_EVENTS=6000)
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createProducerRedis, createWorkerRedis } from '../src/sync/redis/connection.js';
import { deleteByPrefixes } from './lib/redis.js';
import { profiledIfAsked } from './lib/profile.js';

const events = Number(process.env.BENCH_EVENTS ?? 6_000);
const concurrency = 8;
const customers = 600;
const recordBytes = 9_400;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.BENCH_PREFIX ?? `bench-store-floor-${process.pid}`;
const round = (n: number) => Number(n.toFixed(3));

/** Node CPU (user + system) per event of `work`, in ms, and its events per second. */
async function measured(work: () => Promise<void>): Promise<{ nodeCpuMs: number; eventsPerSecond: number }> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  return { nodeCpuMs: round((used.user + used.system) / 1000 / events), eventsPerSecond: Math.round(events / seconds) };
}

async function bullmq(): Promise<void> {
  const producer = createProducerRedis(redisUrl);
  const connection = createWorkerRedis(redisUrl);
  const queue = new Queue('floor', { connection: producer, prefix: `${prefix}-q` });
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((resolve) => (finished = resolve));
  const worker = new Worker('floor', async () => undefined, { connection, prefix: `${prefix}-q`, concurrency });
  worker.on('completed', () => {
    if (++done === events) finished();
  });
  await worker.waitUntilReady();
  const pad = 'x'.repeat(590); // bench:pipeline's mean job: 600 bytes
  for (let i = 0; i < events; i += 200)
    await queue.addBulk(
      Array.from({ length: Math.min(200, events - i) }, (_, j) => ({
        name: 'e',
        data: { pad },
        opts: { jobId: `j${i + j}` },
      })),
    );
  await all;
  await worker.close();
  await queue.close();
  connection.disconnect();
  producer.disconnect();
}

/** `events` iterations of `step` over `customers` customers, `concurrency` at once, each lane on its own connection. */
async function lanes(step: (conn: Redis, key: (s: string) => string) => Promise<unknown>): Promise<void> {
  const conns = Array.from({ length: concurrency }, () => new Redis(redisUrl));
  let next = 0;
  await Promise.all(
    conns.map(async (conn) => {
      while (next < events) {
        const c = next++ % customers;
        await step(conn, (s) => `${prefix}:${s}:${c}`);
      }
    }),
  );
  for (const c of conns) c.disconnect();
}

const record = 'r'.repeat(recordBytes);

async function main(): Promise<void> {
  // Warm-up of each (JIT, connections, BullMQ's scripts), not measured.
  await lanes((conn, k) => conn.set(k('rec'), record));
  const { result: figures, profileTop } = await profiledIfAsked(async () => ({
    bullmq: await measured(bullmq),
    storePattern: await measured(() =>
      lanes(async (conn, k) => {
        const reads = await conn
          .pipeline()
          .watch(k('idx-a'), k('idx-b'), `${prefix}:apart`, k('rec'), k('keys'), k('sys'))
          .smembers(`${prefix}:apart`)
          .mget(k('idx-a'), k('idx-b'))
          .get(k('rec'))
          .hgetall(k('sys'))
          .scard(k('keys'))
          .smismember(k('keys'), 'stripe:cus_1', 'zdorg:1')
          .exec();
        if (reads === null) throw new Error('read pipeline failed');
        await conn.multi().set(k('rec'), record).hset(k('sys'), 'n', '2').exec();
      }),
    ),
    getSet: await measured(() =>
      lanes(async (conn, k) => {
        await conn.get(k('rec'));
        await conn.set(k('rec'), record);
      }),
    ),
  }));
  const ceiling = figures.bullmq.nodeCpuMs / (figures.bullmq.nodeCpuMs + figures.storePattern.nodeCpuMs);
  process.stdout.write(
    `${JSON.stringify({ bench: 'store-floor', node: process.version, events, concurrency, recordBytes, ...figures, ceiling: round(ceiling), pipelineGoal: 0.4, ...(profileTop && { profileTop }) }, null, 2)}\n`,
  );
}

try {
  await main();
} finally {
  await deleteByPrefixes(redisUrl, [prefix, `${prefix}-q`]);
}
setTimeout(() => process.exit(0), 2_000).unref();
