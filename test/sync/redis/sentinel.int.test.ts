/**
 * Sentinel mode end to end, on a private primary + replica and three sentinels: the daemon and the CLI's
 * connection find the primary through the sentinels (REDIS_URL's host is never used), and a wrong master
 * name is an error that names the settings to check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRedis } from '../../../src/cli/connect.js';
import { signStripePayload } from '../../../src/connectors/stripe/webhook.js';
import { connectRedis } from '../../../src/sync/redis/connection.js';
import { jobIdFor } from '../../../src/sync/events/source-event.js';
import { startTestDaemon, TEST_SECRETS, testConfig, type TestDaemon } from '../../support/daemon.js';
import { fixtureJson, post } from '../../support/http.js';
import { startReplicaSet, startSentinels, type ReplicaSet, type SentinelSet } from '../../support/redis-ha.js';

let set: ReplicaSet;
let sentinels: SentinelSet;
let daemon: TestDaemon;
// Nothing listens on port 1: were REDIS_URL's host used, nothing would connect.
const env = () => ({
  REDIS_URL: 'redis://127.0.0.1:1',
  REDIS_SENTINELS: sentinels.addresses,
  REDIS_SENTINEL_MASTER: sentinels.master,
});

beforeAll(async () => {
  set = await startReplicaSet(1);
  sentinels = await startSentinels(set.primary.port, set.dir, 3);
  daemon = await startTestDaemon(env());
}, 60_000);

afterAll(async () => {
  await daemon?.close();
  await sentinels?.stop();
  await set?.stop();
});

describe('Redis through Sentinel', () => {
  it('lets the daemon accept a webhook into the primary the sentinels name', async () => {
    expect((await fetch(`${daemon.url}/readyz`)).status).toBe(200);
    const event = fixtureJson<any>('stripe/customer.subscription.updated.json');
    event.id = 'evt_sentinel_mode_1';
    const body = JSON.stringify(event);
    const res = await post(daemon, '/webhooks/stripe', body, {
      'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
    });
    expect(res.status).toBe(200);
    const primary = connectRedis(set.primary.url, 'admin');
    try {
      expect(await primary.exists(`${daemon.prefix}:events:${jobIdFor('stripe', 'evt_sentinel_mode_1')}`)).toBe(1);
    } finally {
      primary.disconnect();
    }
  });

  it("gives the CLI's commands the primary through the sentinels", async () => {
    const role = await withRedis(testConfig(env()), async (redis) => (await redis.call('ROLE')) as [string]);
    expect(role[0]).toBe('master');
  });

  it('names the Sentinel settings when the master name is unknown to the sentinels', async () => {
    await expect(
      withRedis(testConfig({ ...env(), REDIS_SENTINEL_MASTER: 'no-such-master' }), async (r) => r.ping()),
    ).rejects.toThrow(
      /cannot reach Redis at sentinel no-such-master via .*check REDIS_SENTINELS and REDIS_SENTINEL_MASTER/,
    );
  });
});
