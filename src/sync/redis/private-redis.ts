/**
 * A private, throwaway Redis (nothing persisted) for the demo, the tests and
 * `start --dev-redis` only, when nothing answers at a local REDIS_URL and
 * `redis-server` is on PATH. Plain `start` never uses one: it waits.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAnswers } from './connection.js';
import { spawnRedis } from './spawn-redis.js';

export { redisAnswers };

function isLocal(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '[::1]';
}

export function redisServerOnPath(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface PrivateRedis {
  url: string;
  stop(): void;
}

/** `choosePort`: where its ports come from (freePort by default; a test hands it a taken one first). */
export async function startPrivateRedis(opts: { choosePort?: () => Promise<number> } = {}): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'portal-sync-redis-'));
  try {
    const { port, child } = await spawnRedis({
      args: (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      ...(opts.choosePort ? { choosePort: opts.choosePort } : {}),
      timeoutMs: 5000,
    });
    return {
      url: `redis://127.0.0.1:${port}`,
      stop: () => {
        child.kill('SIGTERM');
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
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
