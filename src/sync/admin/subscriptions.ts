/**
 * The outbound webhook subscriptions as `webhooks list` and `webhooks test` read them: each with its URL
 * (credentials and query values masked: they may carry tokens), its events, its queue and its state in
 * Redis; and a signed test event sent now and recorded like any attempt.
 */
import { randomUUID } from 'node:crypto';
import { outboundQueueName } from '../outbound/queue.js';
import type { DeliveryAttempt, OutboundStore, SubscriptionState } from '../outbound/store.js';
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
