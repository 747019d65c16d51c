/**
 * The outbound service as the worker role starts it: a lane left without a
 * job (the process died between recording an event and queueing its job) is
 * picked up at start.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createSubscriberTransport } from '../../src/connectors/subscribers/transport.js';
import { createLogger } from '../../src/log.js';
import { outboundEventId } from '../../src/sync/outbound/derive.js';
import { startOutbound } from '../../src/sync/outbound/service.js';
import { OutboundStore } from '../../src/sync/outbound/store.js';
import { RecordStore } from '../../src/sync/events/store.js';
import { until } from '../support/e2e.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { newSecret, startConsumer } from './support/consumer.js';
import { FAST_OUTBOUND } from './support/setup.js';

const prefix = uniquePrefix();
afterAll(async () => deleteByPrefix(redisUrl(), prefix));

describe('the outbound service at start', () => {
  it('delivers what a lane held when the previous process died before queueing its job', async () => {
    const secret = newSecret();
    const consumer = await startConsumer(secret);
    const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    const blocking = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    const events = [1, 2].map((version) => ({
      id: outboundEventId('cust_orphan', version, 'customer.updated', ''),
      type: 'customer.updated' as const,
      timestamp: new Date().toISOString(),
      data: {
        customer: {
          id: 'cust_orphan',
          version,
          links: { stripeCustomerId: null, salesforceAccountId: null, zendeskOrganizationId: null },
        },
      },
    }));
    // Recorded and put in the lane, and then nothing: no job was ever added.
    await new OutboundStore(redis, prefix, FAST_OUTBOUND).emit({
      customerId: 'cust_orphan',
      events: events.map((event) => ({ event, subscriptions: ['restart'] })),
      now: Date.now(),
    });
    const service = await startOutbound({
      connection: blocking,
      redis,
      records: new RecordStore(redis, prefix),
      config: {
        redis: { prefix },
        outbound: FAST_OUTBOUND,
        subscriptions: [
          {
            id: 'restart',
            url: consumer.url,
            secretEnv: 'UNUSED',
            events: ['*'],
            timeoutMs: 2_000,
            allowPrivateNetworks: true,
          },
        ],
        outboundSecrets: { restart: [secret] },
      },
      transport: createSubscriberTransport(),
      logger: createLogger('silent'),
    });
    try {
      await until('the orphaned lane delivered', () => consumer.received.length === 2);
      expect(consumer.received.map((r) => r.version)).toEqual([1, 2]);
    } finally {
      await service.close();
      redis.disconnect();
      blocking.disconnect();
      await consumer.close();
    }
  });
});
