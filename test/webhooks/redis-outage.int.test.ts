/**
 * A private redis-server, stopped and started again under the daemon: the
 * webhook that arrives during the outage gets 503 (the provider retries), and
 * the retry after Redis is back is accepted — nothing is lost.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnRedis, spawnRedisOnPort } from '../../src/sync/redis/spawn-redis.js';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { startTestDaemon, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { until } from '../support/e2e.js';
import { fixtureJson, post, queuedJobs } from '../support/http.js';

let port: number;
let dir: string;
let server: ChildProcess | undefined;
let daemon: TestDaemon;

const redisArgs = (p: number) => [
  '--port',
  String(p),
  '--bind',
  '127.0.0.1',
  '--save',
  '',
  '--appendonly',
  'no',
  '--dir',
  dir,
];

/** Again on the same port: the daemon keeps its REDIS_URL. */
async function startRedis(): Promise<void> {
  server = await spawnRedisOnPort(port, { args: redisArgs });
}

async function stopRedis(): Promise<void> {
  const s = server;
  server = undefined;
  if (!s || s.exitCode !== null) return;
  await new Promise((r) => {
    s.once('exit', r);
    s.kill('SIGKILL');
  });
}

function signedEvent(id: string) {
  const event = fixtureJson<any>('stripe/customer.subscription.updated.json');
  event.id = id;
  const body = JSON.stringify(event);
  return { body, headers: () => ({ 'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET) }) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portal-sync-outage-'));
  ({ port, child: server } = await spawnRedis({ args: redisArgs }));
  daemon = await startTestDaemon({ REDIS_URL: `redis://127.0.0.1:${port}` });
});

afterAll(async () => {
  await daemon?.close();
  await stopRedis();
  rmSync(dir, { recursive: true, force: true });
});

describe('when Redis goes away', () => {
  it('answers 503 with Retry-After, reports not ready, and accepts the retry once Redis is back', async () => {
    expect((await fetch(`${daemon.url}/readyz`)).status).toBe(200);
    await stopRedis();
    await until('the daemon to notice', async () => (await fetch(`${daemon.url}/readyz`)).status === 503);

    const { body, headers } = signedEvent('evt_during_outage');
    const during = await post(daemon, '/webhooks/stripe', body, headers());
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('5');
    expect((await fetch(`${daemon.url}/healthz`)).status).toBe(200); // alive, just not ready

    await startRedis(); // an empty Redis on the same port: nothing from the outage was kept
    await until('the daemon to reconnect', async () => (await fetch(`${daemon.url}/readyz`)).status === 200);
    const retry = await post(daemon, '/webhooks/stripe', body, headers());
    expect(retry.status).toBe(200);
    expect(retry.json()).toMatchObject({ accepted: 1 });
    const jobs = await queuedJobs(daemon);
    expect(jobs.map((j) => j.id)).toEqual(['stripe-evt_during_outage']);
  });
});
