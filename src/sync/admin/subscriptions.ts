/**
 * The outbound webhook subscriptions as `webhooks list` and `webhooks test` read them: each with its URL
 * (credentials and query values masked: they may carry tokens), its events, its queue and its state in
 * Redis; and a signed test event sent now and recorded like any attempt.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createOutboundQueue, outboundQueueName, type OutboundQueue } from '../outbound/queue.js';
import type { OutboundSettings } from '../outbound/settings.js';
import { OutboundStore, type DeliveryAttempt, type SubscriptionState } from '../outbound/store.js';
import { TEST_EVENT_TYPE, type Subscription, type SubscriberTransport } from '../outbound/types.js';

export interface SubscriptionListing {
  id: string;
  url: string;
  events: readonly string[];
  requires: readonly string[];
  timeoutMs: number;
  queue: string;
  state: SubscriptionState;
}

/** An admin's handle on the outbound side: its store, and the subscriptions' queues, opened when asked for and closed together. */
export interface OutboundAdmin {
  store: OutboundStore;
  queue(subscriptionId: string): OutboundQueue;
  close(): Promise<void>;
}

export function openOutboundAdmin(
  redis: Redis,
  prefix: string,
  settings: Pick<OutboundSettings, 'retentionMs' | 'attemptsKept' | 'pauseAfterMs'>,
): OutboundAdmin {
  const queues: OutboundQueue[] = [];
  return {
    store: new OutboundStore(redis, prefix, settings),
    queue: (id) => {
      const q = createOutboundQueue(redis, prefix, id);
      queues.push(q);
      return q;
    },
    close: async () => void (await Promise.all(queues.map((q) => q.close()))),
  };
}

/** Stops deliveries to `sub` (new events still join its lanes, in order) and gives its state as it is now. */
export async function pauseSubscription(
  store: OutboundStore,
  sub: Subscription,
  reason: string,
): Promise<SubscriptionState> {
  await store.pause(sub.id, reason);
  return store.state(sub.id);
}

/** The URL without credentials or query values: it may carry a token. */
function redactSubscriberUrl(url: string): string {
  const u = new URL(url);
  if (u.username || u.password) [u.username, u.password] = ['***', ''];
  for (const key of [...u.searchParams.keys()]) u.searchParams.set(key, '***');
  return u.toString();
}

export async function listSubscriptions(
  store: OutboundStore,
  subs: readonly Subscription[],
): Promise<SubscriptionListing[]> {
  return Promise.all(
    subs.map(async (s) => ({
      id: s.id,
      url: redactSubscriberUrl(s.url),
      events: s.events,
      requires: s.requires ?? [],
      timeoutMs: s.timeoutMs,
      queue: outboundQueueName(s.id),
      state: await store.state(s.id),
    })),
  );
}

/**
 * Sends one signed `webhook.test` event now, outside the queue, through `transport` (the connector's
 * subscriber transport: the core makes no HTTP call itself), and records the attempt.
 */
export async function testSubscription(
  store: OutboundStore,
  sub: Subscription,
  transport: SubscriberTransport,
  now = new Date(),
): Promise<
  { subscription: string; eventId: string } & Pick<DeliveryAttempt, 'status' | 'latencyMs' | 'error'> & { ok: boolean }
> {
  const id = `evt_test_${randomUUID().replaceAll('-', '')}`;
  const body = JSON.stringify({
    id,
    type: TEST_EVENT_TYPE,
    timestamp: now.toISOString(),
    data: { customer: null, subscription: sub.id },
  });
  const result = await transport(sub, { id, body });
  await store.recordAttempt(sub.id, {
    at: now.toISOString(),
    eventId: id,
    type: TEST_EVENT_TYPE,
    customerId: null,
    outcome: result.ok ? 'delivered' : 'failed',
    status: result.status,
    latencyMs: result.latencyMs,
    ...(result.error ? { error: result.error } : {}),
  });
  return {
    subscription: sub.id,
    eventId: id,
    ok: result.ok,
    status: result.status,
    latencyMs: result.latencyMs,
    ...(result.error ? { error: result.error } : {}),
  };
}
