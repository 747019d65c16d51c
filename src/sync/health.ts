/**
 * What says whether the deployment is alive, read from Redis so that every role and the CLI see
 * the same: the last reconcile pass's failed sources (and, in health-workers.ts, the workers'
 * heartbeats and each source's last webhook). Prometheus gauges collect it at scrape time.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import type { ReconcileReport } from './reconcile.js';

export function reconcileLastKey(prefix: string): string {
  return `${prefix}:reconcile:last`;
}

export async function readLastReconcile(redis: Redis, prefix: string): Promise<ReconcileReport | null> {
  const raw = await redis.get(reconcileLastKey(prefix));
  return raw === null ? null : (JSON.parse(raw) as ReconcileReport);
}

/** Gauges read from Redis when /metrics is scraped (a Redis that is away leaves them as they were). */
export function registerHealthGauges(registry: Registry, redis: Redis, prefix: string): void {
  new Gauge({
    name: 'portal_sync_reconcile_source_failed',
    help: 'Whether the last reconcile pass failed to read a source (1) or read it (0), by source: a failed source was not checked for drift.',
    labelNames: ['source'],
    registers: [registry],
    async collect() {
      const last = await readLastReconcile(redis, prefix).catch(() => undefined);
      if (!last) return;
      this.reset();
      for (const [source, s] of Object.entries(last.sources)) this.set({ source }, s.error === undefined ? 0 : 1);
    },
  });
}
