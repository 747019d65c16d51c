/**
 * `start` never answers for a Redis it does not have: with nothing at REDIS_URL it keeps retrying it,
 * says so, and answers 503 until Redis comes; only an explicit `--dev-redis` runs a private one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { redisAnswers } from '../../src/sync/redis/private-redis.js';
import { spawnRedisOnPort } from '../../src/sync/redis/spawn-redis.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { freePort, until } from '../support/e2e.js';
import { fixtureJson } from '../support/http.js';
import { cliArgv } from '../support/cli.js';

const root = resolve(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function startCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, cliArgv(args), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const stop = () =>
    new Promise<number | null>((r) => {
      child.once('exit', r);
      child.kill('SIGTERM');
    });
  return { lines, output: () => out, stop };
}

/** On the port the daemon was told of; resolves once the server there is this one (not a process that took the port). */
async function startRedisServer(port: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ps-late-redis-'));
  dirs.push(dir);
  children.push(
    await spawnRedisOnPort(port, {
      args: (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    }),
  );
}

function signedStripeEvent() {
  const event = fixtureJson<any>('stripe/customer.subscription.updated.json');
  event.id = `evt_late_redis_${process.pid}_${Date.now()}`;
  const body = JSON.stringify(event);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
    },
  };
}

describe('portal-sync start without a Redis', () => {
  it('keeps retrying the configured Redis, answering 503 + Retry-After until it starts, then 2xx with no restart', async () => {
    const port = await freePort();
    const redisUrl = `redis://127.0.0.1:${port}`;
    const d = startCli(['start'], {
      REDIS_URL: redisUrl,
      REDIS_PREFIX: 'late',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      STRIPE_WEBHOOK_SECRET: TEST_SECRETS.STRIPE_WEBHOOK_SECRET,
    });
    const listening = await until(
      'the daemon listening',
      () => d.lines().find((l) => l.msg === 'portal-sync listening'),
      30_000,
    );
    const url = listening.url as string;
    // No private Redis was slipped in: the daemon still points at the configured one, which has nothing.
    expect(await redisAnswers(redisUrl, 300)).toBe(false);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    const before = signedStripeEvent();
    const refused = await fetch(`${url}/webhooks/stripe`, {
      method: 'POST',
      body: before.body,
      headers: before.headers,
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    // The log says what the daemon waits for, and not once a retry.
    await until(
      'the wait logged',
      () => d.lines().find((l) => typeof l.msg === 'string' && l.msg.includes('waiting for Redis')),
      20_000,
    );
    expect(d.output()).not.toMatch(/private redis-server/i);

    await startRedisServer(port);
    await until('/readyz 200 once Redis is up', async () => (await fetch(`${url}/readyz`)).status === 200, 30_000);
    const after = signedStripeEvent();
    const accepted = await fetch(`${url}/webhooks/stripe`, {
      method: 'POST',
      body: after.body,
      headers: after.headers,
    });
    expect(accepted.status).toBe(200);
    await until('the worker running', () => d.lines().find((l) => l.msg === 'events worker running'), 30_000);
    const waits = d.lines().filter((l) => typeof l.msg === 'string' && l.msg.includes('waiting for Redis'));
    expect(waits.length).toBeLessThanOrEqual(3);
    expect(await d.stop()).toBe(0);
  }, 90_000);

  it('starts a private in-memory Redis only with --dev-redis, and says so in its log and in /readyz', async () => {
    const port = await freePort();
    const d = startCli(['start', '--dev-redis'], {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    const listening = await until(
      'the daemon listening',
      () => d.lines().find((l) => l.msg === 'portal-sync listening'),
      30_000,
    );
    expect(
      d.lines().some((l) => typeof l.msg === 'string' && l.msg.includes('--dev-redis') && l.msg.includes('in memory')),
    ).toBe(true);
    const ready = await fetch(`${listening.url as string}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      redis: true,
      devRedis: expect.stringContaining('--dev-redis'),
    });
    expect(await d.stop()).toBe(0);
  }, 60_000);
});
