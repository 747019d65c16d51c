/**
 * What `portal-sync status` and the admin dashboard show: queue depths, lag and rate-limit pauses, dead
 * letters, quarantine, identity conflicts, outbound subscriptions, the last reconcile and resync, bulk
 * backlogs, workers' heartbeats and the Redis topology. Read only: queues are opened without writing their
 * meta keys.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { bulkBacklog, type BulkBacklog } from '../push/bulk.js';
import { DEFLECTION_QUEUE } from '../deflection/queue.js';
import {
  configuredWebhookSources,
  readLastReconcile,
  readLastWebhooks,
  readWorkers,
  type ReconcileReport,
  type WebhookSecrets,
  type WorkerHealth,
} from '../health.js';
import { outboundQueueName } from '../outbound/queue.js';
import type { OutboundSettings } from '../outbound/settings.js';
import { OutboundStore, type SubscriptionState } from '../outbound/store.js';
import { PUSH_QUEUES } from '../push/planner.js';
import type { QuarantineLimits } from '../events/quarantine.js';
import { QuarantineStore } from '../events/quarantine.js';
import { QUEUES } from '../events/queue.js';
import { openQueue } from '../queues.js';
import type { QueueName } from '../redis/keys.js';
import { readRedisTopology, topologyWarnings, type RedisTopology } from '../redis/connection.js';
import { ResyncRuns, type ResyncRunInfo } from '../resync/runs.js';
import { readSetupChecks, type SetupCheck } from '../push/setup-check.js';
import { RecordStore } from '../events/store.js';
import type { PortalTargetName } from '../target-names.js';

/** The part of the configuration the status reads (the app's Config is one). */
export interface StatusSettings extends WebhookSecrets {
  redis: { prefix: string; ackReplicas: number };
  quarantine: QuarantineLimits;
  outbound: Pick<OutboundSettings, 'retentionMs' | 'attemptsKept' | 'pauseAfterMs'>;
  subscriptions: ReadonlyArray<{ id: string }>;
  portal: WebhookSecrets['portal'] & { targets: readonly PortalTargetName[] };
}

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
  /** Per portal target a worker checks (push/setup-check.ts): what its platform lacks of what pushes write to, and when. */
  portalSetup: Partial<Record<PortalTargetName, SetupCheck>>;
  /** Every worker that beat in the last week (role, host, pid, last seen, live); none live: `status` exits 3. */
  workers: WorkerHealth[];
  /** Per source whose receiver is configured: when its last verified webhook arrived (null: never). */
  lastWebhooks: Record<string, string | null>;
  /** The Redis read (the primary), its replicas and settings, and what to fix given redis.ackReplicas. */
  redis: RedisTopology & { ackReplicas: number; warnings: string[] };
}

/** The window of the per-minute rates. */
export const RATE_WINDOW_MINUTES = 15;

async function queueStatus(redis: Redis, prefix: string, name: QueueName): Promise<QueueStatus> {
  const queue = openQueue(name, redis, prefix, { readOnly: true }); // status only reads
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
export function statusQueueNames(config: Pick<StatusSettings, 'subscriptions'>): QueueName[] {
  return [QUEUES.events, ...PUSH_QUEUES, DEFLECTION_QUEUE, ...config.subscriptions.map((s) => outboundQueueName(s.id))];
}

export async function readStatus(redis: Redis, config: StatusSettings): Promise<Status> {
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
    subscriptions: await Promise.all(
      config.subscriptions.map((s) => new OutboundStore(redis, prefix, config.outbound).state(s.id)),
    ),
    reconcile: await readLastReconcile(redis, prefix),
    resync: await new ResyncRuns(redis, prefix).latest(),
    bulk: Object.fromEntries(
      await Promise.all(config.portal.targets.map(async (t) => [t, await bulkBacklog(redis, prefix, t)] as const)),
    ),
    portalSetup: await readSetupChecks(redis, prefix, config.portal.targets),
    workers: await readWorkers(redis, prefix),
    lastWebhooks: await readLastWebhooks(redis, prefix, configuredWebhookSources(config)),
    redis: {
      ...topology,
      ackReplicas: config.redis.ackReplicas,
      warnings: topologyWarnings(topology, config.redis.ackReplicas),
    },
  };
}
