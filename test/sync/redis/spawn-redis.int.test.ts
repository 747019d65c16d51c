/**
 * Private redis-servers on ports someone else took between choosing and binding (parallel test files do):
 * the start moves to another port, or waits for its own port, and never hands out someone else's server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { connectRedis } from '../../../src/sync/redis/connection.js';
import { startPrivateRedis, type PrivateRedis } from '../../../src/sync/redis/private-redis.js';
import { freePort, spawnRedisOnPort } from '../../../src/sync/redis/spawn-redis.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serverInfo(url: string): Promise<{ runId: string; pid: number }> {
  const c = connectRedis(url, 'probe');
  c.on('error', () => undefined);
  try {
    await c.connect();
    const text = await c.info('server');
    return { runId: /^run_id:(\w+)/m.exec(text)![1]!, pid: Number(/^process_id:(\d+)/m.exec(text)![1]) };
  } finally {
    c.disconnect();
  }
}

/** A plain TCP listener on a free port: not Redis, but it keeps redis-server from binding there. */
async function holdPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const s: Server = createServer((sock) => sock.destroy());
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  let open = true;
  const release = async () => {
    if (open) await new Promise((r) => s.close(r));
    open = false;
  };
  cleanups.push(release);
  return { port: (s.address() as { port: number }).port, release };
}

/** Hands out `first`, then free ports; records what it handed out. */
function takenFirst(first: number) {
  const handed: number[] = [];
  const choose = async () => {
    const port = handed.length === 0 ? first : await freePort();
    handed.push(port);
    return port;
  };
  return { choose, handed };
}

function started(redis: PrivateRedis): PrivateRedis {
  cleanups.push(() => redis.stop());
  return redis;
}

describe('a private redis-server whose port is taken before it binds', () => {
  it('moves to another port instead of handing out the Redis that already answers on the chosen one', async () => {
    const other = inject('redisUrl');
    const otherPort = Number(new URL(other).port || 6379);
    const ports = takenFirst(otherPort);
    const redis = started(await startPrivateRedis({ choosePort: ports.choose }));
    expect(ports.handed).toHaveLength(2);
    expect(ports.handed[0]).toBe(otherPort);
    expect(new URL(redis.url).port).toBe(String(ports.handed[1]));
    expect((await serverInfo(redis.url)).runId).not.toBe((await serverInfo(other)).runId);
  });

  it('moves to another port when the chosen one is held by something that is not Redis', async () => {
    const held = await holdPort();
    const ports = takenFirst(held.port);
    const redis = started(await startPrivateRedis({ choosePort: ports.choose }));
    expect(ports.handed[0]).toBe(held.port);
    expect(new URL(redis.url).port).not.toBe(String(held.port));
    expect((await serverInfo(redis.url)).runId).toMatch(/^\w{40}$/);
  });

  it('a restart that must keep its port waits for a port held for a moment, and the server there is its own', async () => {
    const held = await holdPort();
    const dir = mkdtempSync(join(tmpdir(), 'portal-sync-spawn-test-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    setTimeout(() => void held.release(), 300);
    const child = await spawnRedisOnPort(held.port, {
      args: (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    expect((await serverInfo(`redis://127.0.0.1:${held.port}`)).pid).toBe(child.pid);
  });

  it('a start that fails for another reason stops at once with redis-server’s own message', async () => {
    const port = await freePort();
    const start = spawnRedisOnPort(port, { args: (p) => ['--port', String(p), '--no-such-directive', 'yes'] });
    await expect(start).rejects.toThrow(new RegExp(`ports tried: ${port}\\):[\\s\\S]*no-such-directive`));
  });
});
