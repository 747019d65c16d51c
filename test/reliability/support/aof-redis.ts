/**
 * A private redis-server with the append-only file fsynced on every write
 * (`--appendonly yes --appendfsync always`), in a temporary directory, on a
 * free port (the one its server really bound) — never the shared Redis. It can be killed (SIGKILL: a crash,
 * nothing flushed beyond what `always` already wrote) and started again on
 * the same port and directory, loading its AOF.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRedis, spawnRedisOnPort } from '../../../src/sync/redis/spawn-redis.js';

export interface AofRedis {
  url: string;
  port: number;
  /** Kills the server; resolves once it is gone. */
  crash(): Promise<void>;
  /** Starts it again on the same port and directory; resolves once it answers. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAofRedis(): Promise<AofRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'portal-sync-reliability-redis-'));
  const args = (port: number) => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--save',
    '',
    '--dir',
    dir,
  ];
  // The first start may move to another port (the chosen one taken before the bind); restarts keep it.
  const first = await spawnRedis({ args });
  const port = first.port;
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess = first.child;

  const start = async () => {
    child = await spawnRedisOnPort(port, { args });
  };
  const crash = async () => {
    const c = child;
    if (c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  return {
    url,
    port,
    crash,
    start,
    stop: async () => {
      await crash();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
