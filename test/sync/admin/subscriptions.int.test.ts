/**
 * The outbound subscriptions as an admin reads and steers them (sync/admin/subscriptions), on the real
 * Redis with a real consumer: listed with their URL's secrets masked, tested with a signed event, paused.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubscriberTransport } from '../../../src/connectors/subscribers/transport.js';
import {
  listSubscriptions,
  openOutboundAdmin,
  pauseSubscription,
  testSubscription,
  type OutboundAdmin,
} from '../../../src/sync/admin/subscriptions.js';
import type { Subscription } from '../../../src/sync/outbound/types.js';
import { newSecret, startConsumer, type Consumer } from '../../outbound/support/consumer.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const SETTINGS = { pauseAfterMs: 60_000, retentionMs: 60_000, attemptsKept: 10 };
const prefix = uniquePrefix();
const secret = newSecret();
let redis: Redis;
let consumer: Consumer;
let outbound: OutboundAdmin;
let sub: Subscription;

beforeAll(async () => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  consumer = await startConsumer(secret);
  outbound = openOutboundAdmin(redis, prefix, SETTINGS);
  const url = new URL(consumer.url);
  url.username = 'svc';
  url.password = 'hunter2';
  url.searchParams.set('token', 'abc123');
  sub = {
    id: 'billing',
    url: url.toString(),
    events: ['customer.*'],
    timeoutMs: 2_000,
    allowPrivateNetworks: true,
    secrets: [secret],
  };
});
afterAll(async () => {
  await outbound.close();
  await consumer.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('subscriptions for an admin', () => {
  it('lists a subscription with the credentials and query values of its URL masked, nothing delivered yet', async () => {
    const [listed] = await listSubscriptions(outbound.store, [sub]);
    expect(listed!.url).not.toContain('hunter2');
    expect(listed!.url).not.toContain('abc123');
    expect(listed!.url).toContain('token=***');
    expect(listed!.state).toMatchObject({ paused: false, pending: 0 });
  });

  it('sends a signed test event the consumer verifies, and records the attempt', async () => {
    const result = await testSubscription(outbound.store, sub, createSubscriberTransport());
    expect(result).toMatchObject({ subscription: 'billing', ok: true, status: 204 });
    expect(consumer.received.map((r) => r.type)).toEqual(['webhook.test']);
    const attempts = await outbound.store.attempts('billing', { failedOnly: false, limit: 5 });
    expect(attempts).toEqual([expect.objectContaining({ eventId: result.eventId, outcome: 'delivered' })]);
  });

  it('pauses a subscription with its reason, as list and status then show it', async () => {
    const state = await pauseSubscription(outbound.store, sub, 'consumer migration');
    expect(state).toMatchObject({ paused: true, pausedReason: 'consumer migration' });
    expect(state.pausedAt).toEqual(expect.any(String));
    const [listed] = await listSubscriptions(outbound.store, [sub]);
    expect(listed!.state.paused).toBe(true);
  });

  it("opens a subscription's own queue under the prefix, closed with the rest", async () => {
    const queue = outbound.queue('billing');
    expect(queue.name).toBe((await listSubscriptions(outbound.store, [sub]))[0]!.queue);
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 0 });
  });
});
