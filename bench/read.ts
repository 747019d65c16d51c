/**
 * bench/read — GET /portal/v1/me (help center JWT verified against the stand-in's keys, per-user
 * rate limit counted in Redis, record read and projected) against a bare express GET answering a
 * JSON body of the same size, measured in the same run on the same machine. Every user reads again
 * and again (as page loads do), so the figures are of warm reads: a verified token remembered, one
 * Redis round trip, the record's parse kept while its stored bytes are unchanged (read.ts). Two figures:
 * throughput with `connections` concurrent clients (ratio to bare express; goal ≥ 0.5), and
 * latency at a fixed 500 requests/s (goal: p99 < 20 ms). Prints one JSON object.
 *
 *   npm run bench:read      (BENCH_SECONDS=10 BENCH_CONNECTIONS=32 BENCH_COMPANIES=200 BENCH_RATE=500)
 */
import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import express from 'express';
import { Redis } from 'ioredis';
import { startDaemon } from '../src/daemon.js';
import { createLogger } from '../src/log.js';
import { startZendeskStandIn } from '../src/demo/standins/zendesk/index.js';
import { RecordStore } from '../src/sync/events/store.js';
import { deleteByPrefixes } from './lib/redis.js';
import { viewDaemonConfig } from './lib/view-daemon.js';
import { seedCompany } from './lib/view-seed.js';
import { childProfileArgs, childProfileSummary } from './lib/profile.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const companies = Number(process.env.BENCH_COMPANIES ?? 200);
const rate = Number(process.env.BENCH_RATE ?? 500);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.BENCH_PREFIX ?? `bench-read-${process.pid}`;

interface Figures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  requests: number;
}

interface Served {
  bareUrl: string;
  viewUrl: string;
  tokens: string[];
  bodyBytes: number;
}

async function measure(url: string, tokens: string[], opts: { overallRate?: number } = {}): Promise<Figures> {
  let i = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
    requests: [
      {
        setupRequest: (req: autocannon.Request) => ({
          ...req,
          headers: { ...req.headers, authorization: `Bearer ${tokens[i++ % tokens.length]}` },
        }),
      },
    ],
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    requests: result.requests.total,
  };
}

/** Child process: the stand-in, the daemon and the bare server, so that the load generator does not share their event loop. */
async function serve(): Promise<void> {
  const zd = await startZendeskStandIn();
  const config = viewDaemonConfig({ redisUrl, prefix, zendeskBaseUrl: zd.baseUrl, viewsPerMinute: 100_000 });
  const daemon = await startDaemon(config, createLogger('silent'), { defaultMetrics: false });
  const redis = new Redis(redisUrl);
  const store = new RecordStore(redis, prefix);
  const users = [];
  for (let k = 0; k < companies; k++) users.push(...(await seedCompany(store, k, 2)));
  store.close();
  redis.disconnect();
  const tokens = await Promise.all(
    users.map((u) =>
      zd.helpCenter.sign(zd.helpCenter.claimsOf({ id: u.id, email: u.email, external_id: null }), {
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
      }),
    ),
  );
  // The baseline answers a view-sized body, so the difference is the work, not the bytes.
  const sample = await (
    await fetch(`${daemon.url}/portal/v1/me`, { headers: { authorization: `Bearer ${tokens[0]}` } })
  ).text();
  if (!sample.startsWith('{"v":1')) throw new Error(`the view did not answer: ${sample.slice(0, 200)}`);
  const bare = express();
  bare.get('/portal/v1/me', (_req, res) => {
    res.type('application/json').send(sample);
  });
  const bareServer = bare.listen(0, '127.0.0.1');
  await new Promise((r) => bareServer.once('listening', r));
  const served: Served = {
    bareUrl: `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/portal/v1/me`,
    viewUrl: `${daemon.url}/portal/v1/me`,
    tokens,
    bodyBytes: Buffer.byteLength(sample),
  };
  process.send?.(served);
  process.on('message', async (msg: string) => {
    if (msg !== 'stop') return;
    await daemon.close();
    await zd.close();
    bareServer.close();
    process.send?.('stopped', () => process.exit(0));
  });
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    env: { ...process.env, BENCH_PREFIX: prefix },
    execArgv: [...process.execArgv, ...childProfileArgs()],
  });
  const served = await new Promise<Served>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Served));
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
  // Warm-up (keys fetched, JIT), then each route at full speed, then each at the fixed rate.
  await measure(served.viewUrl, served.tokens);
  const baseline = await measure(served.bareUrl, served.tokens);
  const view = await measure(served.viewUrl, served.tokens);
  const baselineAtRate = await measure(served.bareUrl, served.tokens, { overallRate: rate });
  const viewAtRate = await measure(served.viewUrl, served.tokens, { overallRate: rate });
  const stopped = new Promise((resolve) => child.once('message', resolve));
  child.send('stop');
  await stopped;
  const profile = await childProfileSummary(
    child,
    'the server process over the whole run (both routes), BENCH_PROFILE',
  );
  await deleteByPrefixes(redisUrl, [prefix]);

  const out = {
    bench: 'read',
    node: process.version,
    seconds,
    connections,
    customers: companies,
    users: served.tokens.length,
    bodyBytes: served.bodyBytes,
    baseline: { route: 'bare express GET, same body', ...baseline },
    view: {
      route:
        'GET /portal/v1/me (JWT verify, remembered + rate count, index and record in one Redis script + projection)',
      ...view,
    },
    atRate: { requestsPerSecond: rate, baseline: baselineAtRate, view: viewAtRate },
    ratio: {
      requestsPerSecond: Number((view.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)),
      /** p99 of the view over p99 of bare express, both at the fixed rate. */
      p99AtRate: Number((viewAtRate.p99Ms / Math.max(1, baselineAtRate.p99Ms)).toFixed(2)),
    },
    goal: { requestsPerSecondRatio: 0.5, p99MsAtRate: 20 },
    met: {
      ratio: view.requestsPerSecond / baseline.requestsPerSecond >= 0.5,
      p99AtRate: viewAtRate.p99Ms < 20 && viewAtRate.non2xx === 0,
    },
    ...(profile && { profile }),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

if (process.argv.includes('--serve')) await serve();
else await main();
