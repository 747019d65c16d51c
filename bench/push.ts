/**
 * bench/push — the push side of the pipeline, against the local Zendesk stand-in
 * (src/demo/standins/zendesk/index.ts, in this process) with the real Zendesk target
 * (node-zendesk through createPortalTarget, every call through the call gate):
 *
 *  1. throughput under a configured limit: BENCH_CUSTOMERS customers, each a
 *     Zendesk organization in the stand-in and a Stripe customer.created (its
 *     metadata naming that organization) + invoice.paid, through the real
 *     parser, enqueued through the Ingestor; then the events worker with the
 *     Zendesk target (startWorker, in a child process) pushes them under
 *     config.targets.zendesk.rate = {max: BENCH_RATE_PER_SECOND, perMs: 1000}.
 *     The stand-in's own limit is set well above, so it never answers 429.
 *     Figures, by the stand-in's arrival times: calls/s while the push queue
 *     has a backlog (the steady phase), as a fraction of the ceiling; calls per
 *     customer; the busiest 1-s window of the whole run.
 *  2. latency: the whole daemon (web role + events worker + Zendesk target) in
 *     a child process; signed Stripe invoice.paid webhooks (each a new invoice
 *     of a customer already linked to its organization) at BENCH_LATENCY_RATE/s
 *     by a paced sender; per webhook, the time from its 2xx answer to the
 *     stand-in answering the write that put the invoice record into its state
 *     (both stamped with this process's performance.now()). Once with the
 *     configured push debounce (default 500 ms), once with 100 ms. The target's
 *     configured rate here is BENCH_LATENCY_TARGET_RATE (well above the calls
 *     needed): what is measured is the delay, not the limit.
 *
 * Prints one JSON object. Figures to watch: throughput.fractionOfCeiling (goal
 * ≥ 0.9), throughput.busiestWindowCalls (≤ the ceiling), latencyAt200[].p50Ms and
 * p99Ms with the default debounce (goals < 100 and < 300 ms), and
 * latencyAt200[].pushPath (the push jobs alone: planned → started is the
 * debounce or leading-edge delay; it stays readable on a loaded machine).
 *
 *   npm run bench:push   (BENCH_CUSTOMERS=8000 BENCH_RATE_PER_SECOND=400
 *                         BENCH_LATENCY_RATE=200 BENCH_LATENCY_SECONDS=10
 *                         BENCH_LATENCY_CUSTOMERS=2000 BENCH_LATENCY_TARGET_RATE=1000)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from '../src/config.js';
import { signStripePayload } from '../src/connectors/stripe/webhook.js';
import { createPortalTarget } from '../src/connectors/targets.js';
import { startDaemon } from '../src/daemon.js';
import { createLogger } from '../src/log.js';
import type { CallGate } from '../src/sync/push/call-gate.js';
import { Ingestor } from '../src/sync/events/ingest.js';
import { RateLimitedError } from '../src/sync/errors.js';
import type { PortalTarget } from '../src/sync/push/portal-target.js';
import { pushQueueName } from '../src/sync/push/planner.js';
import { createEventsQueue } from '../src/sync/events/queue.js';
import { createProducerRedis } from '../src/sync/redis/connection.js';
import type { SourceEvent } from '../src/sync/events/source-event.js';
import { startWorker, type TargetFactory } from '../src/worker-role.js';
import { startZendeskStandIn, type ZendeskCall, type ZendeskStandIn } from '../src/demo/standins/zendesk/index.js';
import { customer, stripePayload, toSourceEvent } from './lib/fixtures.js';
import { benchConfig, postStripeWebhook, round, sleep } from './lib/common.js';
import { countKeys, deleteByPrefixes } from './lib/redis.js';
import { busiestWindow, onAnswered, provisionZendesk, seedCustomerOrganizations } from './lib/zendesk-stand-in.js';
import { GATE_MARGIN_MS } from '../src/sync/push/call-gate.js';
import { childProfileArgs, childProfileSummary } from './lib/profile.js';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
};
/**
 * 20,000 customers at 200 calls/s would take ~3.5 minutes of pushing alone on a 2-core machine:
 * the defaults are scaled down (fewer customers, a higher ceiling); the figure is the ratio.
 */
const SPEC = { customers: 20_000, ratePerSecond: 200 };
const customers = Math.max(1, Math.round(num('BENCH_CUSTOMERS', 8_000)));
const ratePerSecond = Math.max(1, Math.round(num('BENCH_RATE_PER_SECOND', 400)));
const latencyRate = num('BENCH_LATENCY_RATE', 200);
const latencySeconds = num('BENCH_LATENCY_SECONDS', 10);
const latencyCustomers = Math.max(1, Math.round(num('BENCH_LATENCY_CUSTOMERS', 2_000)));
const latencyTargetRate = Math.max(1, Math.round(num('BENCH_LATENCY_TARGET_RATE', 1_000)));
const DEBOUNCE_FAST_MS = 100;
/** The stand-in's own limit, as a multiple of ours: high enough that it never refuses a call. */
const STAND_IN_HEADROOM = 10;
const FRACTION_GOAL = 0.9;
/** Issue 17: webhook answered → stand-in holds the change, with the default settings (leading-edge pushes). */
const P99_GOAL_MS = 300;
const P50_GOAL_MS = 100;
/** How long after the last answer a measured webhook's invoice may still reach the stand-in before it counts as missing. */
const LAND_TIMEOUT_MS = 15_000;
const SAMPLE_EVERY_MS = 250;
const IDLE_GAP_MS = 200;

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const secret = 'whsec_bench_push_secret_not_real';
const runId = process.env.BENCH_PREFIX ?? `bench-push-${process.pid}`;
const prefixes = {
  throughput: `${runId}-tp`,
  latencyDefault: `${runId}-lat-default`,
  latencyFast: `${runId}-lat-fast`,
};

const configFor = (prefix: string, env: Record<string, string> = {}): Config => benchConfig(redisUrl, prefix, env);
const defaults = configFor('bench-push-defaults');

// ---- the child process: events worker + Zendesk target, and the web role for the latency runs --

interface ChildSpec {
  role: 'worker' | 'all';
  prefix: string;
  zendesk: { baseUrl: string; email: string; token: string };
  rate: { max: number; perMs: number };
  debounceMs: number;
}

interface ChildStats {
  /** target.push calls that returned (written or skipped), and the API calls they say they made. */
  pushes: number;
  pushCalls: number;
  /** Pushes stopped by the call gate (or a 429): the queue pauses, the job runs again from the start. */
  rateLimitedPushes: number;
  /** Calls the gate refused (each stops its push and pauses the queue for the wait it names). */
  gateRefusals: number;
  gateRefusalWaitMs: { p50: number; max: number };
  otherPushErrors: number;
  failedPushJobs: number;
  /** Of the child's event loop (web role, events worker and push worker share it). */
  eventLoopDelayMs: { p99: number; max: number };
  cpuMs: number;
}

/** A gate refusal: when (Date.now(), the machine clock the stand-in stamps calls with) and the wait it named. */
type Refusal = [at: number, waitMs: number];
/** Also when each call the gate let through was admitted (Date.now(), right after the gate answered). */
type Stopped = { stats: ChildStats; refusals: Refusal[]; admitted: number[] };
type FromChild = { ready: true; url: string | null } | ({ stopped: true } & Stopped);

async function serve(spec: ChildSpec): Promise<void> {
  const config = configFor(spec.prefix, {
    PORTAL_TARGET: 'zendesk',
    ZENDESK_BASE_URL: spec.zendesk.baseUrl,
    ZENDESK_EMAIL: spec.zendesk.email,
    ZENDESK_API_TOKEN: spec.zendesk.token,
    ...(spec.role === 'all' ? { STRIPE_WEBHOOK_SECRET: secret } : {}),
  });
  config.targets.zendesk.rate = spec.rate;
  config.push.debounceMs = spec.debounceMs;
  // No reconcile pass: its first one reads every organization back (paced exports) and holds the resync drains it
  // queues while it runs, which would count as push backlog with no calls. This bench measures pushing.
  config.reconcile.everyMs = 0;
  const logger = createLogger('silent');
  const refusals: Refusal[] = [];
  const admitted: number[] = [];
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const stats: Omit<ChildStats, 'failedPushJobs' | 'cpuMs' | 'gateRefusalWaitMs' | 'eventLoopDelayMs'> = {
    pushes: 0,
    pushCalls: 0,
    rateLimitedPushes: 0,
    gateRefusals: 0,
    otherPushErrors: 0,
  };
  // The real target; the wrappers only count what happens to its calls and pushes.
  const targets: TargetFactory = (name, cfg, deps) => {
    const gate: CallGate = async () => {
      try {
        const release = await deps.gate();
        admitted.push(Date.now());
        return release;
      } catch (err) {
        stats.gateRefusals += 1;
        if (err instanceof RateLimitedError) refusals.push([Date.now(), err.retryAfterMs]);
        throw err;
      }
    };
    const target = createPortalTarget(name, cfg, { gate });
    const counted: PortalTarget = {
      name: target.name,
      async push(p) {
        try {
          const result = await target.push(p);
          stats.pushes += 1;
          stats.pushCalls += result.calls;
          return result;
        } catch (err) {
          if (err instanceof RateLimitedError) stats.rateLimitedPushes += 1;
          else stats.otherPushErrors += 1;
          throw err;
        }
      },
    };
    return counted;
  };
  const daemon = spec.role === 'all' ? await startDaemon(config, logger, { defaultMetrics: false }) : null;
  const worker = await startWorker(config, logger, { targets });
  process.on('disconnect', () => process.exit(1)); // the parent went away
  const cpu = process.cpuUsage();
  process.on('message', async (msg: unknown) => {
    if (msg !== 'stop') return;
    const used = process.cpuUsage(cpu);
    const failedPushJobs = (await worker.planner.queues.get('zendesk')?.getJobCounts('failed'))?.failed ?? 0;
    await daemon?.close();
    await worker.close();
    const waits = refusals.map(([, w]) => w).sort((a, b) => a - b);
    const gateRefusalWaitMs = { p50: percentile(waits, 0.5), max: waits.at(-1) ?? Number.NaN };
    loopDelay.disable();
    const eventLoopDelayMs = { p99: round(loopDelay.percentile(99) / 1e6), max: round(loopDelay.max / 1e6) };
    const reply: FromChild = {
      stopped: true,
      refusals,
      admitted,
      stats: {
        ...stats,
        gateRefusalWaitMs,
        failedPushJobs,
        eventLoopDelayMs,
        cpuMs: round((used.user + used.system) / 1000, 0),
      },
    };
    process.send?.(reply, () => process.exit(0));
  });
  process.send?.({ ready: true, url: daemon ? `${daemon.url}/webhooks/stripe` : null } satisfies FromChild);
}

/** What a stopped child reported, and (with BENCH_PROFILE) the summary of its profile. */
type StoppedChild = Stopped & { profile?: Awaited<ReturnType<typeof childProfileSummary>> };

interface Child {
  url: string | null;
  stop(): Promise<StoppedChild | null>;
}

async function startChild(spec: ChildSpec): Promise<Child> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], {
    env: { ...process.env, BENCH_CHILD: JSON.stringify(spec) },
    execArgv: [...process.execArgv, ...childProfileArgs()],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  let url: string | null;
  try {
    url = await new Promise<string | null>((resolve, reject) => {
      child.once('message', (m: FromChild) =>
        'ready' in m ? resolve(m.url) : reject(new Error('unexpected message from the child')),
      );
      void exited.then((code) => reject(new Error(`child process exited with ${code}`)));
    });
  } catch (err) {
    if (!gone()) child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    async stop() {
      if (gone()) return null;
      const stopped = new Promise<Stopped>((resolve) =>
        child.on(
          'message',
          (m: FromChild) => 'stopped' in m && resolve({ stats: m.stats, refusals: m.refusals, admitted: m.admitted }),
        ),
      );
      child.send('stop');
      const result = await Promise.race([stopped, exited.then(() => null), sleep(30_000).then(() => null)]);
      if (!gone() && !(await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)])))
        child.kill('SIGKILL');
      const profile = await childProfileSummary(child, 'the daemon process over its whole run, BENCH_PROFILE');
      return result && { ...result, ...(profile && { profile }) };
    },
  };
}

// ---- shared pieces --------------------------------------------------------------------------

/** Enqueues `requests` (each one webhook's events) through the Ingestor, as the web role would. */
async function enqueue(prefix: string, requests: SourceEvent[][]): Promise<number> {
  const config = configFor(prefix);
  const redis = createProducerRedis(redisUrl);
  redis.on('error', () => undefined);
  const queue = createEventsQueue(redis, prefix);
  try {
    await queue.waitUntilReady();
    const ingestor = new Ingestor({
      redis,
      queue,
      prefix,
      dedupeTtlSeconds: config.webhooks.dedupeTtlSeconds,
      quarantineLimits: config.quarantine,
      timeoutMs: config.server.enqueueTimeoutMs,
    });
    let accepted = 0;
    for (let i = 0; i < requests.length; i += 800) {
      const outcomes = await Promise.all(requests.slice(i, i + 800).map((events) => ingestor.enqueue(events)));
      for (const o of outcomes) accepted += o.accepted.length;
    }
    return accepted;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

interface QueueWatch {
  /** Events: not yet applied. Push: waiting (or prioritized), delayed (debounce, backoff), active. */
  counts(): Promise<{
    events: number;
    pushWaiting: number;
    pushDelayed: number;
    pushActive: number;
    pushFailed: number;
  }>;
  close(): Promise<void>;
}

function watchQueues(prefix: string): QueueWatch {
  const redis = createProducerRedis(redisUrl);
  redis.on('error', () => undefined);
  const events = createEventsQueue(redis, prefix);
  const push = new Queue(pushQueueName('zendesk'), { connection: redis, prefix });
  return {
    async counts() {
      const [e, p] = await Promise.all([
        events.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
        push.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed'),
      ]);
      return {
        events: Object.values(e).reduce((a, b) => a + b, 0),
        pushWaiting: (p.waiting ?? 0) + (p.prioritized ?? 0),
        pushDelayed: p.delayed ?? 0,
        pushActive: p.active ?? 0,
        pushFailed: p.failed ?? 0,
      };
    },
    async close() {
      await events.close();
      await push.close();
      redis.disconnect();
    },
  };
}

/** Until nothing is left to apply or push (two samples in a row), or the deadline. */
async function settle(
  watch: QueueWatch,
  timeoutMs: number,
  onSample?: (s: Awaited<ReturnType<QueueWatch['counts']>>) => void,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < end) {
    const c = await watch.counts();
    onSample?.(c);
    quiet = c.events + c.pushWaiting + c.pushDelayed + c.pushActive === 0 ? quiet + 1 : 0;
    if (quiet >= 2) return true;
    await sleep(SAMPLE_EVERY_MS);
  }
  return false;
}

const describeCall = (c: ZendeskCall): string =>
  c.path.startsWith('/organizations/')
    ? `${c.method} organization`
    : c.path.startsWith('/custom_objects/') && c.path.endsWith('/records')
      ? `${c.method} invoice record`
      : c.path.startsWith('/custom_objects/') && c.path.endsWith('/jobs')
        ? `${c.method} invoice job`
        : `${c.method} ${c.path.replace(/\/[^/]*\d[^/]*/g, '/:id')}`;

function callsByKind(calls: readonly ZendeskCall[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[describeCall(c)] = (out[describeCall(c)] ?? 0) + 1;
  return out;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function standInFor(zd: ZendeskStandIn): ChildSpec['zendesk'] {
  return { baseUrl: zd.baseUrl, email: zd.credentials.email, token: zd.credentials.token };
}

// ---- 1. throughput under the configured limit -------------------------------------------------

interface ThroughputFigures {
  callsPerSecond: number;
  fractionOfCeiling: number;
  callsPerCustomer: number;
  busiestWindowCalls: number;
  /**
   * The same, by the times the gate admitted the calls (in the child): the gate keeps max per
   * (perMs + its margin) counted from when each call was answered; calls admitted apart but delivered together (scheduling, transit, the stand-in's
   * event loop) are what can still crowd one of the platform's windows.
   */
  busiestWindowAtGate: number;
  /** This process's event loop (the stand-in stamps each call's arrival on it) over the run. */
  standInEventLoopDelayMs: { p99: number; max: number };
  ceiling: { max: number; perMs: number };
  /** While the push queue had at least 2 × its concurrency jobs waiting, by the stand-in's clock. */
  steadyPhase: { fromSecond: number; seconds: number; calls: number };
  /** Calls the stand-in received in each whole second of the steady phase. */
  callsBySecond: number[];
  /**
   * Silences of ≥ 200 ms between calls in the steady phase (the push queue backlogged all along):
   * the part a gate refusal asked for (the queue paused until a slot frees), and the rest, where
   * nothing was refused and nothing was fetched either.
   */
  idle: { pausedForGateSeconds: number; stalledSeconds: number; stalls: number; longestStallMs: number };
  /** The most the gate admits, sustained: max per (perMs + its margin), a call's latency aside; and the run's share of it. */
  gateMaximumPerSecond: number;
  fractionOfGateMaximum: number;
  totalSeconds: number;
  /** From the worker's start until every event was applied (the push backlog is built by then). */
  eventsAppliedAfterSeconds: number | null;
  calls: number;
  callsByKind: Record<string, number>;
  /** The same method, path and query received again (a push run a second time after the gate stopped it). */
  repeatedCalls: number;
  standIn429s: number;
  pushConcurrency: number;
  child: ChildStats | null;
  /** What the portal shows at the end: customers whose invoice record / billing fields arrived. */
  delivered: { invoices: number; organizations: number };
  eventsAccepted: number;
}

async function runThroughput(): Promise<ThroughputFigures> {
  const prefix = prefixes.throughput;
  const cfg = defaults.targets.zendesk;
  const ceiling = { max: ratePerSecond, perMs: 1_000 };
  const zd = await startZendeskStandIn({
    rate: { max: ratePerSecond * STAND_IN_HEADROOM, perMs: 1_000 },
    exportLagSeconds: 0,
  });
  let child: Child | undefined;
  const watch = watchQueues(prefix);
  try {
    provisionZendesk(zd, cfg);
    seedCustomerOrganizations(zd, 0, customers);
    // Per customer, one webhook's worth: the customer (metadata naming its organization) and a paid invoice.
    const invoiceIds: string[] = [];
    const requests = Array.from({ length: customers }, (_, n) => {
      const c = customer(n);
      const created = toSourceEvent({
        source: 'stripe',
        body: stripePayload('customer.created', c, 0, `evt_push_tp_${n}_c`),
      });
      const invoice = toSourceEvent({
        source: 'stripe',
        body: stripePayload('invoice.paid', c, 1, `evt_push_tp_${n}_i`),
      });
      invoiceIds.push(invoice.objectId);
      return [created, invoice];
    });
    const eventsAccepted = await enqueue(prefix, requests);

    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    child = await startChild({
      role: 'worker',
      prefix,
      zendesk: standInFor(zd),
      rate: ceiling,
      debounceMs: defaults.push.debounceMs,
    });
    loopDelay.enable();
    const started = Date.now();
    const samples: Array<{ at: number; backlog: number }> = [];
    let eventsAppliedAt: number | null = null;
    const expectedSeconds = (customers * 2) / ratePerSecond;
    const settled = await settle(watch, Math.max(60_000, expectedSeconds * 3_000), (c) => {
      samples.push({ at: Date.now(), backlog: c.pushWaiting });
      if (eventsAppliedAt === null && c.events === 0) eventsAppliedAt = Date.now();
    });
    loopDelay.disable();
    if (!settled) throw new Error('the throughput run did not finish in time');
    const totalSeconds = (Date.now() - started) / 1000;
    const stopped = await child.stop();
    child = undefined;

    const calls = [...zd.calls];
    const times = calls.map((c) => c.at);
    const pushConcurrency = cfg.concurrency;
    const backlogged = samples.filter((s) => s.backlog >= 2 * pushConcurrency);
    const from = backlogged[0]?.at ?? Math.min(...times);
    const to = backlogged.at(-1)?.at ?? Math.max(...times);
    const steadyMs = Math.max(1, to - from);
    const steadyCalls = times.filter((t) => t >= from && t < to).length;
    const callsPerSecond = (steadyCalls * 1000) / steadyMs;
    const bySecond: number[] = Array.from({ length: Math.floor(steadyMs / 1000) }, () => 0);
    for (const t of times) {
      const s = Math.floor((t - from) / 1000);
      if (s >= 0 && s < bySecond.length) bySecond[s]! += 1;
    }
    const steadyTimes = times.filter((t) => t >= from && t < to).sort((a, b) => a - b);
    const refusals = [...(stopped?.refusals ?? [])].sort((a, b) => a[0] - b[0]);
    let pausedMs = 0;
    const stalls: number[] = [];
    for (let i = 1; i < steadyTimes.length; i++) {
      const [start, end] = [steadyTimes[i - 1]!, steadyTimes[i]!];
      if (end - start < IDLE_GAP_MS) continue;
      // The queue is paused until the latest slot a refusal in this silence named (its call was not made).
      let pauseEnd = start;
      for (const [at, wait] of refusals)
        if (at >= start - IDLE_GAP_MS && at <= end) pauseEnd = Math.max(pauseEnd, Math.min(end, at + wait));
      pausedMs += pauseEnd - start;
      if (end - pauseEnd >= IDLE_GAP_MS) stalls.push(end - pauseEnd);
    }
    const gateMaximumPerSecond = (ceiling.max * 1000) / (ceiling.perMs + GATE_MARGIN_MS);
    const seen = new Set<string>();
    let repeatedCalls = 0;
    for (const c of calls) {
      const key = `${c.method} ${c.path}?${c.query}`;
      if (seen.has(key)) repeatedCalls += 1;
      seen.add(key);
    }
    const records = zd.state.customObjectRecords.get(cfg.invoiceObject.key);
    const invoices = invoiceIds.filter((id) => records?.has(id)).length;
    let organizations = 0;
    for (let n = 0; n < customers; n++) {
      const org = zd.state.organizations.get(Number(customer(n).zendeskOrganizationId));
      if (org && Object.hasOwn(org.organization_fields, cfg.fields.openInvoices)) organizations += 1;
    }
    return {
      callsPerSecond: round(callsPerSecond, 1),
      fractionOfCeiling: round(callsPerSecond / ((ceiling.max * 1000) / ceiling.perMs), 3),
      callsPerCustomer: round(calls.length / customers, 3),
      busiestWindowCalls: busiestWindow(times, ceiling.perMs),
      busiestWindowAtGate: busiestWindow(stopped?.admitted ?? [], ceiling.perMs),
      standInEventLoopDelayMs: { p99: round(loopDelay.percentile(99) / 1e6), max: round(loopDelay.max / 1e6) },
      ceiling,
      steadyPhase: {
        fromSecond: round((from - started) / 1000, 2),
        seconds: round(steadyMs / 1000, 2),
        calls: steadyCalls,
      },
      callsBySecond: bySecond,
      idle: {
        pausedForGateSeconds: round(pausedMs / 1000, 2),
        stalledSeconds: round(stalls.reduce((a, b) => a + b, 0) / 1000, 2),
        stalls: stalls.length,
        longestStallMs: Math.round(Math.max(0, ...stalls)),
      },
      gateMaximumPerSecond: round(gateMaximumPerSecond, 1),
      fractionOfGateMaximum: round(callsPerSecond / gateMaximumPerSecond, 3),
      totalSeconds: round(totalSeconds, 2),
      eventsAppliedAfterSeconds: eventsAppliedAt === null ? null : round((eventsAppliedAt - started) / 1000, 2),
      calls: calls.length,
      callsByKind: callsByKind(calls),
      repeatedCalls,
      standIn429s: calls.filter((c) => c.status === 429).length,
      pushConcurrency,
      child: stopped?.stats ?? null,
      ...(stopped?.profile && { profile: stopped.profile }),
      delivered: { invoices, organizations },
      eventsAccepted,
    };
  } finally {
    await child?.stop();
    await watch.close();
    await zd.close();
  }
}

// ---- 2. latency at a fixed webhook rate: the whole daemon ---------------------------------------

interface LatencyFigures {
  debounceMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
  sent: number;
  non2xx: number;
  /** Answered 2xx, but its invoice never reached the stand-in within 15 s of the last answer. */
  missing: number;
  /** The invoice reached the stand-in before the webhook's answer reached us (counted as 0 ms). */
  landedBeforeAnswer: number;
  /** p99 of the webhooks sent in each second: a rising line is a backlog. */
  p99BySecondMs: number[];
  webhookRoundTripP99Ms: number;
  senderMaxLagMs: number;
  /** Stand-in calls per webhook (warm-up included), and the target's configured rate for this run. */
  callsPerWebhook: number;
  targetRatePerSecond: number;
  warmupWebhooks: number;
  /** Over the daemon's whole life: the set-up pushes (each customer linked and pushed once) included. */
  child: ChildStats | null;
  /**
   * The push path alone, from the push jobs of the measured webhooks (BullMQ's own times): from the
   * job's creation (the record stored, the change planned) to a worker taking it — the debounce or
   * leading-edge delay plus any wait for a worker — and to its push answered. Unlike the figures
   * above it excludes the events queue, so a machine loaded by other work blurs it much less.
   */
  pushPath: {
    jobs: number;
    plannedToStartP50Ms: number;
    plannedToStartP99Ms: number;
    plannedToDoneP50Ms: number;
    plannedToDoneP99Ms: number;
  };
}

interface Delivery {
  invoiceId: string;
  second: number;
  sentAt: number;
  answeredAt?: number;
  landedAt?: number;
}

const post = postStripeWebhook;

async function runLatency(prefix: string, debounceMs: number): Promise<LatencyFigures> {
  const cfg = defaults.targets.zendesk;
  const zd = await startZendeskStandIn({ exportLagSeconds: 0 }); // no enforced limit: nothing is refused
  const watch = watchQueues(prefix);
  let child: Child | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let stopWatching: () => void = () => undefined;
  try {
    provisionZendesk(zd, cfg);
    seedCustomerOrganizations(zd, 0, latencyCustomers);
    // Known customers, already linked to their organization and pushed once: the measured changes are everyday ones.
    await enqueue(
      prefix,
      Array.from({ length: latencyCustomers }, (_, n) => [
        toSourceEvent({
          source: 'stripe',
          body: stripePayload('customer.created', customer(n), 0, `evt_push_lat_${n}_c`),
        }),
      ]),
    );
    const warmup = Math.round(latencyRate); // one second at the same rate, not measured
    const total = Math.round(latencyRate * latencySeconds);
    // Each webhook: a new paid invoice of one customer, the customers taken in turn.
    const bodies = Array.from({ length: warmup + total }, (_, i) => {
      const c = customer(i % latencyCustomers);
      const payload = stripePayload(
        'invoice.paid',
        c,
        1 + Math.floor(i / latencyCustomers),
        `evt_push_lat_${debounceMs}_${i}`,
      );
      const invoiceId = String((payload['data'] as { object: { id: unknown } }).object.id);
      return { invoiceId, body: JSON.stringify(payload) };
    });
    if (new Set(bodies.map((b) => b.invoiceId)).size !== bodies.length)
      throw new Error('latency webhooks must each carry a new invoice');

    child = await startChild({
      role: 'all',
      prefix,
      zendesk: standInFor(zd),
      rate: { max: latencyTargetRate, perMs: 1_000 },
      debounceMs,
    });
    const url = new URL(child.url!);
    if (!(await settle(watch, 60_000))) throw new Error('the latency set-up pushes did not finish in time');
    const callsBefore = zd.calls.length;

    const records = zd.state.customObjectRecords.get(cfg.invoiceObject.key)!;
    const pending = new Map<string, Delivery>();
    stopWatching = onAnswered(zd, (_call, at) => {
      for (const [id, d] of pending) {
        if (records.has(id)) {
          d.landedAt = at;
          pending.delete(id);
        }
      }
    });

    const deliveries: Delivery[] = [];
    let non2xx = 0;
    let answered = 0;
    let senderMaxLagMs = 0;
    const sends: Promise<void>[] = [];
    const fire = (i: number) => {
      const { invoiceId, body } = bodies[i]!;
      const d: Delivery = { invoiceId, second: Math.floor((i - warmup) / latencyRate), sentAt: performance.now() };
      pending.set(invoiceId, d);
      if (i >= warmup) deliveries.push(d);
      sends.push(
        post(agent, url, body, signStripePayload(body, secret)).then(
          (status) => {
            if (status < 200 || status >= 300) {
              if (i >= warmup) non2xx += 1;
              return;
            }
            d.answeredAt = performance.now();
            if (i >= warmup) answered += 1;
          },
          () => {
            if (i >= warmup) non2xx += 1;
          },
        ),
      );
    };
    // Paced: webhook i leaves at start + i / rate; a late timer means catching up, never skipping.
    const measuredFrom = Date.now();
    const interval = 1000 / latencyRate;
    const start = performance.now();
    for (let i = 0; i < bodies.length;) {
      const now = performance.now();
      while (i < bodies.length && start + i * interval <= now) {
        senderMaxLagMs = Math.max(senderMaxLagMs, now - (start + i * interval));
        fire(i++);
      }
      if (i < bodies.length) await sleep(Math.max(0, start + i * interval - performance.now()));
    }
    await Promise.all(sends);
    const deadline = performance.now() + LAND_TIMEOUT_MS;
    const done = () => deliveries.filter((d) => d.answeredAt !== undefined && d.landedAt !== undefined);
    while (done().length < answered && performance.now() < deadline) await sleep(20);
    await settle(watch, 10_000);
    stopWatching();
    const pushPath = await pushPathOf(prefix, measuredFrom);
    const stopped = await child.stop();
    child = undefined;

    const landed = done();
    const latencyOf = (d: Delivery) => Math.max(0, d.landedAt! - d.answeredAt!);
    const sorted = landed.map(latencyOf).sort((a, b) => a - b);
    const seconds = Math.ceil(total / latencyRate);
    const bySecond = Array.from({ length: seconds }, (_, s) =>
      landed
        .filter((d) => d.second === s)
        .map(latencyOf)
        .sort((a, b) => a - b),
    );
    const roundTrips = deliveries
      .filter((d) => d.answeredAt !== undefined)
      .map((d) => d.answeredAt! - d.sentAt)
      .sort((a, b) => a - b);
    return {
      debounceMs,
      p50Ms: round(percentile(sorted, 0.5)),
      p95Ms: round(percentile(sorted, 0.95)),
      p99Ms: round(percentile(sorted, 0.99)),
      maxMs: round(sorted.at(-1) ?? Number.NaN),
      samples: sorted.length,
      sent: total,
      non2xx,
      missing: answered - landed.length,
      landedBeforeAnswer: landed.filter((d) => d.landedAt! < d.answeredAt!).length,
      p99BySecondMs: bySecond.map((l) => round(percentile(l, 0.99))),
      webhookRoundTripP99Ms: round(percentile(roundTrips, 0.99)),
      senderMaxLagMs: round(senderMaxLagMs),
      callsPerWebhook: round((zd.calls.length - callsBefore) / bodies.length, 3),
      targetRatePerSecond: latencyTargetRate,
      warmupWebhooks: warmup,
      child: stopped?.stats ?? null,
      ...(stopped?.profile && { profile: stopped.profile }),
      pushPath,
    };
  } finally {
    stopWatching();
    agent.destroy();
    await child?.stop();
    await watch.close();
    await zd.close();
  }
}

/** The push jobs created since `from` (ms epoch), by BullMQ's times: see LatencyFigures.pushPath. */
async function pushPathOf(prefix: string, from: number): Promise<LatencyFigures['pushPath']> {
  const redis = createProducerRedis(redisUrl);
  redis.on('error', () => undefined);
  const queue = new Queue(pushQueueName('zendesk'), { connection: redis, prefix });
  try {
    const jobs = (await queue.getJobs(['completed'], 0, 50_000)).filter(
      (j) => j.timestamp >= from && j.processedOn !== undefined && j.finishedOn !== undefined,
    );
    const toStart = jobs.map((j) => j.processedOn! - j.timestamp).sort((a, b) => a - b);
    const toDone = jobs.map((j) => j.finishedOn! - j.timestamp).sort((a, b) => a - b);
    return {
      jobs: jobs.length,
      plannedToStartP50Ms: round(percentile(toStart, 0.5)),
      plannedToStartP99Ms: round(percentile(toStart, 0.99)),
      plannedToDoneP50Ms: round(percentile(toDone, 0.5)),
      plannedToDoneP99Ms: round(percentile(toDone, 0.99)),
    };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

// ---- main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  let out: Record<string, unknown>;
  // The machine is shared: other work running at the same time takes CPU from all three processes.
  const loadAtStart = round(loadavg()[0]!, 2);
  try {
    const throughput = await runThroughput();
    const latency: LatencyFigures[] = [];
    if (latencySeconds > 0 && latencyRate > 0) {
      latency.push(await runLatency(prefixes.latencyDefault, defaults.push.debounceMs));
      if (defaults.push.debounceMs !== DEBOUNCE_FAST_MS)
        latency.push(await runLatency(prefixes.latencyFast, DEBOUNCE_FAST_MS));
    }
    const p99Met = latency
      .filter((l) => l.p99Ms < P99_GOAL_MS && l.missing === 0 && l.non2xx === 0)
      .map((l) => l.debounceMs);
    const scaled = customers !== SPEC.customers || ratePerSecond !== SPEC.ratePerSecond;
    out = {
      bench: 'push',
      node: process.version,
      machine: {
        cpus: availableParallelism(),
        loadAverage1m: { atStart: loadAtStart, atEnd: round(loadavg()[0]!, 2) },
      },
      customers,
      ratePerSecond,
      ...(scaled && {
        scaledDown: `the brief's ${SPEC.customers} customers at ${SPEC.ratePerSecond} calls/s take ~${Math.round((SPEC.customers * throughput.callsPerCustomer) / (SPEC.ratePerSecond * FRACTION_GOAL))} s of pushing alone; run with ${customers} at ${ratePerSecond} calls/s (the figure is the ratio to the ceiling). BENCH_CUSTOMERS=${SPEC.customers} BENCH_RATE_PER_SECOND=${SPEC.ratePerSecond} for the full size.`,
      }),
      throughput,
      latencyAt200: latency,
      latencyRatePerSecond: latencyRate,
      goals: {
        fractionOfCeiling: {
          min: FRACTION_GOAL,
          value: throughput.fractionOfCeiling,
          met: throughput.fractionOfCeiling >= FRACTION_GOAL,
        },
        busiestWindowWithinCeiling: {
          max: throughput.ceiling.max,
          value: throughput.busiestWindowCalls,
          met: throughput.busiestWindowCalls <= throughput.ceiling.max,
        },
        p99Ms: { max: P99_GOAL_MS, metWithDebounceMs: p99Met, met: p99Met.includes(defaults.push.debounceMs) },
        p50Ms: {
          max: P50_GOAL_MS,
          value: latency.find((l) => l.debounceMs === defaults.push.debounceMs)?.p50Ms ?? null,
          met: latency.some((l) => l.debounceMs === defaults.push.debounceMs && l.p50Ms < P50_GOAL_MS),
        },
      },
    };
  } finally {
    await deleteByPrefixes(redisUrl, Object.values(prefixes));
  }
  const check = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const leftover = await countKeys(check, `${runId}-*`);
  check.disconnect();
  process.stdout.write(`${JSON.stringify({ ...out, redisKeysLeft: leftover }, null, 2)}\n`);
  // Everything is closed; should a library keep a handle open anyway, do not hang.
  setTimeout(() => process.exit(0), 2_000).unref();
}

if (process.argv.includes('--serve')) await serve(JSON.parse(process.env.BENCH_CHILD ?? '{}') as ChildSpec);
else await main();
