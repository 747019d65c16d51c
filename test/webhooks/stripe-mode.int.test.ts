/**
 * Test and live mode are never mixed: a deployment runs in one Stripe mode (stripe.mode, by default
 * the secret key's), answers events of the other mode 200 `ignored`, counts and logs them, and never
 * applies them; a secret key of the other mode is a configuration error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { loadConfig } from '../../src/config.js';
import { startTestDaemon, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { fixtureJson, metricValue, post, queuedJobs } from '../support/http.js';
import { redisUrl } from '../support/redis.js';

let daemon: TestDaemon;
let seq = 0;

function send(livemode: boolean) {
  const event = fixtureJson<any>('stripe/customer.subscription.updated.json');
  event.id = `evt_mode_${process.pid}_${seq++}`;
  event.livemode = livemode;
  event.data.object.livemode = livemode;
  const body = JSON.stringify(event);
  return post(daemon, '/webhooks/stripe', body, {
    'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
  }).then((r) => ({ r, event }));
}

beforeAll(async () => {
  daemon = await startTestDaemon({ STRIPE_SECRET_KEY: 'sk_test_FAKE_not_a_real_key_for_tests' });
});
afterAll(async () => {
  await daemon.stop();
});

describe('a test-mode deployment', () => {
  it('takes its mode from the secret key: a live event is answered 200 ignored, counted, logged, and never queued', async () => {
    expect(daemon.config.stripe.mode).toBe('test');
    const { r, event } = await send(true);
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ accepted: 0, ignored: 1 });
    expect((await queuedJobs(daemon)).filter((j) => j.data.eventId === event.id)).toHaveLength(0);
    expect(await metricValue(daemon, 'portal_sync_stripe_other_mode_events_total', { livemode: 'true' })).toBe(1);
    expect(daemon.logs.join('')).toMatch(
      /"livemode":true.*Stripe event of the other mode ignored \(stripe\.mode is test\)/,
    );
    const { r: same } = await send(false);
    expect(same.json()).toMatchObject({ accepted: 1 });
  });
});

describe('stripe.mode', () => {
  const env = { REDIS_URL: redisUrl(), PORT: '0' };
  it('is read from the key prefix, and a key of the other mode than the configured one is refused with both named', () => {
    const live = loadConfig({ ...env, STRIPE_SECRET_KEY: 'rk_live_FAKE_not_a_real_key_for_tests' });
    expect(live.ok && live.config.stripe.mode).toBe('live');
    const mixed = loadConfig({
      ...env,
      STRIPE_SECRET_KEY: 'sk_live_FAKE_not_a_real_key_for_tests',
      PORTAL_SYNC_CONFIG: 'test/fixtures/config/stripe-test-mode.yaml',
    });
    expect(mixed.ok).toBe(false);
    expect(mixed.ok ? [] : mixed.problems).toContain(
      "STRIPE_SECRET_KEY: a live key, but stripe.mode is test: resync and reconcile would read the other mode's objects",
    );
  });
});
