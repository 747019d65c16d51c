/**
 * The outbound store on real Redis: attempts are kept within bounds, only a
 * lane's head can leave it, the log forgets what is past retention, and an
 * event that expired while queued is skipped (and recorded) instead of
 * blocking its customer's lane.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubscriberTransport } from '../../src/connectors/subscribers/transport.js';
import { createLogger } from '../../src/log.js';
import { createDeliveryWorker } from '../../src/sync/outbound/delivery-worker.js';
import { outboundEventId } from '../../src/sync/outbound/derive.js';
import { createOutboundQueue, kickLanes } from '../../src/sync/outbound/queue.js';
import { OutboundStore, type DeliveryAttempt } from '../../src/sync/outbound/store.js';
import type { OutboundEvent } from '../../src/sync/outbound/types.js';
import { until } from '../support/e2e.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { newSecret, startConsumer } from './support/consumer.js';

const SETTINGS = {
  concurrency: 2,
  backoffMs: 20,
  maxBackoffMs: 200,
  pauseAfterMs: 60_000,
  retentionMs: 60_000,
  attemptsKept: 10,
};
const prefix = uniquePrefix();
let redis: Redis;
let store: OutboundStore;

const event = (customer: string, n: number, at = Date.now()): OutboundEvent => ({
  id: outboundEventId(customer, n, 'customer.updated', ''),
  type: 'customer.updated',
  timestamp: new Date(at).toISOString(),
  data: {
    customer: {
      id: customer,
      version: n,
      links: { stripeCustomerId: null, salesforceAccountId: null, zendeskOrganizationId: null },
    },
  },
});
const attempt = (i: number, outcome: DeliveryAttempt['outcome'] = 'delivered'): DeliveryAttempt => ({
  at: new Date(1_000 * i).toISOString(),
  eventId: `evt_${i}`,
  type: 'customer.updated',
  customerId: 'c',
  outcome,
  status: outcome === 'delivered' ? 200 : 500,
  latencyMs: i,
});

beforeAll(() => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  store = new OutboundStore(redis, prefix, SETTINGS);
});
afterAll(async () => {
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('the outbound store', () => {
  it('keeps the newest attempts only, failures also on their own', async () => {
    for (let i = 1; i <= 15; i++) await store.recordAttempt('capped', attempt(i, i % 3 === 0 ? 'failed' : 'delivered'));
    const all = await store.attempts('capped');
    expect(all.map((a) => a.eventId)).toEqual(Array.from({ length: 10 }, (_, k) => `evt_${15 - k}`));
    expect((await store.attempts('capped', { failedOnly: true })).map((a) => a.eventId)).toEqual([
      'evt_15',
      'evt_12',
      'evt_9',
      'evt_6',
      'evt_3',
    ]);
    expect(await store.attempts('capped', { limit: 2 })).toHaveLength(2);
  });

  it('lets only the head of a lane leave it', async () => {
    const [a, b] = [event('cust_h', 1), event('cust_h', 2)];
    await store.emit({
      customerId: 'cust_h',
      events: [a, b].map((e) => ({ event: e, subscriptions: ['heads'] })),
      now: Date.now(),
    });
    expect(await store.ack('heads', 'cust_h', { ...attempt(1), eventId: b.id })).toBe(false);
    expect((await store.head('heads', 'cust_h'))?.id).toBe(a.id);
    expect(await store.ack('heads', 'cust_h', { ...attempt(1), eventId: a.id })).toBe(true);
    expect(await store.ack('heads', 'cust_h', { ...attempt(2), eventId: b.id })).toBe(true);
    expect(await store.head('heads', 'cust_h')).toBeNull();
    expect(await store.state('heads')).toMatchObject({
      pending: 0,
      customersWaiting: 0,
      lastSuccessAt: new Date(2_000).toISOString(),
    });
  });

  it('records an event id once, however often it is emitted', async () => {
    const e = event('cust_once', 1);
    const first = await store.emit({
      customerId: 'cust_once',
      events: [{ event: e, subscriptions: ['once'] }],
      now: Date.now(),
    });
    const again = await store.emit({
      customerId: 'cust_once',
      events: [{ event: e, subscriptions: ['once'] }],
      now: Date.now(),
    });
    expect(first).toEqual({ conflict: false, recorded: 1, queuedFor: ['once'] });
    expect(again).toEqual({ conflict: false, recorded: 0, queuedFor: [] });
    expect((await store.state('once')).pending).toBe(1);
  });

  it('forgets events past retention from the log', async () => {
    const old = event('cust_old', 1, Date.now() - 2 * SETTINGS.retentionMs);
    await store.emit({ customerId: 'cust_old', events: [{ event: old, subscriptions: [] }], now: Date.now() });
    const fresh = event('cust_old', 2);
    await store.emit({ customerId: 'cust_old', events: [{ event: fresh, subscriptions: [] }], now: Date.now() });
    const ids = (await store.eventsSince(0)).map((e) => e.id);
    expect(ids).toContain(fresh.id);
    expect(ids).not.toContain(old.id);
  });

  it('skips an event that expired while queued, records it, and delivers the rest of the lane', async () => {
    const secret = newSecret();
    const consumer = await startConsumer(secret);
    const [a, b, c] = [1, 2, 3].map((n) => event('cust_exp', n));
    await store.emit({
      customerId: 'cust_exp',
      events: [a!, b!, c!].map((e) => ({ event: e, subscriptions: ['expiry'] })),
      now: Date.now(),
    });
    await redis.del(store.keys.event(b!.id)); // as if retention ran out before it was sent
    const queue = createOutboundQueue(redis, prefix, 'expiry');
    const blocking = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    const worker = createDeliveryWorker({
      connection: blocking,
      prefix,
      store,
      queue,
      subscription: {
        id: 'expiry',
        url: consumer.url,
        events: ['*'],
        timeoutMs: 2_000,
        allowPrivateNetworks: true,
        secrets: [secret],
      },
      transport: createSubscriberTransport(),
      settings: SETTINGS,
      logger: createLogger('silent'),
    });
    try {
      await kickLanes(queue, 'expiry', ['cust_exp']);
      await until('the lane delivered', () => consumer.received.length === 2);
      expect(consumer.received.map((r) => r.id)).toEqual([a!.id, c!.id]);
      // The consumer has the body before the worker records the attempt: wait for the record.
      const attempts = await until('three attempts recorded', async () => {
        const all = await store.attempts('expiry');
        return all.length === 3 && all;
      });
      expect(attempts.map((x) => [x.eventId, x.outcome])).toEqual([
        [c!.id, 'delivered'],
        [b!.id, 'expired'],
        [a!.id, 'delivered'],
      ]);
      await until('the lane empty', async () => (await store.state('expiry')).pending === 0);
    } finally {
      await worker.close();
      await queue.close();
      blocking.disconnect();
      await consumer.close();
    }
  });
});
