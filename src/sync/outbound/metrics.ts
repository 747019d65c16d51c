/** Prometheus metrics of outbound webhooks: events recorded, delivery attempts and their latency, and each subscription's backlog and pause. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OutboundStore } from './store.js';

export interface OutboundMetrics {
  events: Counter<'type'>;
  deliveries: Counter<'subscription' | 'outcome'>;
  deliverySeconds: Histogram<'subscription'>;
}

export function createOutboundMetrics(
  registry: Registry,
  store: OutboundStore,
  subscriptionIds: readonly string[],
): OutboundMetrics {
  const registers = [registry];
  new Gauge({
    name: 'portal_sync_outbound_pending',
    help: 'Events queued for a subscription and not delivered yet.',
    labelNames: ['subscription'],
    registers,
    async collect() {
      for (const id of subscriptionIds) {
        const s = await store.state(id).catch(() => null);
        if (s) this.set({ subscription: id }, s.pending);
      }
    },
  });
  new Gauge({
    name: 'portal_sync_outbound_paused',
    help: '1 while a subscription is paused (failing longer than outbound.pauseAfterMs, or paused by an admin).',
    labelNames: ['subscription'],
    registers,
    async collect() {
      for (const id of subscriptionIds) {
        const s = await store.state(id).catch(() => null);
        if (s) this.set({ subscription: id }, s.paused ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'portal_sync_outbound_failing_seconds',
    help: 'How long the deliveries of a subscription have been failing without a success (0 when the last one worked).',
    labelNames: ['subscription'],
    registers,
    async collect() {
      for (const id of subscriptionIds) {
        const s = await store.state(id).catch(() => null);
        if (s)
          this.set(
            { subscription: id },
            s.failingSince ? Math.max(0, (Date.now() - Date.parse(s.failingSince)) / 1000) : 0,
          );
      }
    },
  });
  return {
    events: new Counter({
      name: 'portal_sync_outbound_events_total',
      help: 'Outbound events recorded, by type.',
      labelNames: ['type'],
      registers,
    }),
    deliveries: new Counter({
      name: 'portal_sync_outbound_deliveries_total',
      help: 'Delivery attempts by subscription and outcome (delivered: 2xx in time; failed; expired: past retention before it could be sent).',
      labelNames: ['subscription', 'outcome'],
      registers,
    }),
    deliverySeconds: new Histogram({
      name: 'portal_sync_outbound_delivery_duration_seconds',
      help: "Time from sending a delivery to the subscriber's answer (or the timeout).",
      labelNames: ['subscription'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
  };
}
