/**
 * bench/freshness — how soon a signed-in customer SEES a change: signed Stripe `invoice.paid` webhooks for new
 * invoices at a paced rate; after every n-th (BENCH_WATCH_EVERY), its customer's Help Center user reloads
 * `GET /portal/v1/me` every few milliseconds until the invoice is there (watching every change would make the
 * pollers the load). The whole daemon (web role and events worker, push off)
 * and the Zendesk stand-in (the Help Center's signing keys) run in a child process; the load generator and
 * the pollers here. Per change, in this machine's clock:
 *
 *  - `answeredToVisible`: webhook answered → the view shows it (what the customer feels);
 *  - `storedToVisible`: the event's job started → the view shows it. The record is stored after the job
 *    starts, so this is an upper bound of how stale the view is once the record is stored (the issue's
 *    goal: p99 < 50 ms); polling adds up to `pollMs` to every figure under 100 ms (later, reloads are slower:
 *    25 ms apart, 100 ms after a second).
 *
 * Prints one JSON object.
 *
 * Other customers' identity conflicts are stored first (BENCH_CONFLICTS), as a deployment has them until an
 * admin settles them: what one customer's view reads must not grow with them.
 *
 *   npm run bench:freshness   (BENCH_RATE=200 BENCH_SECONDS=20 BENCH_COMPANIES=200 BENCH_POLL_MS=5
 *                              BENCH_WATCH_EVERY=10 BENCH_CONFLICTS=1000)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { signStripePayload } from '../src/connectors/stripe/webhook.js';
import { startDaemon } from '../src/daemon.js';
import { startZendeskStandIn } from '../src/demo/standins/zendesk/index.js';
import { createLogger } from '../src/log.js';
import { QUEUES } from '../src/sync/events/queue.js';
import { jobIdFor } from '../src/sync/events/source-event.js';
import { RecordStore } from '../src/sync/events/store.js';
import { createWorkerRedis } from '../src/sync/redis/connection.js';
import { REDIS_KEYS } from '../src/sync/redis/keys.js';
import { startWorker } from '../src/worker-role.js';
import { stripeInvoicePaid } from './lib/fixtures.js';
import { round, sleep } from './lib/common.js';
import { deleteByPrefixes } from './lib/redis.js';
import { viewDaemonConfig } from './lib/view-daemon.js';
import { seedCompany } from './lib/view-seed.js';
import { childProfileArgs, childProfileSummary } from './lib/profile.js';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const rate = num('BENCH_RATE', 200);
const seconds = num('BENCH_SECONDS', 20);
const companies = Math.round(num('BENCH_COMPANIES', 200));
const pollMs = num('BENCH_POLL_MS', 5);
/** Every n-th change is watched: its customer reloads the view until it shows. Watching all would make the pollers the load. */
const watchEvery = Math.round(num('BENCH_WATCH_EVERY', 10));
/** Identity conflicts of other customers already stored, as a deployment accumulates them until an admin settles them. */
const otherConflicts = Number(process.env.BENCH_CONFLICTS ?? 1_000);
if (!Number.isSafeInteger(otherConflicts) || otherConflicts < 0)
  throw new Error('BENCH_CONFLICTS must be a whole number, 0 or more');
/** A change the view has not shown this long after its webhook was answered counts as missing. */
const GIVE_UP_MS = 10_000;
const GOAL_P99_MS = 50;

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.BENCH_PREFIX ?? `bench-freshness-${process.pid}`;
const secret = 'whsec_bench_freshness_FAKE_not_real';

interface Served {
  webhookUrl: string;
  viewUrl: string;
  /** Per company k: its Stripe customer id and a Help Center token of one of its users. */
  companies: Array<{ stripeCustomerId: string; email: string; token: string }>;
}
type FromChild = Served | { stopped: true; cpuMs: number };

/** `n` conflicts between other customers' organizations, written as the record store writes a conflict's JSON. */
async function seedOtherConflicts(redis: Redis, n: number): Promise<void> {
  for (let from = 0; from < n; from += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, n - from) }, (_, i) => {
      const [x, y] = [`zdorg:${10_000_000 + from + i}`, `zdorg:${20_000_000 + from + i}`];
      const id = `cust_other${from + i}a|cust_other${from + i}b|${x}|${y}`;
      const evidence = {
        source: 'zendesk',
        eventId: `evt_other_${from + i}`,
        type: 'zen:event-type:user.updated',
        via: x,
      };
      return [
        id,
        JSON.stringify({
          id,
          recordIds: [`cust_other${from + i}a`, `cust_other${from + i}b`],
          system: 'zdorg',
          keys: [x, y],
          evidence,
        }),
      ];
    });
    await redis.hset(REDIS_KEYS.records(prefix).conflicts, Object.fromEntries(batch));
  }
}

/** Child process: the stand-in, the daemon and its events worker, with `companies` customers seeded. */
async function serve(): Promise<void> {
  const zd = await startZendeskStandIn();
  // The pollers reload far faster than people do.
  const config = viewDaemonConfig({
    redisUrl,
    prefix,
    zendeskBaseUrl: zd.baseUrl,
    viewsPerMinute: 1_000_000,
    env: { STRIPE_WEBHOOK_SECRET: secret },
  });
  const logger = createLogger('silent');
  const redis = new Redis(redisUrl);
  await seedOtherConflicts(redis, otherConflicts);
  const daemon = await startDaemon(config, logger, { defaultMetrics: false });
  const worker = await startWorker(config, logger);
  const store = new RecordStore(redis, prefix);
  const seeded: Served['companies'] = [];
  for (let k = 0; k < companies; k++) {
    const [user] = await seedCompany(store, k, 1);
    const token = await zd.helpCenter.sign(
      zd.helpCenter.claimsOf({ id: user!.id, email: user!.email, external_id: null }),
      {
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
      },
    );
    // As view-seed.ts names the company's Stripe customer and its billing email.
    seeded.push({ stripeCustomerId: `cus_bench_${k}`, email: `billing@company${k}.example`, token });
  }
  store.close();
  redis.disconnect();
  const cpu = process.cpuUsage();
  process.on('disconnect', () => process.exit(1)); // the parent went away
  process.on('message', async (msg: unknown) => {
    if (msg !== 'stop') return;
    const used = process.cpuUsage(cpu);
    await daemon.close();
    await worker.close();
    await zd.close();
    process.send?.({ stopped: true, cpuMs: (used.user + used.system) / 1000 } satisfies FromChild, () =>
      process.exit(0),
    );
  });
  process.send?.({
    webhookUrl: `${daemon.url}/webhooks/stripe`,
    viewUrl: `${daemon.url}/portal/v1/me`,
    companies: seeded,
  } satisfies FromChild);
}

/** One HTTP request on a keep-alive agent: its status and body. */
function call(
  agent: Agent,
  url: URL,
  opts: { method: 'GET' | 'POST'; headers: Record<string, string | number>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, hostname: url.hostname, port: url.port, path: url.pathname, method: opts.method, headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

interface Change {
  watched: boolean;
  eventId: string;
  jobId: string;
  invoiceId: string;
  answeredWall?: number;
  visibleWall?: number;
  polls: number;
  readMs?: number;
  status?: number;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
const distribution = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50Ms: round(percentile(sorted, 0.5)),
    p95Ms: round(percentile(sorted, 0.95)),
    p99Ms: round(percentile(sorted, 0.99)),
    maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
    samples: sorted.length,
  };
};

/** Sends change `i`, then reloads its customer's view until the new invoice is in it (or gives up). */
async function sendAndWatch(
  agent: Agent,
  served: Served,
  urls: { webhook: URL; view: URL },
  change: Change,
  k: number,
) {
  const company = served.companies[k]!;
  const created = Math.floor(Date.now() / 1000);
  const body = stripeInvoicePaid(
    { id: company.stripeCustomerId, email: company.email },
    change.invoiceId,
    created,
    change.eventId,
  );
  const answer = await call(agent, urls.webhook, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'stripe-signature': signStripePayload(body, secret),
    },
    body,
  });
  change.status = answer.status;
  if (answer.status < 200 || answer.status >= 300) return;
  change.answeredWall = Date.now();
  if (!change.watched) return;
  const until = change.answeredWall + GIVE_UP_MS;
  while (Date.now() < until) {
    const t0 = performance.now();
    const view = await call(agent, urls.view, { method: 'GET', headers: { authorization: `Bearer ${company.token}` } });
    change.polls += 1;
    change.readMs = (change.readMs ?? 0) + (performance.now() - t0);
    if (view.status === 200 && view.body.includes(`"${change.invoiceId}"`)) {
      change.visibleWall = Date.now();
      return;
    }
    // A change not seen after 100 ms is late already: slower reloads from then on, so that a backlog is not fed by its own pollers.
    const waited = Date.now() - change.answeredWall;
    await sleep(waited < 100 ? pollMs : waited < 1_000 ? 25 : 100);
  }
}

async function main(): Promise<void> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], {
    env: { ...process.env, BENCH_PREFIX: prefix },
    execArgv: [...process.execArgv, ...childProfileArgs()],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const served = await new Promise<Served>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Served));
    void exited.then((code) => reject(new Error(`server process exited with ${code}`)));
  });
  const urls = { webhook: new URL(served.webhookUrl), view: new URL(served.viewUrl) };
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const warmup = Math.round(rate); // one second at the same rate, not measured
  const total = Math.round(rate * seconds);
  const changes: Change[] = Array.from({ length: warmup + total }, (_, i) => ({
    watched: i % watchEvery === 0,
    eventId: `evt_fresh_${process.pid}_${i}`,
    jobId: jobIdFor('stripe', `evt_fresh_${process.pid}_${i}`),
    invoiceId: `in_fresh_${process.pid}_${i}`,
    polls: 0,
  }));
  try {
    // Paced: change i leaves at start + i/rate, for company i mod companies; a late timer is caught up, never skipped.
    const running: Promise<void>[] = [];
    const interval = 1000 / rate;
    const start = performance.now();
    let senderMaxLagMs = 0;
    for (let i = 0; i < changes.length;) {
      const now = performance.now();
      while (i < changes.length && start + i * interval <= now) {
        senderMaxLagMs = Math.max(senderMaxLagMs, now - (start + i * interval));
        running.push(sendAndWatch(agent, served, urls, changes[i]!, i % served.companies.length));
        i += 1;
      }
      if (i < changes.length) await sleep(Math.max(0, start + i * interval - performance.now()));
    }
    await Promise.all(running);

    // BullMQ's own stamps of each measured job (the events queue keeps the last 10,000 completed).
    const lookup = createWorkerRedis(redisUrl);
    const queue = new Queue(QUEUES.events, { connection: lookup, prefix });
    const jobs = new Map((await queue.getJobs(['completed'], 0, -1)).map((j) => [j.id ?? '', j]));
    const failed = (await queue.getJobCounts('failed')).failed ?? 0;
    await queue.close();
    lookup.disconnect();

    const sentMeasured = changes.slice(warmup);
    const measured = sentMeasured.filter((c) => c.watched);
    const answeredToVisible: number[] = [];
    const storedToVisible: number[] = [];
    for (const c of measured) {
      if (c.answeredWall === undefined || c.visibleWall === undefined) continue;
      answeredToVisible.push(c.visibleWall - c.answeredWall);
      const started = jobs.get(c.jobId)?.processedOn;
      if (started !== undefined) storedToVisible.push(Math.max(0, c.visibleWall - started));
    }
    const stopped = new Promise<{ cpuMs: number }>((resolve) =>
      child.on('message', (m: FromChild) => {
        if ('stopped' in m) resolve(m);
      }),
    );
    child.send('stop');
    const { cpuMs } = await Promise.race([stopped, exited.then(() => ({ cpuMs: Number.NaN }))]);
    const profile = await childProfileSummary(child, 'the daemon process over its whole run, BENCH_PROFILE');
    const stored = distribution(storedToVisible);
    const out = {
      bench: 'freshness',
      node: process.version,
      ratePerSecond: rate,
      seconds,
      customers: companies,
      otherConflicts,
      pollMs,
      sent: total,
      watched: measured.length,
      non2xx: sentMeasured.filter((c) => c.status !== undefined && (c.status < 200 || c.status >= 300)).length,
      missing: measured.filter((c) => c.answeredWall !== undefined && c.visibleWall === undefined).length,
      failedJobs: failed,
      answeredToVisible: distribution(answeredToVisible),
      storedToVisible: stored,
      viewReadMs: round(
        measured.reduce((n, c) => n + (c.readMs ?? 0), 0) /
          Math.max(
            1,
            measured.reduce((n, c) => n + c.polls, 0),
          ),
      ),
      jobProcessing: distribution(
        measured.flatMap((c) => {
          const j = jobs.get(c.jobId);
          return j?.processedOn && j.finishedOn ? [j.finishedOn - j.processedOn] : [];
        }),
      ),
      answerToJobStart: distribution(
        measured.flatMap((c) => {
          const j = jobs.get(c.jobId);
          return j?.processedOn && c.answeredWall ? [j.processedOn - c.answeredWall] : [];
        }),
      ),
      viewReadsPerChange: round(measured.reduce((n, c) => n + c.polls, 0) / Math.max(1, measured.length)),
      senderMaxLagMs: round(senderMaxLagMs),
      daemonCpuMsPerChange: round(cpuMs / changes.length),
      goal: { storedToVisibleP99Ms: GOAL_P99_MS },
      met: stored.p99Ms < GOAL_P99_MS && stored.samples === measured.length,
      ...(profile && { profile }),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    agent.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const gone = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!gone) child.kill('SIGKILL');
    }
    await deleteByPrefixes(redisUrl, [prefix]);
  }
  // Everything is closed; should a library keep a handle open anyway, do not hang.
  setTimeout(() => process.exit(0), 2_000).unref();
}

if (process.argv.includes('--serve')) await serve();
else await main();
