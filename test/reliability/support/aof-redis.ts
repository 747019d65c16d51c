/**
 * A private redis-server with the append-only file fsynced on every write
 * (`--appendonly yes --appendfsync always`), in a temporary directory, on a
 * free port — never the shared Redis. It can be killed (SIGKILL: a crash,
 * nothing flushed beyond what `always` already wrote) and started again on
 * the same port and directory, loading its AOF.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAnswers } from '../../../src/sync/redis/private-redis.js';
import { freePort } from '../../support/e2e.js';

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
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portal-sync-reliability-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;

  const start = async () => {
    child = spawn(
      'redis-server',
      [
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
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      if (await redisAnswers(url, 200)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`private redis-server did not answer on ${url}`);
  };
  const crash = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  await start();
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
