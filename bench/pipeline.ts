/**
 * bench/pipeline — the sync pipeline end to end, on real Redis, in one run:
 *
 *  1. baseline: plain BullMQ — addBulk of N jobs of the same sizes as our
 *     SourceEvents (same job options, ids and batches) into a no-op Worker
 *     of the same concurrency; events/s from the first add to the last job done.
 *  2. ours: N realistic Stripe/Salesforce/Zendesk SourceEvents over ~2,000
 *     customers (fixtures through the real parsers; attaches, one merge per
 *     customer, a few identity conflicts), enqueued through the Ingestor
 *     (dedupe claims + addBulk + commits, 200 requests a flush) and applied by
 *     the real events worker (startWorker: validate → identity → merge → store),
 *     push disabled; events/s from the first enqueue to the queue drained.
 *  3. latency at a fixed rate: the whole daemon (startDaemon + startWorker) in a
 *     child process, signed Stripe webhooks sent at BENCH_RATE/s by a paced
 *     sender; per event, the time from its 2xx answer to its job's `completed`
 *     event (BullMQ QueueEvents), both stamped in this process's clock.
 *
 * Parts 1 and 2 run in BENCH_ROUNDS alternating rounds (default 3; bench/lib/rounds.ts): `ratio`, `baseline`
 * and `ours` are the round of the median ratio's, and `rounds` lists every round's rates and ratio.
 *
 * Prints one JSON object. Figures to watch: `ratio` (goal ≥ 0.4) and
 * `latencyAt500.p99Ms` (goal < 250); `ours.recordPath` says how much of the
 * node CPU per event is the record's own work (the rest is the plumbing).
 *
 * BENCH_ONLY=ours runs the second part alone and prints its figures (for a profile: `node --cpu-prof
 * --import tsx bench/pipeline.ts`, with Redis `INFO commandstats` before and after). BENCH_PROFILE_TOP=1
 * runs the second part under V8's sampling profiler and adds `ours.profileTop`: the 10 functions with the
 * most self time (the profiler's own cost lowers that run's rate a little).
 *
 *   npm run bench:pipeline     (BENCH_EVENTS=20000 BENCH_CUSTOMERS=2000 BENCH_CONCURRENCY=16 BENCH_ROUNDS=3
 *                               BENCH_RATE=500 BENCH_LATENCY_SECONDS=10 BENCH_WARMUP_EVENTS=2000)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker, type JobsOptions } from 'bullmq';
import type { Config } from '../src/config.js';
import { signStripePayload } from '../src/connectors/stripe/webhook.js';
import { startDaemon } from '../src/daemon.js';
import { createLogger } from '../src/log.js';
import { Ingestor } from '../src/sync/events/ingest.js';
import { createEventsQueue, EVENT_JOB_DEFAULTS, QUEUES } from '../src/sync/events/queue.js';
import { createProducerRedis, createWorkerRedis, type Redis } from '../src/sync/redis/connection.js';
import { jobIdFor, type Source, type SourceEvent } from '../src/sync/events/source-event.js';
import { isBatchData, isBatchJobId } from '../src/sync/events/batch-job.js';
import type { ApplyOutcome } from '../src/sync/events/store.js';
import { startWorker } from '../src/worker-role.js';
import { mixedStream, stripeWebhookBodies, toSourceEvent } from './lib/fixtures.js';
import { benchConfig, postStripeWebhook, round, sleep } from './lib/common.js';
import { childProfileArgs, childProfileSummary, profiled, type ProfileRow } from './lib/profile.js';
import { countKeys, deleteByPrefixes, meanStringBytes, serverCounters } from './lib/redis.js';
import { recordPath, type RecordPathFigures } from './lib/record-path.js';
import { medianRound } from './lib/rounds.js';
import { eventIdentityKeys } from '../src/sync/events/identity.js';
import { REDIS_KEYS } from '../src/sync/redis/keys.js';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
};
const events = num('BENCH_EVENTS', 20_000);
const customers = Math.max(1, Math.min(num('BENCH_CUSTOMERS', 2_000), events));
/** The events worker's own default (createEventsWorker), which `portal-sync start` runs with. */
const concurrency = num('BENCH_CONCURRENCY', 16); // the events worker's default (worker.concurrency)
const rate = num('BENCH_RATE', 500);
const latencySeconds = num('BENCH_LATENCY_SECONDS', 10);
const warmupEvents = num('BENCH_WARMUP_EVENTS', 2_000);
/** Rounds of baseline-then-ours; the round of the median ratio is reported, each round's ratio beside it. */
const rounds = Math.max(1, Math.round(num('BENCH_ROUNDS', 3)));
/** Every 200th customer's Stripe metadata names another customer's Zendesk organization. */
const CONFLICT_EVERY = 200;
/** Requests per Ingestor flush (its own cap) and flushes in flight: the shape of a busy web role. */
const BATCH = 200;
const IN_FLIGHT = 4;
const DRAIN_TIMEOUT_MS = 120_000;

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const secret = 'whsec_bench_pipeline_secret_not_real';
const runId = process.env.BENCH_PREFIX ?? `bench-pipeline-${process.pid}`;
const prefixes = {
  warmBaseline: `${runId}-warm-base`,
  warmOurs: `${runId}-warm-ours`,
  baseline: `${runId}-base`,
  ours: `${runId}-ours`,
  live: `${runId}-live`,
};

const configFor = (prefix: string, env: Record<string, string> = {}): Config => benchConfig(redisUrl, prefix, env);

/** `total` items sent in batches of BATCH, IN_FLIGHT batches at a time. */
async function pump(total: number, send: (from: number, to: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const from = next;
      next = Math.min(total, next + BATCH);
      await send(from, next);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

/** Called once everything is added: nothing waiting, delayed or active any more (polled every 20 ms). */
async function drained(queue: Queue<unknown, unknown, string>): Promise<void> {
  const end = Date.now() + DRAIN_TIMEOUT_MS;
  while (Date.now() < end) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).every((n) => n === 0)) return;
    await sleep(20);
  }
  throw new Error(`queue under ${queue.opts.prefix} did not drain within ${DRAIN_TIMEOUT_MS} ms`);
}

interface Throughput {
  eventsPerSecond: number;
  seconds: number;
  failed: number;
  /** Per event, over the measurement: Redis commands and Redis CPU (server-wide counters), and this process's CPU. */
  perEvent: { redisCommands: number; redisCpuMs: number; nodeCpuMs: number };
}

interface Meter {
  stop(events: number): Promise<Throughput['perEvent']>;
}
async function meter(redis: Redis): Promise<Meter> {
  const before = await serverCounters(redis);
  const cpu = process.cpuUsage();
  return {
    async stop(events) {
      const used = process.cpuUsage(cpu);
      const after = await serverCounters(redis);
      return {
        redisCommands: round((after.commands - before.commands) / events, 1),
        redisCpuMs: round(((after.cpuSeconds - before.cpuSeconds) * 1000) / events, 3),
        nodeCpuMs: round((used.user + used.system) / 1000 / events, 3),
      };
    },
  };
}

// ---- 1. baseline: plain BullMQ -------------------------------------------------------

async function runBaseline(prefix: string, sizes: number[]): Promise<Throughput> {
  const producer = createProducerRedis(redisUrl);
  const workerConnection = createWorkerRedis(redisUrl);
  const queue = new Queue<{ pad: string }, unknown, string>(QUEUES.events, {
    connection: producer,
    prefix,
    defaultJobOptions: EVENT_JOB_DEFAULTS,
  });
  await queue.waitUntilReady();
  const worker = new Worker<{ pad: string }>(QUEUES.events, async () => undefined, {
    connection: workerConnection,
    prefix,
    concurrency,
  });
  await worker.waitUntilReady();
  // `{"pad":""}` is 10 bytes: each job's data serializes to exactly the size of its SourceEvent.
  const jobs = sizes.map((size, i) => ({
    name: 'bench',
    data: { pad: 'x'.repeat(Math.max(0, size - 10)) },
    opts: { jobId: `base-${i}` } satisfies JobsOptions,
  }));
  try {
    const m = await meter(producer);
    const t0 = performance.now();
    await pump(jobs.length, async (from, to) => {
      await queue.addBulk(jobs.slice(from, to));
    });
    await drained(queue as Queue<unknown, unknown, string>);
    const seconds = (performance.now() - t0) / 1000;
    const perEvent = await m.stop(jobs.length);
    const failed = (await queue.getJobCounts('failed')).failed ?? 0;
    return { eventsPerSecond: Math.round(jobs.length / seconds), seconds: round(seconds, 2), failed, perEvent };
  } finally {
    await worker.close();
    await queue.close();
    workerConnection.disconnect();
    producer.disconnect();
  }
}

// ---- 2. ours: Ingestor → events worker → record store -----------------------------------

interface OursFigures extends Throughput {
  accepted: number;
  merges: number;
  conflicts: number;
  /** Optimistic transactions that found a watched key changed and ran again. */
  transactionRetries: number;
  /** Events stored per MULTI/EXEC (applies running at once share one: watch-group.ts), and applies left out of one to compute again. */
  eventsPerTransaction: number;
  leftOutOfTransaction: number;
  records: number;
  /** Mean size of a stored record (JSON), read, parsed and rewritten by each event that changes it. */
  recordBytes: number;
  /**
   * The record work alone (bench/lib/record-path.ts): the same events replayed in this process after the run, each
   * parsed, merged, projected and serialized with no Redis, queue or hooks; `shareOfNodeCpu` is its part of
   * `perEvent.nodeCpuMs`, the rest being the plumbing around it.
   */
  recordPath: RecordPathFigures & { shareOfNodeCpu: number };
}

/** The record each event's customer ended in (the owner of its first identity key, merges included), by source|event id. */
async function finalRecords(redis: Redis, prefix: string, sourceEvents: SourceEvent[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let from = 0; from < sourceEvents.length; from += 1_000) {
    const chunk = sourceEvents.slice(from, from + 1_000).flatMap((e) => {
      const key = eventIdentityKeys(e)[0];
      return key ? [[e, key] as const] : [];
    });
    const ids = await redis.mget(...chunk.map(([, key]) => REDIS_KEYS.records(prefix).index(key)));
    chunk.forEach(([e], i) => ids[i] && out.set(`${e.source}|${e.eventId}`, ids[i]));
  }
  return out;
}

/** What runOurs measured, and the record each event was filed under (for the record path, replayed after it). */
type OursRun = Omit<OursFigures, 'recordPath'> & { filedUnder: Map<string, string> };

/** The run's figures with the record path replayed (outside any profile of the run). */
function withRecordPath({ filedUnder, ...run }: OursRun, sourceEvents: readonly SourceEvent[]): OursFigures {
  const alone = recordPath(sourceEvents, (e) => filedUnder.get(`${e.source}|${e.eventId}`));
  const shareOfNodeCpu = round(alone.cpuMsPerEvent / Math.max(1e-9, run.perEvent.nodeCpuMs), 3);
  return { ...run, recordPath: { ...alone, shareOfNodeCpu } };
}

async function runOurs(prefix: string, sourceEvents: SourceEvent[]): Promise<OursRun> {
  const config = configFor(prefix);
  const producer = createProducerRedis(redisUrl);
  producer.on('error', () => undefined);
  const queue = createEventsQueue(producer, prefix);
  await queue.waitUntilReady();
  const ingestor = new Ingestor({
    redis: producer,
    queue,
    prefix,
    dedupeTtlSeconds: config.webhooks.dedupeTtlSeconds,
    quarantineLimits: config.quarantine,
    timeoutMs: config.server.enqueueTimeoutMs,
  });
  const worker = await startWorker(config, createLogger('silent'), { concurrency });
  // Count what the store did, from the outcomes the worker gets back (nothing else changes).
  const tally = { merges: 0, conflicts: 0, retries: 0 };
  const store = worker.store;
  const apply = store.apply.bind(store);
  store.apply = async (event: SourceEvent, opts?: { rank?: 0 | 1 }): Promise<ApplyOutcome> => {
    const outcome = await apply(event, opts);
    tally.merges += outcome.mergedIds.length;
    tally.conflicts += outcome.conflicts.length;
    tally.retries += outcome.attempts - 1;
    return outcome;
  };
  let accepted = 0;
  try {
    const m = await meter(producer);
    const t0 = performance.now();
    // One single-event request per SourceEvent, as webhooks arrive: the Ingestor batches them per flush.
    await pump(sourceEvents.length, async (from, to) => {
      const outcomes = await Promise.all(sourceEvents.slice(from, to).map((e) => ingestor.enqueue([e])));
      for (const o of outcomes) accepted += o.accepted.length;
    });
    await drained(queue as Queue<unknown, unknown, string>);
    const seconds = (performance.now() - t0) / 1000;
    const perEvent = await m.stop(sourceEvents.length);
    const failed = (await queue.getJobCounts('failed')).failed ?? 0;
    const isRecord = (k: string) => /:rec:[^:]+$/.test(k);
    const records = await countKeys(producer, `${prefix}:rec:*`, isRecord);
    const recordBytes = await meanStringBytes(producer, `${prefix}:rec:*`, isRecord);
    const filedUnder = await finalRecords(producer, prefix, sourceEvents);
    return {
      eventsPerSecond: Math.round(sourceEvents.length / seconds),
      seconds: round(seconds, 2),
      failed,
      perEvent,
      accepted,
      merges: tally.merges,
      conflicts: tally.conflicts,
      transactionRetries: tally.retries,
      eventsPerTransaction: round(
        store.transactionStats.committed / Math.max(1, store.transactionStats.transactions),
        2,
      ),
      leftOutOfTransaction: store.transactionStats.leftOut,
      records,
      recordBytes,
      filedUnder,
    };
  } finally {
    await worker.close();
    await queue.close();
    producer.disconnect();
  }
}

// ---- 3. latency at a fixed rate: the whole daemon in a child process --------------------

type FromChild = { url: string } | { stopped: true; failed: number; cpuMs: number };

/** Child process: web role and events worker together, as `portal-sync start --role all` runs them. */
async function serve(): Promise<void> {
  const config = configFor(prefixes.live, { STRIPE_WEBHOOK_SECRET: secret });
  const logger = createLogger('silent');
  const daemon = await startDaemon(config, logger, { defaultMetrics: false });
  const worker = await startWorker(config, logger, { concurrency });
  process.on('disconnect', () => process.exit(1)); // the parent went away
  const cpu = process.cpuUsage();
  process.on('message', async (msg: unknown) => {
    if (msg !== 'stop') return;
    const used = process.cpuUsage(cpu);
    const failed = (await daemon.queue.getJobCounts('failed')).failed ?? 0;
    await daemon.close();
    await worker.close();
    process.send?.({ stopped: true, failed, cpuMs: (used.user + used.system) / 1000 } satisfies FromChild, () =>
      process.exit(0),
    );
  });
  process.send?.({ url: `${daemon.url}/webhooks/stripe` } satisfies FromChild);
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface Distribution {
  p50Ms: number;
  p99Ms: number;
}
const distribution = (values: number[]): Distribution => {
  const sorted = [...values].sort((x, y) => x - y);
  return { p50Ms: round(percentile(sorted, 0.5)), p99Ms: round(percentile(sorted, 0.99)) };
};

interface LatencyFigures {
  ratePerSecond: number;
  seconds: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  sent: number;
  non2xx: number;
  /** Accepted but no `completed` seen within 15 s of the last answer. */
  missing: number;
  /** The job's `completed` reached us before its HTTP answer did (counted as 0 ms). */
  completedBeforeAnswer: number;
  /** p99 of the events sent in each second: a rising line is a backlog the worker does not catch up on. */
  p99BySecondMs: number[];
  /**
   * Where the time goes, from BullMQ's own job timestamps (the daemon's Date.now(),
   * the same machine clock): answer → worker picks the job up; the job's processing;
   * job finished → its `completed` event reaches us. And the webhook round trip.
   */
  breakdown: {
    waiting: Distribution;
    processing: Distribution;
    notification: Distribution;
    webhookRoundTrip: Distribution;
  };
  /** How far the paced sender fell behind its schedule, at worst. */
  senderMaxLagMs: number;
  /** With BENCH_PROFILE: the daemon's profile summary (its whole run). */
  profile?: Awaited<ReturnType<typeof childProfileSummary>>;
  /** CPU of the daemon process (web role + worker) per webhook, warm-up included: 1000/rate ms is one core. */
  daemonCpuMsPerEvent: number;
  warmupEvents: number;
  failed: number;
}

/** One measured webhook: performance.now() stamps for the latency, Date.now() ones for the breakdown. */
interface Delivery {
  second: number;
  sentAt: number;
  answeredAt?: number;
  answeredWall?: number;
  completedAt?: number;
  completedWall?: number;
}

const post = postStripeWebhook;

async function runLatency(): Promise<LatencyFigures> {
  const warmup = Math.round(rate); // one second at the same rate, not measured: JIT and connections settle
  const total = Math.round(rate * latencySeconds);
  const bodies = stripeWebhookBodies(warmup + total, customers, `live${process.pid}`);

  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], {
    env: { ...process.env, BENCH_PREFIX: runId, BENCH_CONCURRENCY: String(concurrency) },
    execArgv: [...process.execArgv, ...childProfileArgs()],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = new URL(
    await new Promise<string>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { url: string }).url));
      void exited.then((code) => reject(new Error(`daemon process exited with ${code}`)));
    }),
  );

  const eventsConnection = createWorkerRedis(redisUrl);
  // From the start of the (new, empty) stream, so no early completion can be missed.
  const queueEvents = new QueueEvents(QUEUES.events, {
    connection: eventsConnection,
    prefix: prefixes.live,
    lastEventId: '0',
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const deliveries = new Map<string, Delivery>();
  let non2xx = 0;
  let answered = 0;
  let completed = 0;
  const done = (jobId: string, at: number, wall: number) => {
    const d = deliveries.get(jobId);
    if (!d) return;
    d.completedAt = at;
    d.completedWall = wall;
    completed += 1;
  };
  // A batch job (src/sync/events/batch-job.ts) completes its events at once: they are read from its data.
  const jobsConnection = createProducerRedis(redisUrl);
  const batches = new Queue(QUEUES.events, { connection: jobsConnection, prefix: prefixes.live });
  queueEvents.on('completed', ({ jobId }) => {
    const [at, wall] = [performance.now(), Date.now()];
    if (!isBatchJobId(jobId)) return done(jobId, at, wall);
    void batches.getJob(jobId).then((job) => {
      const events = isBatchData(job?.data) ? (job.data.events as Array<{ source?: Source; eventId?: string }>) : [];
      for (const e of events) if (e.source && e.eventId) done(jobIdFor(e.source, e.eventId), at, wall);
    });
  });
  try {
    await queueEvents.waitUntilReady();

    let senderMaxLagMs = 0;
    const sends: Promise<void>[] = [];
    const fire = (i: number) => {
      const { eventId, body } = bodies[i]!;
      const jobId = jobIdFor('stripe', eventId);
      const d: Delivery | undefined =
        i >= warmup ? { second: Math.floor((i - warmup) / rate), sentAt: performance.now() } : undefined;
      if (d) deliveries.set(jobId, d);
      sends.push(
        post(agent, url, body, signStripePayload(body, secret)).then((status) => {
          if (!d) return;
          if (status < 200 || status >= 300) {
            non2xx += 1;
            deliveries.delete(jobId);
            return;
          }
          d.answeredAt = performance.now();
          d.answeredWall = Date.now();
          answered += 1;
        }),
      );
    };
    // Paced: event i leaves at start + i/rate; the sender catches up (never skips) if a timer fires late.
    const interval = 1000 / rate;
    const start = performance.now();
    let measuredFrom = start;
    let i = 0;
    while (i < bodies.length) {
      const now = performance.now();
      while (i < bodies.length && start + i * interval <= now) {
        senderMaxLagMs = Math.max(senderMaxLagMs, now - (start + i * interval));
        if (i === warmup) measuredFrom = now;
        fire(i++);
      }
      if (i < bodies.length) await sleep(Math.max(0, start + i * interval - performance.now()));
    }
    const sendSeconds = (performance.now() - measuredFrom) / 1000;
    await Promise.all(sends);
    // Completions still on their way; whatever has none 15 s after the last answer counts as missing.
    const deadline = performance.now() + 15_000;
    while (completed < answered && performance.now() < deadline) await sleep(10);

    // BullMQ's own stamps of every measured job (kept: removeOnComplete keeps the last 10,000).
    const lookup = createWorkerRedis(redisUrl);
    const queue = new Queue(QUEUES.events, { connection: lookup, prefix: prefixes.live });
    const jobs = new Map((await queue.getJobs(['completed'], 0, -1)).map((j) => [j.id ?? '', j]));
    await queue.close();
    lookup.disconnect();

    const done = [...deliveries.values()].filter((d) => d.answeredAt !== undefined && d.completedAt !== undefined);
    const latencyOf = (d: Delivery) => Math.max(0, d.completedAt! - d.answeredAt!);
    const latencies = done.map(latencyOf).sort((x, y) => x - y);
    const bySecond = Array.from({ length: Math.ceil(total / rate) }, (_, s) =>
      done
        .filter((d) => d.second === s)
        .map(latencyOf)
        .sort((x, y) => x - y),
    );
    const waiting: number[] = [];
    const processing: number[] = [];
    const notification: number[] = [];
    for (const [jobId, d] of deliveries) {
      const job = jobs.get(jobId);
      if (!job?.processedOn || !job.finishedOn || d.answeredWall === undefined || d.completedWall === undefined)
        continue;
      waiting.push(job.processedOn - d.answeredWall);
      processing.push(job.finishedOn - job.processedOn);
      notification.push(d.completedWall - job.finishedOn);
    }

    const stopped = new Promise<{ failed: number; cpuMs: number }>((resolve) =>
      child.on('message', (m: FromChild) => {
        if ('stopped' in m) resolve(m);
      }),
    );
    child.send('stop');
    const { failed, cpuMs } = await Promise.race([
      stopped,
      exited.then(() => ({ failed: Number.NaN, cpuMs: Number.NaN })),
    ]);
    const profile = await childProfileSummary(
      child,
      'the daemon process (web role and worker) over its whole run, BENCH_PROFILE',
    );
    return {
      ratePerSecond: rate,
      seconds: round(sendSeconds, 2),
      p50Ms: round(percentile(latencies, 0.5)),
      p95Ms: round(percentile(latencies, 0.95)),
      p99Ms: round(percentile(latencies, 0.99)),
      maxMs: round(latencies[latencies.length - 1] ?? Number.NaN),
      samples: latencies.length,
      sent: total,
      non2xx,
      missing: answered - done.length,
      completedBeforeAnswer: done.filter((d) => d.completedAt! < d.answeredAt!).length,
      p99BySecondMs: bySecond.map((l) => round(percentile(l, 0.99))),
      breakdown: {
        waiting: distribution(waiting),
        processing: distribution(processing),
        notification: distribution(notification),
        webhookRoundTrip: distribution(done.map((d) => d.answeredAt! - d.sentAt)),
      },
      senderMaxLagMs: round(senderMaxLagMs),
      daemonCpuMsPerEvent: round(cpuMs / bodies.length, 3),
      warmupEvents: warmup,
      failed,
      ...(profile && { profile }),
    };
  } finally {
    agent.destroy();
    await queueEvents.close().catch(() => undefined);
    await batches.close().catch(() => undefined);
    eventsConnection.disconnect();
    jobsConnection.disconnect();
    if (child.exitCode === null && child.signalCode === null) {
      const gone = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!gone) child.kill('SIGKILL');
    }
  }
}

// ---- main ------------------------------------------------------------------------------

/** Our run, under the profiler when BENCH_PROFILE_TOP is set and `profile` (the last round's). */
async function oursRun(
  prefix: string,
  sourceEvents: SourceEvent[],
  profile: boolean,
): Promise<OursRun & { profileTop?: ProfileRow[] }> {
  if (!process.env.BENCH_PROFILE_TOP || !profile) return runOurs(prefix, sourceEvents);
  const { result, profileTop } = await profiled(() => runOurs(prefix, sourceEvents));
  return { ...result, profileTop };
}

/** One round: the baseline, then ours, on prefixes of their own that are emptied after it (each round meets the same Redis). */
interface Round {
  baseline: Throughput;
  ours: OursRun & { profileTop?: ProfileRow[] };
  ratio: number;
}
async function runRound(r: number, sourceEvents: SourceEvent[], sizes: number[], last: boolean): Promise<Round> {
  const [base, ours] = [`${prefixes.baseline}-${r}`, `${prefixes.ours}-${r}`];
  try {
    const baseline = await runBaseline(base, sizes);
    const run = await oursRun(ours, sourceEvents, last);
    return { baseline, ours: run, ratio: round(run.eventsPerSecond / baseline.eventsPerSecond, 3) };
  } finally {
    await deleteByPrefixes(redisUrl, [base, ours]);
  }
}

async function main(): Promise<void> {
  // Everything the clocks must not see: fixtures → real parsers → SourceEvents, and their sizes.
  const sourceEvents = mixedStream(events, customers, { conflictEvery: CONFLICT_EVERY }).map(toSourceEvent);
  const sizes = sourceEvents.map((e) => Buffer.byteLength(JSON.stringify(e)));
  const warm =
    warmupEvents > 0
      ? mixedStream(warmupEvents, Math.max(1, Math.round(warmupEvents / 10)), { seed: 7 }).map(toSourceEvent)
      : [];

  try {
    // Warm-up of both paths (JIT, connections, Lua script loading) on prefixes of their own, not reported.
    if (warm.length > 0) {
      await runBaseline(
        prefixes.warmBaseline,
        warm.map((e) => Buffer.byteLength(JSON.stringify(e))),
      );
      await runOurs(prefixes.warmOurs, warm);
    }
    if (process.env.BENCH_ONLY === 'ours') {
      const { profileTop, ...run } = await oursRun(prefixes.ours, sourceEvents, true);
      const ours = { ...withRecordPath(run, sourceEvents), profileTop };
      process.stdout.write(
        `${JSON.stringify({ bench: 'pipeline', only: 'ours', events, customers, concurrency, ours }, null, 2)}\n`,
      );
      return;
    }
    // Alternating rounds (bench/lib/rounds.ts): a drift of the machine between one baseline and one run of ours
    // moved the ratio by a third (plain BullMQ alone moves by 40 % from run to run).
    const measured: Round[] = [];
    for (let r = 0; r < rounds; r++) measured.push(await runRound(r, sourceEvents, sizes, r === rounds - 1));
    const median = medianRound(measured);
    const { profileTop, ...medianRun } = median.ours;
    const ours = { ...withRecordPath(medianRun, sourceEvents), profileTop: measured.at(-1)!.ours.profileTop };
    const latency = latencySeconds > 0 && rate > 0 ? await runLatency() : null;
    const ratio = median.ratio;

    const out = {
      bench: 'pipeline',
      node: process.version,
      events,
      customers,
      concurrency,
      payloadBytes: { mean: Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length), max: Math.max(...sizes) },
      baseline: {
        what: 'BullMQ addBulk + no-op Worker (same job options, ids, sizes, concurrency)',
        ...median.baseline,
      },
      ours: {
        what: 'Ingestor (dedupe + addBulk) → events worker (validate, identity, merge, store), push off',
        ...ours,
      },
      ratio,
      rounds: measured.map((m) => ({
        baselineEventsPerSecond: m.baseline.eventsPerSecond,
        oursEventsPerSecond: m.ours.eventsPerSecond,
        ratio: m.ratio,
      })),
      latencyAt500: latency,
      goals: {
        ratio: { min: 0.4, met: ratio >= 0.4 },
        p99Ms: {
          max: 250,
          met: latency !== null && latency.p99Ms < 250 && latency.missing === 0 && latency.non2xx === 0,
        },
      },
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await deleteByPrefixes(redisUrl, Object.values(prefixes));
  }
  // Everything is closed; should a library keep a handle open anyway, do not hang.
  setTimeout(() => process.exit(0), 2_000).unref();
}

if (process.argv.includes('--serve')) await serve();
else await main();
