/**
 * bench/ingest — requests/s and p99 latency of the signed Stripe ingest path
 * (verify + parse + dedupe + enqueue into BullMQ on real Redis) against a bare
 * express route answering 200, measured in the same run on the same machine.
 * Prints one JSON object; the figure to watch is `ratio.requestsPerSecond`; `serverCpu` gives the server
 * process's CPU time per request of both routes, which a busy shared machine moves less than the rates.
 * With redis-server on PATH it also measures the cost of redis.ackReplicas: the same ingest on a private
 * primary + replica, without and with `ackReplicas: 1` (WAIT for the replica before answering), as
 * `replicaAck.ratio` (BENCH_REPLICA_ACK=0 skips it).
 *
 *   npm run bench:ingest            (BENCH_SECONDS=10 BENCH_CONNECTIONS=50 to change)
 */
import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import express from 'express';
import { loadConfig } from '../src/config.js';
import { signStripePayload } from '../src/connectors/stripe/webhook.js';
import { startDaemon } from '../src/daemon.js';
import { createLogger } from '../src/log.js';
import { redisServerOnPath } from '../src/sync/redis/private-redis.js';
import { connectRedis } from '../src/sync/redis/connection.js';
import { startReplicaSet } from '../test/support/redis-ha.js';
import { childProfileArgs, childProfileSummary } from './lib/profile.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const secret = 'whsec_bench_secret_not_real';
const prefix = process.env.BENCH_PREFIX ?? `bench-${process.pid}`;

/** A realistic customer.subscription.updated, a new event id per request so that dedupe never short-circuits. */
function subscriptionEvent(i: number): string {
  const now = Math.floor(Date.now() / 1000);
  return JSON.stringify({
    id: `evt_bench_${process.pid}_${i}`,
    object: 'event',
    api_version: '2025-10-29.clover',
    created: now,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'customer.subscription.updated',
    data: {
      object: {
        id: `sub_bench_${i % 5000}`,
        object: 'subscription',
        customer: `cus_bench_${i % 5000}`,
        status: i % 7 === 0 ? 'past_due' : 'active',
        currency: 'usd',
        cancel_at_period_end: false,
        created: now - 86_400,
        metadata: {},
        items: {
          object: 'list',
          data: [
            {
              id: `si_bench_${i % 5000}`,
              object: 'subscription_item',
              quantity: 3,
              current_period_start: now - 86_400,
              current_period_end: now + 29 * 86_400,
              price: {
                id: 'price_bench_pro',
                object: 'price',
                nickname: 'Pro',
                product: 'prod_bench',
                unit_amount: 4900,
                currency: 'usd',
                recurring: { interval: 'month', interval_count: 1 },
              },
            },
          ],
          has_more: false,
          url: '/v1/subscription_items',
        },
      },
      previous_attributes: { status: 'trialing' },
    },
  });
}

interface Figures {
  requestsPerSecond: number;
  p99Ms: number;
  p50Ms: number;
  non2xx: number;
  errors: number;
  requests: number;
}

async function measure(
  url: string,
  bodyFor: (i: number) => { body: string; headers: Record<string, string> },
): Promise<Figures> {
  let i = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    method: 'POST',
    requests: [
      {
        setupRequest: (req: autocannon.Request) => {
          const { body, headers } = bodyFor(i++);
          return { ...req, body, headers: { ...req.headers, ...headers } };
        },
      },
    ],
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p99Ms: result.latency.p99,
    p50Ms: result.latency.p50,
    non2xx: result.non2xx,
    errors: result.errors,
    requests: result.requests.total,
  };
}

/** The mean of two runs of the same measurement (sums for the counts). */
function averaged(a: Figures, b: Figures): Figures {
  return {
    requestsPerSecond: Math.round((a.requestsPerSecond + b.requestsPerSecond) / 2),
    p99Ms: (a.p99Ms + b.p99Ms) / 2,
    p50Ms: (a.p50Ms + b.p50Ms) / 2,
    non2xx: a.non2xx + b.non2xx,
    errors: a.errors + b.errors,
    requests: a.requests + b.requests,
  };
}

/** Child process: the two servers, so that the load generator does not share their event loop. */
async function serve(): Promise<void> {
  const bare = express();
  // Baseline: the same express, a raw body of the same size, no verification, no Redis.
  bare.post('/webhooks/stripe', express.raw({ type: () => true, limit: 1024 * 1024 }), (_req, res) => {
    res.status(200).json({ received: true });
  });
  const bareServer = bare.listen(0, '127.0.0.1');
  await new Promise((r) => bareServer.once('listening', r));
  const start = async (url: string, ackReplicas: number) => {
    const loaded = loadConfig({
      REDIS_URL: url,
      REDIS_PREFIX: prefix,
      PORT: '0',
      HOST: '127.0.0.1',
      STRIPE_WEBHOOK_SECRET: secret,
      LOG_LEVEL: 'silent',
    });
    if (!loaded.ok) throw new Error(loaded.problems.join('; '));
    loaded.config.redis.ackReplicas = ackReplicas;
    return startDaemon(loaded.config, createLogger('silent'), { defaultMetrics: false });
  };
  const daemon = await start(redisUrl, 0);
  const haUrl = process.env.BENCH_HA_URL;
  const ha = haUrl ? [await start(haUrl, 0), await start(haUrl, 1)] : [];
  process.send?.({
    bareUrl: `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/webhooks/stripe`,
    ingestUrl: `${daemon.url}/webhooks/stripe`,
    haUrls: ha.map((d) => `${d.url}/webhooks/stripe`),
  });
  process.on('message', async (msg: string) => {
    if (msg === 'cpu') return void process.send?.({ cpu: process.cpuUsage() });
    if (msg !== 'stop') return;
    const jobs = await daemon.queue.getJobCounts('waiting');
    await daemon.close();
    for (const d of ha) await d.close();
    bareServer.close();
    process.send?.({ jobsEnqueued: jobs.waiting ?? 0 }, () => process.exit(0));
  });
}

async function main(): Promise<void> {
  const pair = redisServerOnPath() && process.env.BENCH_REPLICA_ACK !== '0' ? await startReplicaSet(1) : null;
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    env: { ...process.env, BENCH_PREFIX: prefix, ...(pair && { BENCH_HA_URL: pair.primary.url }) },
    execArgv: [...process.execArgv, ...childProfileArgs()],
  });
  const urls = await new Promise<{ bareUrl: string; ingestUrl: string; haUrls: string[] }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { bareUrl: string; ingestUrl: string; haUrls: string[] }));
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
  const signed = (i: number) => {
    const body = subscriptionEvent(i);
    return {
      body,
      headers: { 'content-type': 'application/json', 'stripe-signature': signStripePayload(body, secret) },
    };
  };
  // The server process's CPU time (user + system) over one measurement: per request, it is what a shared machine's
  // load changes least (throughput also depends on what else gets the cores).
  const serverCpuMicros = () =>
    new Promise<number>((resolve) => {
      child.once('message', (m) => {
        const { cpu } = m as { cpu: NodeJS.CpuUsage };
        resolve(cpu.user + cpu.system);
      });
      child.send('cpu');
    });
  const withCpu = async (run: () => Promise<Figures>) => {
    const before = await serverCpuMicros();
    const figures = await run();
    return {
      figures,
      cpuMicrosPerRequest: Math.round(((await serverCpuMicros()) - before) / Math.max(figures.requests, 1)),
    };
  };
  // Warm-up, then the two measurements one after the other with the same client work per request.
  await measure(urls.bareUrl, signed);
  const { figures: baseline, cpuMicrosPerRequest: bareCpu } = await withCpu(() => measure(urls.bareUrl, signed));
  const { figures: ingest, cpuMicrosPerRequest: ingestCpu } = await withCpu(() =>
    measure(urls.ingestUrl, (i) => signed(i + 10_000_000)),
  );
  // The replica pair: without WAIT, with it, and without again (A-B-A, so that a machine getting busier or
  // warmer during the run does not pass for the WAIT's cost); each run its own event ids (no dedupe short-cut).
  let haNoWait: Figures | undefined;
  let haWait: Figures | undefined;
  if (urls.haUrls.length === 2) {
    const before = await measure(urls.haUrls[0]!, (i) => signed(i + 20_000_000));
    haWait = await measure(urls.haUrls[1]!, (i) => signed(i + 30_000_000));
    const after = await measure(urls.haUrls[0]!, (i) => signed(i + 40_000_000));
    haNoWait = averaged(before, after);
  }
  const done = new Promise<{ jobsEnqueued: number }>((resolve) =>
    child.once('message', (m) => resolve(m as { jobsEnqueued: number })),
  );
  child.send('stop');
  const { jobsEnqueued } = await done;
  const profile = await childProfileSummary(
    child,
    'the server process over the whole run (both routes), BENCH_PROFILE',
  );

  await pair?.stop();
  const redis = connectRedis(redisUrl, 'admin');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();

  const out = {
    bench: 'ingest',
    node: process.version,
    seconds,
    connections,
    baseline: { route: 'bare express 200', ...baseline },
    ingest: { route: 'POST /webhooks/stripe (verify + parse + dedupe + enqueue)', ...ingest, jobsEnqueued },
    ratio: {
      requestsPerSecond: Number((ingest.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)),
      p99: Number((baseline.p99Ms / Math.max(ingest.p99Ms, 0.001)).toFixed(3)),
    },
    serverCpu: {
      what: 'CPU time (user + system) of the server process per request, in the same run: bare ÷ ingest is the ratio the rates would have if the server alone bounded them',
      bareMicrosPerRequest: bareCpu,
      ingestMicrosPerRequest: ingestCpu,
      ratio: Number((bareCpu / Math.max(ingestCpu, 1)).toFixed(3)),
    },
    goal: { requestsPerSecondRatio: 0.5 },
    ...(profile && { profile }),
    replicaAck:
      haNoWait && haWait
        ? {
            topology: 'private primary + 1 replica on loopback (appendfsync everysec)',
            ackReplicas0: { runs: 'mean of the runs before and after ackReplicas1', ...haNoWait },
            ackReplicas1: haWait,
            ratio: {
              requestsPerSecond: Number(
                (haWait.requestsPerSecond / Math.max(haNoWait.requestsPerSecond, 1)).toFixed(3),
              ),
              p99: Number((haNoWait.p99Ms / Math.max(haWait.p99Ms, 0.001)).toFixed(3)),
            },
          }
        : process.env.BENCH_REPLICA_ACK === '0'
          ? 'skipped: BENCH_REPLICA_ACK=0'
          : 'skipped: no redis-server on PATH',
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

if (process.argv.includes('--serve')) await serve();
else await main();
