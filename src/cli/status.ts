/** `portal-sync status` — queue depths, lag, dead letters, quarantine and identity conflicts. */
import { Queue } from 'bullmq';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { outboundQueueName } from '../sync/outbound/queue.js';
import { bulkBacklog, type BulkBacklog } from '../sync/bulk-push.js';
import { OutboundStore, type SubscriptionState } from '../sync/outbound/store.js';
import { PUSH_QUEUES } from '../sync/push-planner.js';
import { QUEUES } from '../sync/queues.js';
import { DEFLECTION_QUEUE } from '../sync/deflection/queue.js';
import { RecordStore } from '../sync/store.js';
import { configuredWebhookSources, readLastReconcile, readLastWebhooks, readWorkers, type WorkerHealth } from '../sync/health.js';
import { healthLines, NO_LIVE_WORKER_EXIT } from './status-health.js';
import { describeSourceFailure, failedSources, type ReconcileReport } from '../sync/reconcile.js';
import { QuarantineStore } from '../sync/quarantine.js';
import { ResyncRuns, type ResyncRunInfo } from '../sync/resync/runs.js';
import { printJson, requireConfig, withDataRedis } from './connect.js';
import { readRedisTopology, topologyWarnings, type RedisTopology } from '../sync/redis.js';
import { printText } from './terminal.js';

export interface QueueStatus {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  /** Age of the oldest job waiting to run, in seconds: how far behind real time the queue is. */
  lagSeconds: number;
  /** Jobs completed per minute, averaged over the last 15 minutes (BullMQ's worker metrics). */
  completedPerMinute: number;
  /** Jobs failed per minute (each attempt), same window. */
  failedPerMinute: number;
  /** How long the queue stays paused by a rate limit (a 429, the call gate, the Salesforce API budget), in seconds; 0 when it is not. */
  rateLimitedForSeconds: number;
}

export interface Status {
  queues: Record<string, QueueStatus>;
  deadLettered: number;
  quarantined: number;
  identityConflicts: number;
  /** Outbound webhook subscriptions: events pending, failure streaks, pauses. */
  subscriptions: SubscriptionState[];
  /** The last reconcile pass, with the drift it found (null: none has run yet). */
  reconcile: ReconcileReport | null;
  /** The newest resync run, if any. */
  resync: ResyncRunInfo | null;
  /** Per portal target: customers whose resync changes wait for a bulk call, and for how long. */
  bulk: Record<string, BulkBacklog>;
  /** Every worker that beat in the last week (role, host, pid, last seen, live); none live: `status` exits 3. */
  workers: WorkerHealth[];
  /** Per source whose receiver is configured: when its last verified webhook arrived (null: never). */
  lastWebhooks: Record<string, string | null>;
  /** The Redis read (the primary), its replicas and settings, and what to fix given redis.ackReplicas. */
  redis: RedisTopology & { ackReplicas: number; warnings: string[] };
}

const RATE_WINDOW_MINUTES = 15;

async function queueStatus(redis: Redis, prefix: string, name: string): Promise<QueueStatus> {
  const queue = new Queue(name, { connection: redis, prefix, skipMetasUpdate: true }); // status only reads
  try {
    return await queueStatusOf(queue);
  } finally {
    await queue.close();
  }
}

/** One queue's depths, lag and processing rates (the dashboard reads its queues through this too). */
export async function queueStatusOf(queue: Queue): Promise<QueueStatus> {
  const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
  const [oldest] = await queue.getJobs(['waiting', 'prioritized'], -1, -1, true);
  const lagSeconds = oldest ? Math.max(0, Math.round((Date.now() - oldest.timestamp) / 1000)) : 0;
  const perMinute = async (type: 'completed' | 'failed') => {
    // Full minutes newest first, plus the minute in progress (not yet a data point).
    const m = await queue.getMetrics(type, 0, RATE_WINDOW_MINUTES - 2);
    const current = Math.max(0, Number(m.meta.count) - Number(m.meta.prevCount) || 0);
    return Math.round(((m.data.reduce((n, x) => n + (Number(x) || 0), 0) + current) / RATE_WINDOW_MINUTES) * 10) / 10;
  };
  return {
    waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
    active: c.active ?? 0,
    delayed: c.delayed ?? 0,
    failed: c.failed ?? 0,
    completed: c.completed ?? 0,
    lagSeconds,
    completedPerMinute: await perMinute('completed'),
    failedPerMinute: await perMinute('failed'),
    // A pause (Worker.rateLimit) sets the limiter counter to MAX_SAFE_INTEGER; asking with that as the maximum
    // reports pauses only, not the job limiter's ordinary window.
    rateLimitedForSeconds: Math.max(0, Math.ceil((await queue.getRateLimitTtl(Number.MAX_SAFE_INTEGER)) / 1000)),
  };
}

/** Every queue `status` and the dashboard show, in their order: events, pushes, deflection, one outbound queue per subscription. */
export function statusQueueNames(config: Config): string[] {
  return [QUEUES.events, ...PUSH_QUEUES, DEFLECTION_QUEUE, ...config.subscriptions.map((s) => outboundQueueName(s.id))];
}

export async function readStatus(redis: Redis, config: Config): Promise<Status> {
  const prefix = config.redis.prefix;
  const queues: Record<string, QueueStatus> = {};
  for (const name of statusQueueNames(config)) queues[name] = await queueStatus(redis, prefix, name);
  const store = new RecordStore(redis, prefix);
  const topology = await readRedisTopology(redis);
  return {
    queues,
    deadLettered: Object.values(queues).reduce((n, q) => n + q.failed, 0),
    quarantined: (await new QuarantineStore(redis, prefix, config.quarantine).stats()).entries,
    identityConflicts: (await store.listConflicts()).length,
    subscriptions: await Promise.all(config.subscriptions.map((s) => new OutboundStore(redis, prefix, config.outbound).state(s.id))),
    reconcile: await readLastReconcile(redis, prefix),
    resync: await new ResyncRuns(redis, prefix).latest(),
    bulk: Object.fromEntries(await Promise.all(config.portal.targets.map(async (t) => [t, await bulkBacklog(redis, prefix, t)] as const))),
    workers: await readWorkers(redis, prefix),
    lastWebhooks: await readLastWebhooks(redis, prefix, configuredWebhookSources(config)),
    redis: { ...topology, ackReplicas: config.redis.ackReplicas, warnings: topologyWarnings(topology, config.redis.ackReplicas) },
  };
}

/** The queues as one aligned table: a header row, then one row a queue (a rate-limit pause said at the row's end). */
export function queueTable(queues: Record<string, QueueStatus>): string[] {
  const head = ['QUEUE', 'WAITING', 'ACTIVE', 'DELAYED', 'FAILED', 'LAG', 'DONE/MIN', 'FAILED/MIN'];
  const rows = Object.entries(queues).map(([name, q]) => [
    name, String(q.waiting), String(q.active), String(q.delayed), String(q.failed), `${q.lagSeconds}s`, String(q.completedPerMinute), String(q.failedPerMinute),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const paused = Object.values(queues).map((q) => (q.rateLimitedForSeconds > 0 ? `  PAUSED by a rate limit for ${q.rateLimitedForSeconds}s more` : ''));
  return [`  ${line(head)}`, ...rows.map((r, i) => `  ${line(r)}${paused[i]}`), `  (per minute: the last ${RATE_WINDOW_MINUTES} min)`];
}

/** `status` for humans: the queues as a table, then what needs an admin's attention. */
export function statusText(status: Status, prefix: string): string {
  const lines = queueTable(status.queues);
  lines.push(`  dead letters: ${status.deadLettered}${status.deadLettered ? ' (portal-sync dlq list)' : ''}`);
  lines.push(`  quarantined payloads: ${status.quarantined}${status.quarantined ? ' (portal-sync dlq list)' : ''}`);
  lines.push(`  identity conflicts: ${status.identityConflicts}${status.identityConflicts ? ' (portal-sync identity conflicts)' : ''}`);
  for (const w of status.subscriptions) {
    const health = w.paused ? `PAUSED since ${w.pausedAt} (portal-sync webhooks replay ${w.id} --since ${w.failingSince ?? w.pausedAt})` : w.failingSince ? `failing since ${w.failingSince}` : 'ok';
    lines.push(`  webhooks ${w.id}: ${w.pending} pending, ${health}`);
  }
  const r = status.reconcile;
  lines.push(r ? `  last reconcile: ${r.finishedAt}, drift ${r.drift}${r.drift ? ` (${r.driftIds.slice(0, 5).join(', ')}${r.drift > 5 ? ', …' : ''})` : ''}${failedSources(r).length ? ', a source FAILED (portal-sync reconcile)' : ''}` : '  last reconcile: none yet');
  if (r) for (const [source, s] of failedSources(r)) lines.push(`    ${describeSourceFailure(source, s)}`);
  const rs = status.resync;
  for (const [target, b] of Object.entries(status.bulk)) {
    if (b.pending + b.inFlight > 0) lines.push(`  resync pushes to ${target}: ${b.pending} customers waiting for a bulk call (oldest ${b.oldestSeconds}s), ${b.inFlight} in flight`);
  }
  if (rs) lines.push(`  last resync ${rs.id}: ${rs.status}, read ${rs.counts.read}, changed ${rs.counts.changed}, failed ${rs.counts.failed}${rs.status === 'running' ? ' (portal-sync resync --resume if it is not running)' : ''}`);
  lines.push(...healthLines(status.workers, status.lastWebhooks));
  const t = status.redis;
  const persistence = t.aof === null ? '' : t.aof ? ', AOF on' : ', AOF off';
  lines.push(`  redis: ${t.role}, ${t.connectedReplicas} replica(s) connected${persistence}, maxmemory-policy ${t.maxmemoryPolicy ?? 'unknown (CONFIG not allowed)'}, ackReplicas ${t.ackReplicas}`);
  for (const w of t.warnings) lines.push(`    WARNING: ${w}`);
  return `queues (prefix ${prefix}):\n${lines.join('\n')}\n`;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('queue depths, lag and rate-limit pauses, dead-lettered jobs, quarantined payloads, identity conflicts, the last resync and reconcile')
    .option('--json', 'print as JSON')
    .addHelpText('after', `\nExit ${NO_LIVE_WORKER_EXIT} when no worker is live (none beat in the last 30 s): a stopped daemon, not an idle one.\n\nExamples:\n  $ portal-sync status\n  $ portal-sync status --json | jq .queues.events.lagSeconds\n`)
    .action(async (opts: { json?: boolean }) => {
      const config = requireConfig();
      const status = await withDataRedis(config, (redis) => readStatus(redis, config));
      if (opts.json) printJson(status);
      else printText(statusText(status, config.redis.prefix));
      if (!status.workers.some((w) => w.live)) process.exitCode = NO_LIVE_WORKER_EXIT;
    });
}
