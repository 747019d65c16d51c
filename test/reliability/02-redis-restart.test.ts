/**
 * Redis restart: a private redis-server with `appendfsync always` is killed
 * (SIGKILL) in the middle of the load and started again on its append-only
 * file. Every webhook answered 2xx was kept and is applied; while Redis is
 * away the endpoints answer 503 with Retry-After (the documented answer), and
 * the senders' retries — this client retries as the providers do — succeed
 * once it is back.
 */
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { announce, scaled, seedFor } from './support/env.js';
import { startAofRedis, type AofRedis } from './support/aof-redis.js';
import { appliedEventIds } from './support/records.js';
import { spawnDaemon, stopDaemon, type DaemonProcess } from './support/processes.js';
import { drainQueues } from './support/stack.js';
import { customer, distinctTraffic } from './support/stream.js';
import { startZendesk } from './support/standins.js';
import { scenario } from './support/summary.js';
import { pool, WebhookClient, type Outcome } from './support/wire.js';
import type { ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { TEST_SECRETS } from '../support/daemon.js';

const EVENTS = scaled(3_000, 300);
const CUSTOMERS = 50;
const SEED = seedFor(202);
const OUTAGE_MS = 2_000;
const s = scenario('02-redis-restart', 'Redis (AOF, appendfsync always) killed and restarted mid-load');

let redis: AofRedis | undefined;
let daemon: DaemonProcess | undefined;
let client: WebhookClient | undefined;
let conn: Redis | undefined;
let zd: ZendeskStandIn | undefined;

afterAll(async () => {
  await client?.close();
  await stopDaemon(daemon);
  conn?.disconnect();
  await redis?.stop();
  await zd?.close();
  s.save();
});

describe('Redis restart', () => {
  it('keeps every webhook it acknowledged; those refused with 503 during the outage succeed on retry', async () => {
    announce('02-redis-restart', { events: EVENTS, outageMs: OUTAGE_MS, seed: SEED });
    s.set({ seed: SEED });
    redis = await startAofRedis();
    const prefix = 'reliability-redis-restart';
    // The real daemon process (web and worker), so that everything it prints is in its log.
    zd = await startZendesk(Array.from({ length: CUSTOMERS }, (_, n) => customer(n)));
    const target = {
      PORTAL_TARGET: 'zendesk',
      ZENDESK_BASE_URL: zd.baseUrl,
      ZENDESK_EMAIL: zd.credentials.email,
      ZENDESK_API_TOKEN: zd.credentials.token,
    };
    daemon = await spawnDaemon('redis-restart', 'all', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      ...TEST_SECRETS,
      ...target,
    });
    client = new WebhookClient(daemon.url, { connections: 8 });
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    conn.on('error', () => undefined);
    const events = new Queue('events', { connection: conn, prefix });
    const pushes = new Queue('push-zendesk', { connection: conn, prefix });
    for (const q of [events, pushes]) q.on('error', () => undefined);
    const wires = distinctTraffic(EVENTS, CUSTOMERS, SEED);

    // The load: 8 senders, each pausing a little, so the sending spans the outage.
    let sent = 0;
    const readiness: number[] = [];
    const outage = (async () => {
      while (sent < EVENTS * 0.35) await new Promise((r) => setTimeout(r, 10));
      await redis!.crash();
      const down = Date.now();
      while (Date.now() - down < OUTAGE_MS) {
        readiness.push((await client!.once({ path: '/readyz', body: '', headers: {} }, 'GET')).status);
        await new Promise((r) => setTimeout(r, 200));
      }
      await redis!.start();
    })();
    const outcomes: Outcome[] = await pool(wires, 8, async (w) => {
      const o = await client!.send(w);
      sent++;
      await new Promise((r) => setTimeout(r, 2));
      return o;
    });
    await outage;
    await drainQueues([events, pushes], 150_000, 'events and push queues');

    const attempts = outcomes.flatMap((o) => o.statuses);
    const refused = attempts.filter((st) => st === 503).length;
    const unexpected = attempts.filter((st) => st !== 200 && st !== 503);
    const accepted = wires.filter((_, i) => outcomes[i]!.status === 200).flatMap((w) => w.ids);
    const applied = await appliedEventIds(conn, prefix);
    const failed = await events.getFailedCount();
    const failedPushes = await pushes.getFailedCount();
    await Promise.all([events.close(), pushes.close()]);
    await stopDaemon(daemon);
    // The daemon's log must stay JSON through the outage: one pino object per line, nothing else.
    const lines = readFileSync(daemon.logPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const notJson = lines.filter((l) => {
      try {
        return typeof JSON.parse(l) !== 'object';
      } catch {
        return true;
      }
    });
    s.detail('logLines', lines.length);
    s.detail('notJsonLogLines', notJson.length);
    const lost = accepted.filter((id) => !applied.has(id));
    s.set({
      eventsSent: EVENTS,
      applied: accepted.length - lost.length,
      lost: lost.length,
      unexpected5xx: unexpected.filter((st) => st >= 500).length,
    });
    s.detail('answered503DuringOutage', refused);
    s.detail('retriedWebhooks', outcomes.filter((o) => o.attempts > 1).length);
    s.detail('mostAttempts', Math.max(...outcomes.map((o) => o.attempts)));
    s.detail('readyzDuringOutage', [...new Set(readiness)]);

    expect(refused).toBeGreaterThan(0);
    expect(readiness).toContain(503);
    expect(unexpected).toEqual([]);
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    expect(accepted).toHaveLength(EVENTS);
    expect(lost).toEqual([]);
    expect(failed).toBe(0);
    expect(failedPushes).toBe(0);
    expect(notJson.slice(0, 5)).toEqual([]);
    s.pass();
  }, 240_000);
});
