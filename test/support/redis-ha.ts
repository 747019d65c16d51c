/**
 * Private Redis topologies on loopback ports, each in a temporary directory, never the shared Redis: a
 * primary with replicas, and Sentinel (`redis-server FILE --sentinel`) watching it. Nodes can be killed
 * (SIGKILL: a crash), stopped and started again on the same port and directory. Used by the replica
 * acknowledgement tests, the failover reliability scenario and bench:ingest.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis } from '../../src/sync/redis/connection.js';
import { spawnRedis, spawnRedisOnPort } from '../../src/sync/redis/spawn-redis.js';

async function poll(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

export interface RedisNode {
  port: number;
  url: string;
  running(): boolean;
  /** Starts (again) on the same port and directory; resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a node that hangs (its connections stay open, nothing is answered). */
  pause(): void;
  resume(): void;
}

/**
 * Starts a node on a free port it then keeps: the first start moves to another port when the chosen one is
 * taken before redis-server binds it; a restart waits for its own port. `prepare` runs before each first try
 * (a Sentinel's config file names its port; a restarted Sentinel reads the file as it rewrote it).
 */
async function startNode(
  dir: string,
  args: (port: number) => string[],
  prepare?: (port: number) => void,
): Promise<RedisNode> {
  mkdirSync(dir, { recursive: true });
  const first = await spawnRedis({
    args: (p) => {
      prepare?.(p);
      return args(p);
    },
    cwd: dir,
  });
  const port = first.port;
  let child: ChildProcess | null = first.child;
  const running = () => child !== null && child.exitCode === null && child.signalCode === null;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    running,
    async start() {
      if (running()) return;
      mkdirSync(dir, { recursive: true });
      child = await spawnRedisOnPort(port, { args, cwd: dir });
    },
    pause() {
      if (running()) child!.kill('SIGSTOP');
    },
    resume() {
      if (running()) child!.kill('SIGCONT');
    },
    async kill() {
      const c = child;
      if (c && running()) c.kill('SIGCONT'); // a paused process dies only once it runs again
      if (!c || !running()) return;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    },
  };
}

export interface ReplicaSet {
  primary: RedisNode;
  replicas: RedisNode[];
  dir: string;
  /** Resolves once every running replica reports its link to the primary up. */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A primary and `replicaCount` replicas. `appendonly` (default yes, fsync every second: what managed Redis
 * offers) on every node; diskless sync so that a replica (re)joins in milliseconds.
 */
export async function startReplicaSet(
  replicaCount = 1,
  opts: { appendfsync?: 'always' | 'everysec' } = {},
): Promise<ReplicaSet> {
  const dir = mkdtempSync(join(tmpdir(), 'portal-sync-redis-ha-'));
  const base = (port: number) => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    opts.appendfsync ?? 'everysec',
    '--repl-diskless-sync',
    'yes',
    '--repl-diskless-sync-delay',
    '0',
    '--maxmemory-policy',
    'noeviction',
    '--dir',
    '.',
  ];
  const primary = await startNode(join(dir, 'primary'), base);
  const replicas: RedisNode[] = [];
  for (let i = 0; i < replicaCount; i++) {
    replicas.push(
      await startNode(join(dir, `replica-${i}`), (port) => [
        ...base(port),
        '--replicaof',
        '127.0.0.1',
        String(primary.port),
      ]),
    );
  }
  const set: ReplicaSet = {
    primary,
    replicas,
    dir,
    async synced() {
      for (const r of replicas.filter((x) => x.running())) {
        await poll(`replica on ${r.port} in sync`, async () =>
          /master_link_status:up/.test(await info(r.url, 'replication')),
        );
        // The primary counts a replica for WAIT only once it holds it online (after its first ACK).
        await poll(`primary sees replica ${r.port} online`, async () =>
          new RegExp(`port=${r.port},state=online`).test(await info(primary.url, 'replication')),
        );
      }
    },
    async stop() {
      for (const n of [...replicas, primary]) await n.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await set.synced();
  return set;
}

/** INFO `section` of the node at `url`; '' when it does not answer. */
export async function info(url: string, section: string): Promise<string> {
  const c = connectRedis(url, 'probe', { connectTimeout: 500 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await c.info(section);
  } catch {
    return '';
  } finally {
    c.disconnect();
  }
}

export interface SentinelSet {
  master: string;
  sentinels: RedisNode[];
  /** REDIS_SENTINELS for the daemon. */
  addresses: string;
  /** The primary's port the sentinels name now (asks the first one that answers). */
  currentPrimaryPort(): Promise<number | null>;
  stop(): Promise<void>;
}

/** `count` sentinels watching `primaryPort` (quorum: a majority), quick to act: down after 1 s, failover timeout 5 s. */
export async function startSentinels(
  primaryPort: number,
  dir: string,
  count = 3,
  master = 'portal-sync',
): Promise<SentinelSet> {
  const sentinels: RedisNode[] = [];
  for (let i = 0; i < count; i++) {
    const home = join(dir, `sentinel-${i}`);
    const file = join(home, 'sentinel.conf');
    const writeConfig = (port: number) =>
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${home}`,
          `sentinel monitor ${master} 127.0.0.1 ${primaryPort} ${Math.floor(count / 2) + 1}`,
          `sentinel down-after-milliseconds ${master} 1000`,
          `sentinel failover-timeout ${master} 5000`,
          `sentinel parallel-syncs ${master} 1`,
          '',
        ].join('\n'),
      );
    sentinels.push(await startNode(home, () => [file, '--sentinel'], writeConfig));
  }
  const currentPrimaryPort = async (): Promise<number | null> => {
    for (const s of sentinels.filter((x) => x.running())) {
      const c = connectRedis(s.url, 'probe', { connectTimeout: 500 });
      c.on('error', () => undefined);
      try {
        await c.connect();
        const reply = (await c.call('SENTINEL', 'get-master-addr-by-name', master)) as [string, string] | null;
        if (reply) return Number(reply[1]);
      } catch {
        // the next one
      } finally {
        c.disconnect();
      }
    }
    return null;
  };
  // Every sentinel must have found the others and the replicas before a failover can be elected.
  await poll(
    'sentinels see each other',
    async () => {
      const texts = await Promise.all(sentinels.map((s) => info(s.url, 'sentinel')));
      return texts.every((t) => new RegExp(`sentinels=${count}\\b`).test(t) && /slaves=[1-9]/.test(t));
    },
    30_000,
  );
  return {
    master,
    sentinels,
    addresses: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
    currentPrimaryPort,
    async stop() {
      for (const s of sentinels) await s.kill();
    },
  };
}
