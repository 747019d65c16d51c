/** A signed event dated far in the future (or absurdly far in the past) is answered 202 and quarantined with the reason, never applied. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { signHmac } from '../../src/webhooks/hmac.js';
import { startTestDaemon, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { fixtureJson, post, queuedJobs } from '../support/http.js';

let daemon: TestDaemon;
beforeAll(async () => {
  // The shipped bounds (config/default.yaml), not the test support's wide ones for recorded fixtures.
  daemon = await startTestDaemon({}, (c) => {
    c.webhooks.maxFutureSkewSeconds = { stripe: 300, salesforce: 300, zendesk: 300, portal: 900 };
  });
});
afterAll(async () => {
  await daemon.stop();
});

const portal = (id: string, occurredAt: string) => ({
  id,
  type: 'session_start',
  occurred_at: occurredAt,
  contact: { email: 'time@example.com' },
  session_id: `s-${id}`,
});
const sendPortal = (body: string) =>
  post(daemon, '/events/portal', body, {
    'x-portal-sync-signature': signHmac(body, TEST_SECRETS.PORTAL_EVENTS_SECRET),
  });

describe('event times out of bounds', () => {
  it('portal activity dated 9999-12-31 is quarantined with the reason, and its in-bounds neighbour is accepted', async () => {
    const body = JSON.stringify({
      events: [portal('t-far', '9999-12-31T00:00:00Z'), portal('t-now', new Date().toISOString())],
    });
    const res = await sendPortal(body);
    expect(res.status).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 1, quarantined: 1 });
    const queued = (await queuedJobs(daemon)).map((j) => j.data.eventId);
    expect(queued).toContain('t-now');
    expect(queued).not.toContain('t-far');
    const entry = (await daemon.ingestor.listQuarantine()).find((q) => q.eventId === 't-far');
    expect(entry?.reason).toMatch(/9999-12-31.*ahead of this server's clock.*webhooks\.maxFutureSkewSeconds\.portal/);
  });

  it('portal activity dated 1971 is quarantined as too old', async () => {
    const res = await sendPortal(JSON.stringify(portal('t-old', '1971-06-01T00:00:00Z')));
    expect(res.status).toBe(202);
    expect((await daemon.ingestor.listQuarantine()).find((q) => q.eventId === 't-old')?.reason).toMatch(
      /webhooks\.oldestEventTime/,
    );
  });

  it('a Stripe event created an hour ahead is quarantined, not applied', async () => {
    const event = fixtureJson<any>('stripe/customer.subscription.updated.json');
    event.id = `evt_future_${Date.now()}`;
    event.created = Math.floor(Date.now() / 1000) + 3600;
    const body = JSON.stringify(event);
    const res = await post(daemon, '/webhooks/stripe', body, {
      'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
    });
    expect(res.status).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 0, quarantined: 1 });
    expect((await queuedJobs(daemon)).some((j) => j.data.eventId === event.id)).toBe(false);
    expect((await daemon.ingestor.listQuarantine()).find((q) => q.eventId === event.id)?.reason).toMatch(
      /webhooks\.maxFutureSkewSeconds\.stripe/,
    );
  });
});
