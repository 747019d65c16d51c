/** Prometheus metrics of the core: what the worker applied, merged, kept apart and scheduled. */
import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface SyncMetrics {
  applied: Counter<'source' | 'outcome'>;
  merges: Counter;
  conflicts: Counter<'system'>;
  refused: Counter<'ref' | 'reason'>;
  unattributed: Counter;
  splitOut: Counter;
  applySeconds: Histogram<'source'>;
  lagSeconds: Histogram<'source'>;
  pushesScheduled: Counter<'target'>;
  pushes: Counter<'target' | 'outcome'>;
  ties: Counter<'source'>;
  reconcileDrift: Counter<'source'>;
  reconcileLastPass: Gauge;
  reconcileLastDrift: Gauge;
  salesforceApiUsage: Gauge;
  portalSetupProblems: Gauge<'target'>;
  portalSetupCheckFailing: Gauge<'target'>;
  deflectionSessions: Counter<'outcome' | 'brand'>;
}

export function createSyncMetrics(registry: Registry): SyncMetrics {
  const registers = [registry];
  return {
    applied: new Counter({
      name: 'portal_sync_events_applied_total',
      help: 'Events applied to customer records, by source and outcome (changed, unchanged; not applied: forgotten, other_brand, no_brand).',
      labelNames: ['source', 'outcome'],
      registers,
    }),
    merges: new Counter({
      name: 'portal_sync_identity_merges_total',
      help: 'Records merged because an event proved they are one customer.',
      registers,
    }),
    conflicts: new Counter({
      name: 'portal_sync_identity_conflicts_total',
      help: 'Identity conflicts recorded (records kept apart), by system.',
      labelNames: ['system'],
      registers,
    }),
    refused: new Counter({
      name: 'portal_sync_identity_refused_total',
      help: 'Ids an event named that linked nothing (placeholder, malformed, wrong key prefix, bad checksum; a portal id naming another customer), by ref and reason.',
      labelNames: ['ref', 'reason'],
      registers,
    }),
    unattributed: new Counter({
      name: 'portal_sync_portal_unattributed_total',
      help: "Portal activity events none of whose ids has its system's shape (filed nowhere).",
      registers,
    }),
    splitOut: new Counter({
      name: 'portal_sync_events_split_out_total',
      help: 'Events that failed in a batch job and were put in a job of their own, which retries and dead-letters alone.',
      registers,
    }),
    applySeconds: new Histogram({
      name: 'portal_sync_apply_duration_seconds',
      help: 'Time to resolve identity, merge and store one event.',
      labelNames: ['source'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    lagSeconds: new Histogram({
      name: 'portal_sync_event_lag_seconds',
      help: 'Time from webhook accepted (job enqueued) to record stored.',
      labelNames: ['source'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    pushesScheduled: new Counter({
      name: 'portal_sync_pushes_scheduled_total',
      help: 'Portal pushes scheduled after a change of what the portal shows, by target.',
      labelNames: ['target'],
      registers,
    }),
    pushes: new Counter({
      name: 'portal_sync_pushes_total',
      help: 'Push jobs done, by target and outcome (written, skipped: nothing changed or nowhere to write).',
      labelNames: ['target', 'outcome'],
      registers,
    }),
    reconcileDrift: new Counter({
      name: 'portal_sync_reconcile_drift_total',
      help: 'Objects the reconciler found missing or stale in the records (lost webhooks), by source; each was fed through the pipeline.',
      labelNames: ['source'],
      registers,
    }),
    reconcileLastPass: new Gauge({
      name: 'portal_sync_reconcile_last_pass_timestamp_seconds',
      help: 'When the last reconcile pass finished (Unix seconds).',
      registers,
    }),
    reconcileLastDrift: new Gauge({
      name: 'portal_sync_reconcile_last_drift',
      help: 'Objects the last reconcile pass found drifted.',
      registers,
    }),
    salesforceApiUsage: new Gauge({
      name: 'portal_sync_salesforce_api_usage_ratio',
      help: "The Salesforce org's daily API usage as a share of its limit, as the last push's answer reported it (Sforce-Limit-Info).",
      registers,
    }),
    portalSetupProblems: new Gauge({
      name: 'portal_sync_portal_setup_problems',
      help: 'Fields and objects pushes write to that the portal platform lacks (or has with another type), as this worker last checked: alert on > 0.',
      labelNames: ['target'],
      registers,
    }),
    portalSetupCheckFailing: new Gauge({
      name: 'portal_sync_portal_setup_check_failing',
      help: "1 while this worker's last check of the portal setup could not run (platform unreachable, credentials refused): portal_sync_portal_setup_problems is then out of date, and pushes likely fail too. Alert on 1 for 30 min.",
      labelNames: ['target'],
      registers,
    }),
    deflectionSessions: new Counter({
      name: 'portal_sync_deflection_sessions_total',
      help: 'Self-service sessions started, deflected and escalated (outcome), by the Zendesk brand of their Help Center (brand: a zendesk.brands id, other, or none; unlisted brands get at most 20 labels).',
      labelNames: ['outcome', 'brand'],
      registers,
    }),
    ties: new Counter({
      name: 'portal_sync_version_ties_total',
      help: 'Writes of one object with equal source versions and different data.',
      labelNames: ['source'],
      registers,
    }),
  };
}

/** Queue depth by state and the age of the oldest waiting job, read from Redis at scrape time. */
export function registerQueueGauges(
  registry: Registry,
  queues: ReadonlyArray<Pick<Queue, 'name' | 'getJobCounts' | 'getJobs'>>,
): void {
  new Gauge({
    name: 'portal_sync_queue_jobs',
    help: 'Jobs per queue and state (waiting, active, delayed, failed = dead letters).',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      for (const q of queues) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized').catch(() => null);
        if (!counts) continue;
        for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
      }
    },
  });
  new Gauge({
    name: 'portal_sync_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting to run: how far the queue is behind real time.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      for (const q of queues) {
        const [oldest] = await q.getJobs(['waiting', 'prioritized'], -1, -1, true).catch(() => []);
        this.set({ queue: q.name }, oldest ? Math.max(0, (Date.now() - oldest.timestamp) / 1000) : 0);
      }
    },
  });
}
