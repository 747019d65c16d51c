/**
 * A private, throwaway Redis (nothing persisted) for the demo, the tests and
 * `start --dev-redis` only, when nothing answers at a local REDIS_URL and
 * `redis-server` is on PATH. Plain `start` never uses one: it waits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAnswers } from './connection.js';

export { redisAnswers };

function isLocal(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]';
}

export function redisServerOnPath(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; free until someone else takes it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  url: string;
  stop(): void;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portal-sync-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  const stop = () => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(url, 200)) return { url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  stop();
  throw new Error(`redis-server did not answer on ${url} within 5 s`);
}

/** Decides which Redis to use; starts a private one only for a local default that does not answer. */
export async function ensureRedis(
  url: string,
  say: (msg: string) => void,
): Promise<{ url: string; stop?: () => void }> {
  if (await redisAnswers(url)) return { url };
  if (!isLocal(url) || !redisServerOnPath()) return { url }; // the daemon starts anyway: /readyz and 503s tell the story
  const redis = await startPrivateRedis();
  say(`no Redis answered at ${url}: started a private redis-server at ${redis.url} (in memory only, stopped on exit)`);
  return redis;
}
