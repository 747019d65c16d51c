/**
 * redis.ackReplicas on a private primary + replica: a webhook is answered 2xx only once the replica holds
 * its job; with the replica stopped it is answered 503 + Retry-After, and the provider's retry once the
 * replica is back is acknowledged (not lost as a `duplicate`) with the event enqueued exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { connectRedis, type Redis } from '../../src/sync/redis/connection.js';
import { jobIdFor } from '../../src/sync/events/source-event.js';
import { startTestDaemon, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { fixtureJson, metricValue, post } from '../support/http.js';
import { startReplicaSet, type ReplicaSet } from '../support/redis-ha.js';

let set: ReplicaSet;
let waiting: TestDaemon;
let notWaiting: TestDaemon;
/** A second web process with ackReplicas 1: a provider's retry may reach another instance than the first delivery. */
let otherWaiting: TestDaemon;
let replica: Redis;

function signed(id: string) {
  const event = fixtureJson<any>('stripe/customer.subscription.updated.json');
  event.id = id;
  const body = JSON.stringify(event);
  return { body, headers: { 'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET) } };
}
const send = (d: TestDaemon, id: string) => {
  const { body, headers } = signed(id);
  return post(d, '/webhooks/stripe', body, headers);
};
const jobKey = (d: TestDaemon, id: string) => `${d.prefix}:events:${jobIdFor('stripe', id)}`;

beforeAll(async () => {
  set = await startReplicaSet(1);
  waiting = await startTestDaemon({ REDIS_URL: set.primary.url }, (c) => {
    c.redis.ackReplicas = 1;
    c.redis.ackTimeoutMs = 1_000; // generous: a loaded machine delays the replica's ACK
  });
  notWaiting = await startTestDaemon({ REDIS_URL: set.primary.url });
  otherWaiting = await startTestDaemon({ REDIS_URL: set.primary.url, REDIS_PREFIX: waiting.prefix }, (c) => {
    c.redis.ackReplicas = 1;
    c.redis.ackTimeoutMs = 1_000; // generous: a loaded machine delays the replica's ACK
  });
  replica = connectRedis(set.replicas[0]!.url, 'worker');
  replica.on('error', () => undefined); // the replica is stopped on purpose below
}, 60_000);

afterAll(async () => {
  replica?.disconnect();
  await waiting?.close();
  await notWaiting?.close();
  await otherWaiting?.close();
  await set?.stop();
});

describe('acknowledging only what a replica holds (redis.ackReplicas: 1)', () => {
  it('answers 200 once the replica holds the job, which it then does', async () => {
    const res = await send(waiting, 'evt_ack_replica_held_1');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 1 });
    expect(await replica.exists(jobKey(waiting, 'evt_ack_replica_held_1'))).toBe(1);
  });

  it('answers 503 + Retry-After while the replica is stopped, and acknowledges the retry exactly once when it is back', async () => {
    await set.replicas[0]!.kill();
    const refused = await send(waiting, 'evt_ack_replica_down_1');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(
      await metricValue(waiting, 'portal_sync_webhook_rejections_total', {
        source: 'stripe',
        reason: 'replica_ack_timeout',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(waiting.logs.join('')).toMatch(/not yet held by enough replicas/);

    // The provider retries while the replica is still away: still not acknowledged, still not lost.
    expect((await send(waiting, 'evt_ack_replica_down_1')).status).toBe(503);

    await set.replicas[0]!.start();
    await set.synced();
    const retried = await send(waiting, 'evt_ack_replica_down_1');
    expect(retried.status).toBe(200);
    // The first delivery's job is the one enqueued: the retry adds nothing, and the replica holds it now.
    expect(retried.json()).toMatchObject({ accepted: 0, duplicate: 1 });
    const jobs = await waiting.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'prioritized']);
    expect(jobs.filter((j) => j.id === jobIdFor('stripe', 'evt_ack_replica_down_1'))).toHaveLength(1);
    expect(await replica.exists(jobKey(waiting, 'evt_ack_replica_down_1'))).toBe(1);
  });

  it('does not acknowledge a retry on another instance while the replica hangs, and acknowledges it once when it answers again', async () => {
    // A hung replica stays attached: WAIT counts it only for the writes it has confirmed.
    set.replicas[0]!.pause();
    try {
      expect((await send(waiting, 'evt_ack_replica_hung_1')).status).toBe(503);
      // The retry reaches the other web process, which wrote nothing of this event: the mark says `done`, but
      // no replica holds the job, so it must not answer 2xx.
      const early = await send(otherWaiting, 'evt_ack_replica_hung_1');
      expect(early.status).toBe(503);
    } finally {
      set.replicas[0]!.resume();
    }
    await set.synced();
    const retried = await send(otherWaiting, 'evt_ack_replica_hung_1');
    expect(retried.status).toBe(200);
    expect(retried.json()).toMatchObject({ accepted: 0, duplicate: 1 });
    const jobs = await waiting.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'prioritized']);
    expect(jobs.filter((j) => j.id === jobIdFor('stripe', 'evt_ack_replica_hung_1'))).toHaveLength(1);
    expect(await replica.exists(jobKey(waiting, 'evt_ack_replica_hung_1'))).toBe(1);
  });

  it('acknowledges at once with ackReplicas 0, replica or not (what the setting changes)', async () => {
    await set.replicas[0]!.kill();
    try {
      expect((await send(notWaiting, 'evt_ack_primary_only_1')).status).toBe(200);
      expect((await send(waiting, 'evt_ack_primary_only_2')).status).toBe(503);
    } finally {
      await set.replicas[0]!.start();
      await set.synced();
    }
  });
});
