/**
 * What says whether the deployment is alive, kept in Redis so that every role and the CLI see the
 * same: workers' heartbeats (role, host, pid, last seen), when each source's last verified webhook
 * arrived, and the last reconcile pass's failed sources. Prometheus gauges collect it at scrape time.
 */
import { hostname } from 'node:os';
import { Gauge, type Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import type { Source } from './source-names.js';
import { REDIS_KEYS } from './redis/keys.js';

/** One source's part of a reconcile pass (written by resync/reconcile.ts, read here for `status` and the gauges). */
export interface SourceReport {
  since: string;
  read: number;
  drift: number;
  error?: string;
  /** The platform's HTTP status of the failure, when it answered with one (401: a refused key). */
  status?: number;
}

/** A reconcile pass, as the last one is kept for `status`, the dashboard and the gauges. */
export interface ReconcileReport {
  startedAt: string;
  finishedAt: string;
  seconds: number;
  sources: Partial<Record<Source, SourceReport>>;
  drift: number;
  /** `source kind objectId` of drifted objects, the first MAX_DRIFT_IDS of them. */
  driftIds: string[];
}

/** A worker beats this often; it counts as live while its last beat is younger than LIVE_WITHIN_MS. */
const HEARTBEAT_EVERY_MS = 10_000;
export const LIVE_WITHIN_MS = 3 * HEARTBEAT_EVERY_MS;
/** Beats of workers gone for longer than this are dropped (by the next live worker's beat). */
const FORGET_AFTER_MS = 7 * 86_400_000;

interface WorkerBeat {
  role: string;
  host: string;
  pid: number;
  startedAt: string;
  lastSeenAt: string;
  /** Set when the worker stopped cleanly; a worker killed outright just stops beating. */
  stoppedAt?: string;
}

export interface WorkerHealth extends WorkerBeat {
  live: boolean;
  lastSeenSecondsAgo: number;
}

/** Beats now and every HEARTBEAT_EVERY_MS; stop() records a clean stop. A beat that fails is retried at the next one. */
export function startHeartbeat(
  redis: Redis,
  prefix: string,
  role: string,
  now: () => number = Date.now,
): { stop(): Promise<void> } {
  const key = REDIS_KEYS.health(prefix).workers;
  const beat: WorkerBeat = {
    role,
    host: hostname(),
    pid: process.pid,
    startedAt: new Date(now()).toISOString(),
    lastSeenAt: '',
  };
  const field = `${beat.role}:${beat.host}:${beat.pid}`;
  const write = async (extra: Partial<WorkerBeat> = {}) => {
    beat.lastSeenAt = new Date(now()).toISOString();
    await redis.hset(key, field, JSON.stringify({ ...beat, ...extra }));
    const stale = Object.entries(await redis.hgetall(key)).filter(
      ([, v]) => now() - Date.parse((JSON.parse(v) as WorkerBeat).lastSeenAt) > FORGET_AFTER_MS,
    );
    if (stale.length > 0) await redis.hdel(key, ...stale.map(([f]) => f));
  };
  void write().catch(() => undefined);
  const timer = setInterval(() => void write().catch(() => undefined), HEARTBEAT_EVERY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await write({ stoppedAt: new Date(now()).toISOString() }).catch(() => undefined);
    },
  };
}

/** Every worker that beat in the last week, newest first. */
export async function readWorkers(redis: Redis, prefix: string, now = Date.now()): Promise<WorkerHealth[]> {
  const beats = Object.values(await redis.hgetall(REDIS_KEYS.health(prefix).workers)).map(
    (v) => JSON.parse(v) as WorkerBeat,
  );
  return beats
    .map((b) => {
      const age = now - Date.parse(b.lastSeenAt);
      return {
        ...b,
        live: b.stoppedAt === undefined && age <= LIVE_WITHIN_MS,
        lastSeenSecondsAgo: Math.max(0, Math.round(age / 1000)),
      };
    })
    .sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt));
}

/** What says which receivers are on: the secrets (or org id) each source's webhooks are verified with. */
export interface WebhookSecrets {
  /** Every Stripe account's endpoints (account and Connect) count. */
  stripe: {
    accounts: ReadonlyArray<{ webhookSecrets: readonly unknown[]; connectWebhookSecrets: readonly unknown[] }>;
  };
  zendesk: { webhookSecrets: readonly unknown[] };
  salesforceAuth: { orgId?: string | undefined; webhookSecret?: string | undefined };
  portal: { eventsSecret?: string | undefined };
}

/** The sources whose receivers this configuration switches on (the ones whose silence means something). */
export function configuredWebhookSources(config: WebhookSecrets): string[] {
  const sf = config.salesforceAuth;
  const on: Array<[string, unknown]> = [
    ['stripe', config.stripe.accounts.some((a) => a.webhookSecrets.length + a.connectWebhookSecrets.length > 0)],
    ['zendesk', config.zendesk.webhookSecrets.length],
    ['salesforce', sf.orgId || sf.webhookSecret],
    ['portal', config.portal.eventsSecret],
  ];
  return on.filter(([, yes]) => Boolean(yes)).map(([source]) => source);
}

/** A verified webhook of `source` arrived now. */
export async function noteWebhook(redis: Redis, prefix: string, source: string, now = Date.now()): Promise<void> {
  await redis.hset(REDIS_KEYS.health(prefix).webhooks, source, String(now));
}

/** When each of `sources` last sent a verified webhook (null: never, as far as this prefix knows). */
export async function readLastWebhooks(
  redis: Redis,
  prefix: string,
  sources: readonly string[],
): Promise<Record<string, string | null>> {
  if (sources.length === 0) return {};
  const values = await redis.hmget(REDIS_KEYS.health(prefix).webhooks, ...sources);
  return Object.fromEntries(sources.map((s, i) => [s, values[i] ? new Date(Number(values[i])).toISOString() : null]));
}

export async function readLastReconcile(redis: Redis, prefix: string): Promise<ReconcileReport | null> {
  const raw = await redis.get(REDIS_KEYS.reconcile(prefix).last);
  return raw === null ? null : (JSON.parse(raw) as ReconcileReport);
}

export function reconcileLastKey(prefix: string): string {
  return REDIS_KEYS.reconcile(prefix).last;
}

/** Gauges read from Redis when /metrics is scraped (a Redis that is away leaves them as they were). */
export function registerHealthGauges(
  registry: Registry,
  redis: Redis,
  prefix: string,
  webhookSources: readonly string[],
): void {
  const registers = [registry];
  new Gauge({
    name: 'portal_sync_reconcile_source_failed',
    help: 'Whether the last reconcile pass failed to read a source (1) or read it (0), by source: a failed source was not checked for drift.',
    labelNames: ['source'],
    registers,
    async collect() {
      const last = await readLastReconcile(redis, prefix).catch(() => undefined);
      if (!last) return;
      this.reset();
      for (const [source, s] of Object.entries(last.sources)) this.set({ source }, s.error === undefined ? 0 : 1);
    },
  });
  const workers = async () => readWorkers(redis, prefix).catch(() => undefined);
  new Gauge({
    name: 'portal_sync_workers_live',
    help: `Workers whose heartbeat is younger than ${LIVE_WITHIN_MS / 1000} s (0: nothing applies events).`,
    registers,
    async collect() {
      const all = await workers();
      if (all) this.set(all.filter((w) => w.live).length);
    },
  });
  new Gauge({
    name: 'portal_sync_worker_last_seen_timestamp_seconds',
    help: 'When each worker last beat (Unix seconds), by role, host and pid.',
    labelNames: ['role', 'host', 'pid'],
    registers,
    async collect() {
      const all = await workers();
      if (!all) return;
      this.reset();
      for (const w of all)
        this.set({ role: w.role, host: w.host, pid: String(w.pid) }, Date.parse(w.lastSeenAt) / 1000);
    },
  });
  new Gauge({
    name: 'portal_sync_last_webhook_timestamp_seconds',
    help: 'When the last verified webhook of each configured source arrived (Unix seconds; absent: none yet).',
    labelNames: ['source'],
    registers,
    async collect() {
      const last = await readLastWebhooks(redis, prefix, webhookSources).catch(() => undefined);
      if (!last) return;
      for (const [source, at] of Object.entries(last)) if (at) this.set({ source }, Date.parse(at) / 1000);
    },
  });
}
