/**
 * Prometheus metrics of the HTTP edge. One registry per app, so that tests and
 * several apps in one process never collide on prom-client's global registry.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface EdgeMetrics {
  registry: Registry;
  requests: Counter<'source'>;
  events: Counter<'source' | 'outcome'>;
  rejections: Counter<'source' | 'reason'>;
  ingestSeconds: Histogram<'source' | 'status'>;
  stripeOtherMode: Counter<'livemode'>;
  quarantineEvicted: Counter;
}

export function createEdgeMetrics(opts: { defaultMetrics?: boolean } = {}): EdgeMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'portal_sync_' });
  return {
    registry,
    requests: new Counter({
      name: 'portal_sync_webhook_requests_total',
      help: 'Webhook and portal event requests received, by source.',
      labelNames: ['source'],
      registers: [registry],
    }),
    events: new Counter({
      name: 'portal_sync_webhook_events_total',
      help: 'Events in verified requests, by source and outcome (accepted, duplicate, ignored, quarantined, in_flight).',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    rejections: new Counter({
      name: 'portal_sync_webhook_rejections_total',
      help: 'Requests rejected before anything was kept, by source and reason (bad_signature, stale_timestamp, too_large, malformed_body, redis_unavailable…).',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
    stripeOtherMode: new Counter({
      name: 'portal_sync_stripe_other_mode_events_total',
      help: 'Verified Stripe events of the other mode than stripe.mode (test events in a live deployment, or live in a test one): answered 200 ignored, never applied.',
      labelNames: ['livemode'],
      registers: [registry],
    }),
    ingestSeconds: new Histogram({
      name: 'portal_sync_ingest_duration_seconds',
      help: 'Time from request received to answer (verify, parse, enqueue), by source and status code.',
      labelNames: ['source', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    quarantineEvicted: new Counter({
      name: 'portal_sync_quarantine_evicted_total',
      help: 'Quarantined payloads evicted, oldest first, to stay within quarantine.maxEntries and quarantine.maxBytes.',
      registers: [registry],
    }),
  };
}
