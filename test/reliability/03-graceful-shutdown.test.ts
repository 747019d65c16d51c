/**
 * Graceful shutdown: SIGTERM to `portal-sync start` (web and worker in one
 * process) while webhooks pour in and the worker is busy (a slow portal keeps
 * pushes in flight). Requests already being received are answered — here,
 * bodies still arriving when the signal lands — jobs in flight finish or go
 * back to the queue (none is left `active` for the stalled checker), the
 * process exits 0 within `server.shutdownGraceMs`, and once a new daemon is up
 * on the same port the senders' retries deliver the rest: nothing is lost.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { freePort } from '../support/e2e.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { announce, scaled, seedFor } from './support/env.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { configOverride, spawnDaemon, stopDaemon, type DaemonProcess } from './support/processes.js';
import { appliedEventIds } from './support/records.js';
import { drainQueues } from './support/stack.js';
import { startZendesk } from './support/standins.js';
import { customer, distinctTraffic } from './support/stream.js';
import { scenario } from './support/summary.js';
import { pool, signWire, WebhookClient, type Outcome, type Wire } from './support/wire.js';

const EVENTS = scaled(2_000, 300);
const CUSTOMERS = 40;
const SEED = seedFor(303);
const GRACE_MS = 8_000;
const SLOW_REQUESTS = 4;
/** Measured from our kill() to the child's exit event: signal delivery, process teardown, our own event loop. */
const TEARDOWN_SLACK_MS = 500;
const s = scenario(
  '03-graceful-shutdown',
  'SIGTERM under load: in-flight requests answered, jobs finished, exit within the grace period',
);

const prefix = uniquePrefix();
let daemon: DaemonProcess | undefined;
let zd: ZendeskStandIn | undefined;
let proxy: FaultProxy | undefined;
let client: WebhookClient | undefined;
let redis: Redis | undefined;

afterAll(async () => {
  await client?.close();
  await stopDaemon(daemon);
  await proxy?.close();
  await zd?.close();
  redis?.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
  s.save();
});

/**
 * A webhook whose body is still arriving: headers and half of it now, the rest when `finish` is called.
 * Resolves with the status the daemon answers (0: no answer).
 */
function slowRequest(origin: string, w: Wire): { finish(): void; answer: Promise<number> } {
  const signed = signWire(w);
  const url = new URL(signed.path, origin);
  const body = Buffer.from(signed.body);
  const half = Math.floor(body.length / 2);
  let finish = () => undefined as void;
  const answer = new Promise<number>((resolve) => {
    const req = httpRequest(
      url,
      { method: 'POST', headers: { ...signed.headers, 'content-length': String(body.length) }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.write(body.subarray(0, half));
    finish = () => void req.end(body.subarray(half));
  });
  return { finish: () => finish(), answer };
}

describe('graceful shutdown', () => {
  it('answers in-flight requests, finishes or returns in-flight jobs, exits 0 within the grace period, and loses nothing', async () => {
    announce('03-graceful-shutdown', { events: EVENTS, graceMs: GRACE_MS, slowRequests: SLOW_REQUESTS, seed: SEED });
    s.set({ seed: SEED });
    const customers = Array.from({ length: CUSTOMERS }, (_, n) => customer(n));
    zd = await startZendesk(customers);
    // A slow portal: every call takes 300 ms, so pushes are in flight when the signal lands.
    proxy = await startFaultProxy({ upstream: zd.origin, rate: 0, kinds: ['500'], seed: SEED, delayMs: 300 });
    const port = await freePort();
    const env = {
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      PORT: String(port),
      ...TEST_SECRETS,
      PORTAL_TARGET: 'zendesk',
      ZENDESK_BASE_URL: `${proxy.origin}/api/v2`,
      ZENDESK_EMAIL: zd.credentials.email,
      ZENDESK_API_TOKEN: zd.credentials.token,
      PORTAL_SYNC_CONFIG: configOverride('graceful-shutdown', {
        server: { shutdownGraceMs: GRACE_MS },
        push: { debounceMs: 50, backoffMs: 100 },
        targets: { zendesk: { rate: { max: 5_000, perMs: 10_000 } } },
      }),
    };
    daemon = await spawnDaemon('graceful-shutdown', 'all', env);
    redis = new Redis(redisUrl());
    const events = new Queue('events', { connection: redis, prefix });
    const pushes = new Queue('push-zendesk', { connection: redis, prefix });

    const wires = distinctTraffic(EVENTS, CUSTOMERS, SEED);
    const slow = distinctTraffic(SLOW_REQUESTS, CUSTOMERS, SEED + 1);
    client = new WebhookClient(daemon.url, { connections: 8 });
    let sent = 0;
    // Providers retry for far longer than the restart takes; so does this client.
    const sending = pool(wires, 8, async (w): Promise<Outcome> => {
      const o = await client!.send(w, { maxAttempts: 1_000, baseMs: 100, capMs: 1_000, deadlineMs: 120_000 });
      sent++;
      return o;
    });

    while (sent < EVENTS * 0.4) await new Promise((r) => setTimeout(r, 10));
    const inFlight = slow.map((w) => slowRequest(daemon!.url, w));
    await new Promise((r) => setTimeout(r, 100)); // the daemon has their headers and half their bodies
    const [activeEvents, activePushes] = await Promise.all([events.getActiveCount(), pushes.getActiveCount()]);
    const signalled = Date.now();
    daemon.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    for (const r of inFlight) r.finish();
    const slowAnswers = await Promise.all(inFlight.map((r) => r.answer));
    const exit = await daemon.exited;
    const exitMs = exit.at - signalled;
    const [activeAfter, waitingAfter] = await Promise.all([
      Promise.all([events.getActiveCount(), pushes.getActiveCount()]),
      Promise.all([events.getWaitingCount(), pushes.getDelayedCount()]),
    ]);
    const sentBeforeRestart = sent;
    const firstLog = readFileSync(daemon.logPath, 'utf8');

    // The next deploy comes up on the same port; the senders' retries find it.
    daemon = await spawnDaemon('graceful-shutdown-next', 'all', env);
    const outcomes = await sending;
    await drainQueues([events, pushes], 120_000, 'events and push queues');
    const applied = await appliedEventIds(redis, prefix);
    const delivered = [...wires, ...slow].filter((w, i) =>
      i < wires.length ? outcomes[i]!.status === 200 : slowAnswers[i - wires.length] === 200,
    );
    const lost = delivered.flatMap((w) => w.ids).filter((id) => !applied.has(id));
    const failed = (await events.getFailedCount()) + (await pushes.getFailedCount());
    await Promise.all([events.close(), pushes.close()]);

    s.set({ eventsSent: EVENTS + SLOW_REQUESTS, applied: delivered.length - lost.length, lost: lost.length });
    s.detail('exitMs', exitMs);
    s.detail('exitCode', exit.code);
    s.detail('activeAtSignal', { events: activeEvents, pushes: activePushes });
    s.detail('activeAfterExit', activeAfter);
    s.detail('waitingAfterExit', waitingAfter);
    s.detail('slowRequestAnswers', slowAnswers);
    s.detail('sentBeforeRestart', sentBeforeRestart);
    s.detail('deadlineReached', firstLog.includes('grace period over'));
    s.detail(
      'requestsAnsweredAfterSignal',
      firstLog.split('\n').filter((l) => l.includes('"request completed"')).length -
        (firstLog
          .split('shutting down')[0]
          ?.split('\n')
          .filter((l) => l.includes('"request completed"')).length ?? 0),
    );
    s.detail('retriedAcrossRestart', outcomes.filter((o) => o.attempts > 1).length);

    expect(activeEvents + activePushes).toBeGreaterThan(0);
    expect(slowAnswers).toEqual(slow.map(() => 200));
    expect(exit.code).toBe(0);
    expect(exitMs).toBeLessThanOrEqual(GRACE_MS + TEARDOWN_SLACK_MS);
    expect(activeAfter).toEqual([0, 0]);
    expect(outcomes.filter((o) => o.status !== 200).map((o) => o.statuses)).toEqual([]);
    expect(lost).toEqual([]);
    expect(failed).toBe(0);
    s.pass();
  }, 200_000);
});
