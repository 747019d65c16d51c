/**
 * bench/resync — a full resync of many customers, end to end, against the
 * local stand-ins of the three platforms (in this process), with the real
 * pipeline in child processes: the worker role (startWorker with the SDK
 * targets of createPortalTarget: Zendesk and Salesforce at once) and the
 * resync runner (runResync over createSnapshotStreams, as `portal-sync
 * resync` runs it). Per size (default 10,000 then 100,000 customers, each
 * an Account + Contact, an organization + user + ticket, and a Stripe
 * customer with a subscription and an invoice, all linked):
 *
 *  1. cold: an empty store and an untouched portal, so every customer
 *     changes and is pushed;
 *  2. drift: BENCH_DRIFT (10%) of the customers changed in the sources
 *     without a webhook (a Stripe balance, a Zendesk ticket status); a full
 *     resync reads everything again, and only the drifted are pushed.
 *
 * Figures: wall time; API calls per platform (reads, writes, job polls) and
 * per customer; the push phase's calls against the configured rate ceiling
 * (the gated calls: writes, and Zendesk's polls); peak RSS of the worker and
 * of the resync process at each size. The ceilings and Zendesk's export
 * pacing are scaled up for a 2-core machine (stated in the JSON).
 *
 *   npm run bench:resync [-- --customers 2000] [-- --drift 0.05]
 *   env: BENCH_CUSTOMERS (comma list), BENCH_DRIFT, BENCH_ZENDESK_RATE, BENCH_SALESFORCE_RATE (calls/s),
 *        BENCH_ZENDESK_CONCURRENCY, BENCH_SALESFORCE_CONCURRENCY, BENCH_EXPORTS_PER_MINUTE
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config, PortalTargetName } from '../src/config.js';
import { benchConfig, sleep } from './lib/common.js';
import { createSnapshotStreams } from '../src/connectors/resync.js';
import { createPortalTarget } from '../src/connectors/targets.js';
import { createLogger } from '../src/log.js';
import { startSalesforceStandIn } from '../src/demo/standins/salesforce/index.js';
import { startStripeStandIn } from '../src/demo/standins/stripe/index.js';
import { startZendeskStandIn } from '../src/demo/standins/zendesk/index.js';
import type { PortalTarget } from '../src/sync/push/portal-target.js';
import { pushQueueName } from '../src/sync/push/planner.js';
import { createEventsQueue } from '../src/sync/events/queue.js';
import { createProducerRedis } from '../src/sync/redis/connection.js';
import { runResync, type ResyncSummary } from '../src/sync/resync/runner.js';
import { ResyncRuns } from '../src/sync/resync/runs.js';
import { startWorker, type TargetFactory } from '../src/worker-role.js';
import {
  ceilingFigures,
  countCalls,
  isPushCall,
  round,
  type Call,
  type CallCounts,
  type CeilingFigures,
} from './lib/resync-calls.js';
import {
  driftCustomers,
  provisionPortals,
  seedLinkedCustomers,
  type DriftedCustomer,
  type SeededCustomer,
} from './lib/resync-seed.js';
import { countKeys, deleteByPrefixes } from './lib/redis.js';
import { REDIS_KEYS } from '../src/sync/redis/keys.js';
import { childProfileArgs, childProfileSummary } from './lib/profile.js';

const argv = process.argv.slice(2);
const option = (name: string, env: string): string | undefined => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : process.env[env];
};
const num = (name: string, env: string, fallback: number) => {
  const v = Number(option(name, env) ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} / ${env} must be a non-negative number`);
  return v;
};

const SIZES = (option('customers', 'BENCH_CUSTOMERS') ?? '10000,100000')
  .split(',')
  .map((s) => Math.max(1, Math.round(Number(s))));
if (SIZES.some((n) => !Number.isFinite(n))) throw new Error('--customers takes a number, or a comma-separated list');
const DRIFT = num('drift', 'BENCH_DRIFT', 0.1);
/** Zendesk allows 700 calls a minute on Enterprise (11.7/s), Salesforce counts per day: scaled up so the bench ends in minutes. */
const CEILINGS: Record<PortalTargetName, { max: number; perMs: number }> = {
  zendesk: { max: Math.round(num('zendesk-rate', 'BENCH_ZENDESK_RATE', 12)), perMs: 1_000 },
  salesforce: { max: Math.round(num('salesforce-rate', 'BENCH_SALESFORCE_RATE', 12)), perMs: 1_000 },
};
const CONCURRENCY: Record<PortalTargetName, number> = {
  zendesk: Math.max(1, Math.round(num('zendesk-concurrency', 'BENCH_ZENDESK_CONCURRENCY', 6))),
  salesforce: Math.max(1, Math.round(num('salesforce-concurrency', 'BENCH_SALESFORCE_CONCURRENCY', 4))),
};
/** Zendesk's incremental exports allow 10 requests a minute: at that pace 100,000 customers take 30 minutes to read. */
const EXPORTS_PER_MINUTE = Math.max(1, Math.round(num('exports-per-minute', 'BENCH_EXPORTS_PER_MINUTE', 6000)));
/**
 * The worker and resync processes run with this V8 heap cap (MB; 0: Node's default, about a quarter of
 * the machine's memory, which lets garbage pile up to hundreds of MB before a full GC): what a
 * container with a memory limit gets. Their live heap after a full GC is reported either way.
 */
const HEAP_MB = Math.round(num('heap-mb', 'BENCH_HEAP_MB', 128));
/** Node 24 sizes the young generation up to 128 MB on a machine with this much memory, whatever the old-space cap. */
const SEMI_SPACE_MB = 16;
const GOALS = {
  zendeskCallsPerCustomer: 0.02,
  salesforceCallsPerCustomer: 0.01,
  fractionOfCeiling: 0.9,
  peakRssMB: 300,
};
const TARGETS: PortalTargetName[] = ['zendesk', 'salesforce'];

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const runId = process.env.BENCH_PREFIX ?? `bench-resync-${process.pid}`;
const maxRssMB = () => round(process.resourceUsage().maxRSS / 1024, 0);
/** Progress on stderr; the figures go to stdout as one JSON object. */
const note = (what: string) =>
  process.stderr.write(`[bench:resync ${new Date().toISOString().slice(11, 19)}] ${what}\n`);
const MB = (bytes: number) => round(bytes / 1e6, 0);

/** Peaks of the process's memory, sampled, and the live heap after a full GC (children run with --expose-gc). */
function memorySampler() {
  const peak = { heapUsedMB: 0, heapTotalMB: 0, externalMB: 0, arrayBuffersMB: 0 };
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peak.heapUsedMB = Math.max(peak.heapUsedMB, MB(m.heapUsed));
    peak.heapTotalMB = Math.max(peak.heapTotalMB, MB(m.heapTotal));
    peak.externalMB = Math.max(peak.externalMB, MB(m.external));
    peak.arrayBuffersMB = Math.max(peak.arrayBuffersMB, MB(m.arrayBuffers));
  }, 200);
  timer.unref();
  return () => {
    (globalThis as { gc?: () => void }).gc?.();
    return { maxRssMB: maxRssMB(), ...peak, liveHeapAfterGcMB: MB(process.memoryUsage().heapUsed) };
  };
}
export type MemoryFigures = ReturnType<ReturnType<typeof memorySampler>>;

function configFor(prefix: string, env: Record<string, string>): Config {
  const config = benchConfig(redisUrl, prefix, env);
  for (const t of TARGETS) {
    config.targets[t].rate = CEILINGS[t];
    config.targets[t].concurrency = CONCURRENCY[t];
  }
  config.resync.zendeskExportsPerMinute = EXPORTS_PER_MINUTE;
  config.reconcile.everyMs = 0; // no hourly pass reading 100,000 customers in the middle of the measurement
  return config;
}

// ---- child processes ------------------------------------------------------------------------

type ChildSpec = { role: 'worker' | 'resync'; prefix: string; env: Record<string, string> };
interface TargetStats {
  bulkBatches: number;
  bulkCustomers: number;
  bulkRefused: number;
  bulkCalls: number;
  singlePushes: number;
  singleCalls: number;
  errors: number;
}
type WorkerStats = { targets: Record<PortalTargetName, TargetStats>; memory: MemoryFigures };
type ResyncResult = { summary: ResyncSummary; memory: MemoryFigures };
type FromChild =
  { ready: true } | { stats: WorkerStats } | { stopped: WorkerStats } | { resynced: ResyncResult } | { failed: string };

/** The worker role with the SDK targets; the wrappers only count what goes through them. */
async function serveWorker(spec: ChildSpec): Promise<void> {
  const memory = memorySampler();
  const config = configFor(spec.prefix, spec.env);
  const zero = (): TargetStats => ({
    bulkBatches: 0,
    bulkCustomers: 0,
    bulkRefused: 0,
    bulkCalls: 0,
    singlePushes: 0,
    singleCalls: 0,
    errors: 0,
  });
  const stats: Record<PortalTargetName, TargetStats> = { zendesk: zero(), salesforce: zero() };
  const targets: TargetFactory = (name, cfg, deps) => {
    const target = createPortalTarget(name, cfg, deps);
    const s = stats[name];
    const counted: PortalTarget = {
      name: target.name,
      ...(target.bulkSize !== undefined && { bulkSize: target.bulkSize }),
      async push(p) {
        const r = await target.push(p).catch((err: unknown) => {
          s.errors += 1;
          throw err;
        });
        s.singlePushes += 1;
        s.singleCalls += r.calls;
        return r;
      },
      ...(target.pushMany && {
        async pushMany(pushes, ctx) {
          const r = await target.pushMany!(pushes, ctx).catch((err: unknown) => {
            s.errors += 1;
            throw err;
          });
          s.bulkBatches += 1;
          s.bulkCustomers += pushes.length;
          s.bulkCalls += r.calls;
          s.bulkRefused += r.items.filter((i) => !i.ok).length;
          return r;
        },
      }),
    };
    return counted;
  };
  const worker = await startWorker(config, createLogger('silent'), { targets });
  process.on('disconnect', () => process.exit(1));
  const snapshot = (): WorkerStats => ({ targets: structuredClone(stats), memory: memory() });
  process.on('message', async (msg: unknown) => {
    if (msg === 'stats') process.send?.({ stats: snapshot() } satisfies FromChild);
    if (msg === 'stop') {
      await worker.close();
      process.send?.({ stopped: snapshot() } satisfies FromChild, () => process.exit(0));
    }
  });
  process.send?.({ ready: true } satisfies FromChild);
}

/** One `portal-sync resync` of every source, to its end (everything applied), in its own process. */
async function serveResync(spec: ChildSpec): Promise<void> {
  const memory = memorySampler();
  const config = configFor(spec.prefix, spec.env);
  const redis = createProducerRedis(redisUrl, { enableOfflineQueue: true });
  redis.on('error', () => undefined);
  const queue = createEventsQueue(redis, spec.prefix);
  try {
    const runs = new ResyncRuns(redis, spec.prefix);
    const sources = ['stripe', 'zendesk', 'salesforce'] as const;
    const runId = await runs.create({ sources: [...sources], since: null, customer: null, dryRun: false });
    const streams = await createSnapshotStreams(config, { sources, since: null });
    const summary = await runResync({
      runs,
      runId,
      queue,
      streams,
      logger: createLogger('silent'),
      maxBacklog: config.resync.maxBacklog,
      stallTimeoutMs: 300_000,
    });
    process.send?.({ resynced: { summary, memory: memory() } } satisfies FromChild, () => process.exit(0));
  } catch (err) {
    process.send?.({ failed: (err as Error).stack ?? String(err) } satisfies FromChild, () => process.exit(1));
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/**
 * The children run compiled JavaScript, as the daemon runs from dist/ (tsx's loader alone adds some
 * 50 MB to a process): this file and what it imports, compiled by tsc into node_modules/.cache
 * (where the packages resolve), with config/ beside it. If tsc cannot emit, the children run
 * through tsx like this process, and the JSON says so.
 */
function childRuntime(): { entry: string; execArgv: string[]; runtime: string } {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const out = join(root, 'node_modules/.cache/bench-resync');
  try {
    mkdirSync(out, { recursive: true });
    const tsconfig = join(out, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: join(root, 'tsconfig.json'),
        compilerOptions: {
          rootDir: root,
          outDir: out,
          noEmit: false,
          sourceMap: false,
          declaration: false,
          noEmitOnError: false,
        },
        files: [fileURLToPath(import.meta.url)],
        include: [],
      }),
    );
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], {
        stdio: 'ignore',
        timeout: 120_000,
      });
    } catch {
      // Type errors (someone else's work in progress) still emit; only a missing output below counts.
    }
    cpSync(join(root, 'config'), join(out, 'config'), { recursive: true });
    // tsc emits no Lua: the scripts go beside their compiled modules, as `npm run build` puts them (scripts/copy-lua.mjs).
    execFileSync(process.execPath, [join(root, 'scripts/copy-lua.mjs'), join(out, 'src')], { stdio: 'ignore' });
    const entry = join(out, 'bench/resync.js');
    execFileSync(process.execPath, ['--check', entry], { stdio: 'ignore' });
    return { entry, execArgv: [], runtime: 'node (compiled by tsc into node_modules/.cache/bench-resync)' };
  } catch {
    return {
      entry: fileURLToPath(import.meta.url),
      execArgv: process.execArgv,
      runtime: 'tsx (compiling for node failed)',
    };
  }
}
let runtime: ReturnType<typeof childRuntime> | undefined;

function spawnChild(spec: ChildSpec): { child: ChildProcess; next: () => Promise<FromChild> } {
  runtime ??= childRuntime();
  const child = fork(runtime.entry, ['--child'], {
    env: { ...process.env, BENCH_CHILD: JSON.stringify(spec) },
    execArgv: [
      ...runtime.execArgv,
      '--expose-gc',
      ...childProfileArgs(),
      ...(HEAP_MB > 0 ? [`--max-old-space-size=${HEAP_MB}`, `--max-semi-space-size=${SEMI_SPACE_MB}`] : []),
    ],
  });
  child.on('error', () => undefined); // a send to a process that died: its exit is reported below
  const inbox: FromChild[] = [];
  const waiting: Array<(m: FromChild) => void> = [];
  child.on('message', (m: FromChild) => (waiting.length > 0 ? waiting.shift()!(m) : inbox.push(m)));
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`${spec.role} process exited with ${code}`))),
  );
  exited.catch(() => undefined);
  const next = () =>
    inbox.length > 0
      ? Promise.resolve(inbox.shift()!)
      : Promise.race([new Promise<FromChild>((r) => waiting.push(r)), exited]);
  return { child, next };
}

async function startWorkerChild(spec: ChildSpec) {
  const { child, next } = spawnChild(spec);
  const first = await next();
  if (!('ready' in first)) throw new Error('the worker process did not start');
  const ask = async (msg: 'stats' | 'stop'): Promise<WorkerStats> => {
    child.send(msg);
    const m = await next();
    if ('stats' in m) return m.stats;
    if ('stopped' in m) return m.stopped;
    throw new Error(`unexpected answer from the worker: ${JSON.stringify(m).slice(0, 200)}`);
  };
  /** Its last figures, and (with BENCH_PROFILE) the summary of its profile, written as it exits. */
  const stop = async () => {
    const stats = await ask('stop');
    const profile = await childProfileSummary(child, 'the worker process over its whole run, BENCH_PROFILE');
    return { ...stats, ...(profile && { profile }) };
  };
  return { stats: () => ask('stats'), stop, kill: () => child.kill('SIGKILL') };
}

async function resyncInChild(spec: ChildSpec): Promise<ResyncResult> {
  const { next } = spawnChild(spec);
  const m = await next();
  if ('resynced' in m) return m.resynced;
  throw new Error(`resync failed: ${'failed' in m ? m.failed : JSON.stringify(m)}`);
}

// ---- measurement ----------------------------------------------------------------------------

/** Until nothing is left to apply or push, twice in a row. */
async function settle(prefix: string, timeoutMs: number): Promise<boolean> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const queues = [
    createEventsQueue(redis, prefix),
    ...TARGETS.map((t) => new Queue(pushQueueName(t), { connection: redis, prefix })),
  ];
  try {
    const end = Date.now() + timeoutMs;
    for (let quiet = 0; Date.now() < end; await sleep(250)) {
      let left = 0;
      for (const t of TARGETS)
        left +=
          (await redis.zcard(REDIS_KEYS.bulk(prefix, t).pending)) +
          (await redis.zcard(REDIS_KEYS.bulk(prefix, t).claimed));
      for (const q of queues)
        left += Object.values(await q.getJobCounts('waiting', 'delayed', 'active', 'prioritized')).reduce(
          (a, b) => a + b,
          0,
        );
      quiet = left === 0 ? quiet + 1 : 0;
      if (quiet >= 2) return true;
    }
    return false;
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    redis.disconnect();
  }
}

const diff = (after: TargetStats, before: TargetStats): TargetStats =>
  Object.fromEntries(
    Object.entries(after).map(([k, v]) => [k, v - before[k as keyof TargetStats]]),
  ) as unknown as TargetStats;

interface PlatformCalls extends CallCounts {
  perCustomer: { reads: number; writes: number; total: number };
}
const perPlatform = (calls: readonly Call[], customers: number): PlatformCalls => {
  const c = countCalls(calls);
  return {
    ...c,
    perCustomer: {
      reads: round(c.reads / customers, 4),
      writes: round((c.writes + c.polls) / customers, 4),
      total: round((c.reads + c.writes + c.polls) / customers, 4),
    },
  };
};

interface PhaseFigures {
  scenario: string;
  wallSeconds: number;
  /** Until the resync process ended: every object read and applied. */
  readAndApplySeconds: number;
  /** From then until the last push was accepted. */
  pushTailSeconds: number;
  resync: ResyncSummary['counts'];
  calls: { zendesk: PlatformCalls; salesforce: PlatformCalls; stripe: PlatformCalls };
  /** The gated calls of each target (writes; Zendesk's job polls too) against the configured ceiling. */
  pushPhase: Record<PortalTargetName, CeilingFigures>;
  pushes: Record<PortalTargetName, TargetStats>;
  resyncMemory: MemoryFigures;
  /** The worker process's, at the end of the phase. */
  workerMemory: MemoryFigures;
  settled: boolean;
}

interface Platforms {
  zd: Awaited<ReturnType<typeof startZendeskStandIn>>;
  sf: Awaited<ReturnType<typeof startSalesforceStandIn>>;
  stripe: Awaited<ReturnType<typeof startStripeStandIn>>;
}

async function phase(
  scenario: string,
  spec: ChildSpec,
  n: number,
  p: Platforms,
  worker: Awaited<ReturnType<typeof startWorkerChild>>,
): Promise<PhaseFigures> {
  note(`${n} customers, ${scenario.split(':')[0]}: resync running`);
  const mark = { zd: p.zd.calls.length, sf: p.sf.calls.length, stripe: p.stripe.calls.length };
  const before = await worker.stats();
  const started = Date.now();
  const { summary, memory: resyncMemory } = await resyncInChild({ ...spec, role: 'resync' });
  const applied = Date.now();
  note(
    `${n} customers: ${summary.counts.applied} snapshots applied in ${round((applied - started) / 1000, 0)} s; waiting for the pushes`,
  );
  const settled = await settle(spec.prefix, Math.max(300_000, n * 20));
  const done = Date.now();
  const after = await worker.stats();
  const zdCalls = p.zd.calls.slice(mark.zd);
  const sfCalls = p.sf.calls.slice(mark.sf);
  return {
    scenario,
    wallSeconds: round((done - started) / 1000, 1),
    readAndApplySeconds: round((applied - started) / 1000, 1),
    pushTailSeconds: round((done - applied) / 1000, 1),
    resync: summary.counts,
    calls: {
      zendesk: perPlatform(zdCalls, n),
      salesforce: perPlatform(sfCalls, n),
      stripe: perPlatform(p.stripe.calls.slice(mark.stripe), n),
    },
    pushPhase: {
      zendesk: ceilingFigures(
        zdCalls.filter(isPushCall).map((c) => c.at),
        CEILINGS.zendesk,
      ),
      salesforce: ceilingFigures(
        sfCalls.filter(isPushCall).map((c) => c.at),
        CEILINGS.salesforce,
      ),
    },
    pushes: {
      zendesk: diff(after.targets.zendesk, before.targets.zendesk),
      salesforce: diff(after.targets.salesforce, before.targets.salesforce),
    },
    resyncMemory,
    workerMemory: after.memory,
    settled,
  };
}

/** What the portals show, checked against the sources: every customer after the cold resync, the drifted ones after the second. */
function verify(
  p: Platforms,
  customers: readonly SeededCustomer[],
  drifted: readonly DriftedCustomer[],
  t: Config['targets'],
) {
  const invoices = p.zd.state.customObjectRecords.get(t.zendesk.invoiceObject.key);
  const sfRows = (o: string) => p.sf.state.sobjects.get(o)?.size ?? 0;
  const wrong = { zendeskBilling: 0, salesforceBilling: 0, salesforceTicket: 0 };
  for (const d of drifted) {
    const major = d.balance / 100;
    if (p.zd.state.organizations.get(d.customer.orgId)?.organization_fields[t.zendesk.fields.balance] !== major)
      wrong.zendeskBilling += 1;
    if (p.sf.state.get('Account', d.customer.accountId)?.[t.salesforce.accountFields.balance] !== major)
      wrong.salesforceBilling += 1;
    const ticket = p.sf.state.byExternalId(
      t.salesforce.ticket.object,
      t.salesforce.ticket.externalId,
      String(d.customer.ticketId),
    );
    if (ticket?.[t.salesforce.ticket.fields.status] !== d.ticketStatus) wrong.salesforceTicket += 1;
  }
  const active = customers.filter(
    (c) => p.zd.state.organizations.get(c.orgId)?.organization_fields[t.zendesk.fields.status] === 'active',
  ).length;
  return {
    organizationsWithBilling: active,
    zendeskInvoiceRecords: invoices?.size ?? 0,
    salesforceInvoices: sfRows(t.salesforce.invoice.object),
    salesforceTickets: sfRows(t.salesforce.ticket.object),
    accountsWithBilling: customers.filter(
      (c) => p.sf.state.get('Account', c.accountId)?.[t.salesforce.accountFields.status] === 'active',
    ).length,
    driftedCustomers: drifted.length,
    driftedWrong: wrong,
  };
}

async function runSize(n: number) {
  const prefix = `${runId}-${n}`;
  const p: Platforms = {
    zd: await startZendeskStandIn({ exportLagSeconds: 60 }),
    sf: await startSalesforceStandIn({ dailyLimit: 100_000_000 }),
    stripe: await startStripeStandIn(),
  };
  let worker: Awaited<ReturnType<typeof startWorkerChild>> | undefined;
  try {
    const env = {
      PORTAL_TARGET: 'zendesk,salesforce',
      ZENDESK_BASE_URL: p.zd.baseUrl,
      ZENDESK_EMAIL: p.zd.credentials.email,
      ZENDESK_API_TOKEN: p.zd.credentials.token,
      SALESFORCE_INSTANCE_URL: p.sf.instanceUrl,
      SALESFORCE_ACCESS_TOKEN: p.sf.accessToken,
      ...p.stripe.env,
    };
    const targets = configFor(prefix, env).targets;
    const seeding = Date.now();
    provisionPortals(p.zd, p.sf, targets);
    // Zendesk objects a second apart over the last day or so: a time export page of 1,000 spans many seconds.
    const base = Date.now() - (n + 3600) * 1000;
    const customers = seedLinkedCustomers(p.zd, p.sf, p.stripe, {
      count: n,
      updatedAt: (i) => new Date(base + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    const seedSeconds = round((Date.now() - seeding) / 1000, 1);
    note(`${n} customers seeded in ${seedSeconds} s`);
    const spec: ChildSpec = { role: 'worker', prefix, env };
    worker = await startWorkerChild(spec);
    const cold = await phase(
      'cold: empty store, untouched portal; every customer changes and is pushed',
      spec,
      n,
      p,
      worker,
    );
    const afterCold = verify(p, customers, [], targets);
    const drifted = driftCustomers(p.zd, p.stripe, customers, DRIFT);
    const drift = await phase(
      `drift: ${round(DRIFT * 100, 1)}% of the customers changed in the sources without a webhook (a Stripe balance, a Zendesk ticket status); a full resync reads everything, the portal was in sync for the rest`,
      spec,
      n,
      p,
      worker,
    );
    const afterDrift = verify(p, customers, drifted, targets);
    const stopped = await worker.stop();
    worker = undefined;
    const probe = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    const info = await probe.info('memory').then((s) => Number(/used_memory:(\d+)/.exec(s)?.[1] ?? Number.NaN));
    probe.disconnect();
    return {
      customers: n,
      seedSeconds,
      cold,
      drift,
      portal: { afterCold, afterDrift },
      peakRssMB: {
        worker: stopped.memory.maxRssMB,
        resyncCold: cold.resyncMemory.maxRssMB,
        resyncDrift: drift.resyncMemory.maxRssMB,
      },
      redisUsedMBAtEnd: round(info / 1e6, 0),
      ...(stopped.profile && { workerProfile: stopped.profile }),
    };
  } finally {
    worker?.kill();
    await Promise.all([p.zd.close(), p.sf.close(), p.stripe.close()]);
    await deleteByPrefixes(redisUrl, [prefix]);
  }
}

async function main(): Promise<void> {
  const loadAtStart = round(loadavg()[0]!, 2);
  const started = Date.now();
  const sizes = [];
  try {
    for (const n of SIZES) sizes.push(await runSize(n));
  } finally {
    await deleteByPrefixes(
      redisUrl,
      SIZES.map((n) => `${runId}-${n}`),
    );
  }
  const drift = sizes.map((s) => ({
    customers: s.customers,
    zendesk: s.drift.calls.zendesk.perCustomer.total,
    salesforce: s.drift.calls.salesforce.perCustomer.total,
  }));
  const fractions = sizes.flatMap((s) =>
    TARGETS.map((t) => ({ customers: s.customers, target: t, value: s.cold.pushPhase[t].fractionOfCeiling })),
  );
  const rss = sizes.map((s) => ({
    customers: s.customers,
    worker: s.peakRssMB.worker,
    resync: Math.max(s.peakRssMB.resyncCold, s.peakRssMB.resyncDrift),
  }));
  const check = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const leftover = await countKeys(check, `${runId}-*`);
  check.disconnect();
  const out = {
    bench: 'resync',
    node: process.version,
    machine: { cpus: availableParallelism(), loadAverage1m: { atStart: loadAtStart, atEnd: round(loadavg()[0]!, 2) } },
    totalSeconds: round((Date.now() - started) / 1000, 0),
    setup: {
      sizes: SIZES,
      driftFraction: DRIFT,
      perCustomer:
        'Salesforce Account + Contact; Zendesk organization + user + ticket; Stripe customer + subscription + one invoice (every 5th open), all linked',
      stripe:
        'included: src/demo/standins/stripe/index.ts (startStripeStandIn, seedCustomers, updateCustomer); read through the stripe SDK (customers, subscriptions, invoices, 100 a page)',
      ceilings: CEILINGS,
      scaledUp: `Zendesk allows up to 700 calls a minute (11.7/s) and 10 incremental exports a minute; here the targets' ceilings are ${CEILINGS.zendesk.max}/s (Zendesk) and ${CEILINGS.salesforce.max}/s (Salesforce), push concurrency ${CONCURRENCY.zendesk} / ${CONCURRENCY.salesforce}, and resync.zendeskExportsPerMinute = ${EXPORTS_PER_MINUTE}, so that 100,000 customers finish in minutes on this machine; the figure that carries over is the fraction of the ceiling, and calls per customer do not depend on the pace`,
      bulk: 'Zendesk: 500 customers per drain (update_many and custom object jobs of 100, one show_many poll per round); Salesforce: 200 per drain (sObject Collections of 200)',
      zendeskJobPolling:
        '1 s before each poll round (the Zendesk target default); the stand-in completes a job at its first poll',
      // Read without naming the key in the type: newer than this bench, and left at its default here.
      stripeReadsPerSecond:
        (configFor('bench-resync-settings', {}).resync as Record<string, unknown>)['stripeReadsPerSecond'] ??
        'not paced',
      children: {
        runtime: runtime?.runtime ?? 'none started',
        v8Flags:
          HEAP_MB > 0
            ? `--max-old-space-size=${HEAP_MB} --max-semi-space-size=${SEMI_SPACE_MB}`
            : 'none (Node defaults)',
        why: 'the worker role and the resync run in processes of their own (their RSS is measured apart from the stand-ins), with a V8 heap cap as a container with a memory limit gets; without one, V8 lets garbage reach several hundred MB before a full GC (peak RSS then says more about the GC than about what is kept: see liveHeapAfterGcMB)',
      },
    },
    sizes,
    goals: {
      callsPerCustomerInDrift: {
        scenario: 'drift (a full resync; reads included)',
        zendesk: {
          max: GOALS.zendeskCallsPerCustomer,
          values: drift.map((d) => [d.customers, d.zendesk]),
          met: drift.every((d) => d.zendesk <= GOALS.zendeskCallsPerCustomer),
        },
        salesforce: {
          max: GOALS.salesforceCallsPerCustomer,
          values: drift.map((d) => [d.customers, d.salesforce]),
          met: drift.every((d) => d.salesforce <= GOALS.salesforceCallsPerCustomer),
        },
      },
      fractionOfCeilingInColdPushPhase: {
        min: GOALS.fractionOfCeiling,
        values: fractions,
        met: fractions.every((f) => f.value !== null && f.value >= GOALS.fractionOfCeiling),
      },
      peakRssMB: {
        max: GOALS.peakRssMB,
        values: rss,
        met: rss.every((r) => r.worker < GOALS.peakRssMB && r.resync < GOALS.peakRssMB),
        largestOverSmallest:
          rss.length > 1
            ? {
                worker: round(rss.at(-1)!.worker / rss[0]!.worker, 2),
                resync: round(rss.at(-1)!.resync / rss[0]!.resync, 2),
              }
            : null,
      },
    },
    redisKeysLeft: leftover,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  setTimeout(() => process.exit(0), 2_000).unref();
}

if (argv.includes('--child')) {
  const spec = JSON.parse(process.env.BENCH_CHILD ?? '{}') as ChildSpec;
  await (spec.role === 'worker' ? serveWorker(spec) : serveResync(spec));
} else {
  await main();
}
