import { describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { SourceEventSchema } from '../../src/sync/events/source-event.js';
import { testDaemonForFile, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { fixtureJson, metricValue, post, queuedJobs } from '../support/http.js';

const secret = TEST_SECRETS.STRIPE_WEBHOOK_SECRET;
let daemon: TestDaemon;
let seq = 0;

/** A real-shaped Stripe event with a fresh id, signed the way Stripe signs it. */
function stripeEvent(file = 'customer.subscription.updated.json', edit: (e: any) => void = () => undefined) {
  const event = fixtureJson<any>(`stripe/${file}`);
  event.id = `evt_edge_${Date.now()}_${seq++}`;
  edit(event);
  const body = JSON.stringify(event);
  return { event, body, headers: { 'stripe-signature': signStripePayload(body, secret) } };
}

testDaemonForFile((d) => (daemon = d));

describe('POST /webhooks/stripe', () => {
  it('enqueues a signed event once, however often Stripe delivers it', async () => {
    const { event, body, headers } = stripeEvent();
    const first = await post(daemon, '/webhooks/stripe', body, headers);
    const second = await post(daemon, '/webhooks/stripe', body, {
      'stripe-signature': signStripePayload(body, secret),
    });
    expect(first.status).toBe(200);
    expect(first.json()).toMatchObject({ accepted: 1, duplicate: 0 });
    expect(second.status).toBe(200);
    expect(second.json()).toMatchObject({ accepted: 0, duplicate: 1 });
    const jobs = (await queuedJobs(daemon)).filter((j) => j.data.eventId === event.id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.id).toBe(`stripe-${event.id}`);
    const job = SourceEventSchema.parse(jobs[0]!.data);
    expect(job).toMatchObject({
      source: 'stripe',
      type: 'customer.subscription.updated',
      objectId: event.data.object.id,
    });
    expect(job.refs.stripeCustomerId).toBe(event.data.object.customer);
  });

  it('still drops the redelivery after BullMQ has removed the completed job', async () => {
    const { event, body } = stripeEvent();
    expect(
      (await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': signStripePayload(body, secret) })).status,
    ).toBe(200);
    await daemon.queue.obliterate({ force: true }); // as if the job had been processed and cleaned up
    const again = await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': signStripePayload(body, secret) });
    expect(again.json()).toMatchObject({ duplicate: 1, accepted: 0 });
    expect((await queuedJobs(daemon)).filter((j) => j.data.eventId === event.id)).toHaveLength(0);
  });

  it('answers 503 while another delivery of the same event is being enqueued, so that Stripe comes back', async () => {
    const { event, body, headers } = stripeEvent();
    const key = daemon.ingestor.seenKey({ source: 'stripe', eventId: event.id });
    await daemon.redis.set(key, `pending:${Date.now()}`, 'EX', 60);
    const res = await post(daemon, '/webhooks/stripe', body, headers);
    expect(res.status).toBe(503);
    expect((await queuedJobs(daemon)).filter((j) => j.data.eventId === event.id)).toHaveLength(0);
  });

  it('takes over a claim left by a process or Redis that died between claim and enqueue, instead of refusing for a minute', async () => {
    const { event, body, headers } = stripeEvent();
    const key = daemon.ingestor.seenKey({ source: 'stripe', eventId: event.id });
    // Older than the enqueue deadline (server.enqueueTimeoutMs): nobody is enqueueing it any more.
    await daemon.redis.set(key, `pending:${Date.now() - daemon.config.server.enqueueTimeoutMs - 1_000}`, 'EX', 60);
    const res = await post(daemon, '/webhooks/stripe', body, headers);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 1 });
    expect((await queuedJobs(daemon)).filter((j) => j.data.eventId === event.id)).toHaveLength(1);
    expect(await daemon.redis.get(key)).toBe('done');
    // The job had landed and only the commit was lost: taking over queues it once all the same.
    await daemon.redis.set(key, `pending:${Date.now() - daemon.config.server.enqueueTimeoutMs - 1_000}`, 'EX', 60);
    expect(
      (await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': signStripePayload(body, secret) })).status,
    ).toBe(200);
    expect((await queuedJobs(daemon)).filter((j) => j.data.eventId === event.id)).toHaveLength(1);
  });

  it('refuses a payload whose signature does not match, and keeps nothing', async () => {
    const { event, body } = stripeEvent();
    const forged = signStripePayload(body, 'whsec_some_other_secret');
    const res = await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': forged });
    expect(res.status).toBe(401);
    expect(res.json().reason).toBe('bad_signature');
    expect((await queuedJobs(daemon)).some((j) => j.data.eventId === event.id)).toBe(false);
  });

  it('refuses a body changed after signing', async () => {
    const { event, body, headers } = stripeEvent();
    const tampered = body.replace('"active"', '"canceled"');
    expect(tampered).not.toBe(body);
    const res = await post(daemon, '/webhooks/stripe', tampered, headers);
    expect(res.status).toBe(401);
    expect((await queuedJobs(daemon)).some((j) => j.data.eventId === event.id)).toBe(false);
  });

  it('answers 400 when the Stripe-Signature header is missing', async () => {
    const { event, body } = stripeEvent();
    const res = await post(daemon, '/webhooks/stripe', body);
    expect(res.status).toBe(400);
    expect(res.json().reason).toBe('missing_signature');
    expect((await queuedJobs(daemon)).some((j) => j.data.eventId === event.id)).toBe(false);
  });

  it('refuses a signature dated in the future, however its header is written', async () => {
    const { event, body } = stripeEvent();
    const future = Math.floor(Date.now() / 1000) + 3_600;
    const signed = signStripePayload(body, secret, future); // t=<future>,v1=<sig>
    const v1 = signed.split(',').find((kv) => kv.startsWith('v1='))!;
    // The SDK reads the last t= with parseInt: a header that shows another time first, or a number with a tail, still verifies.
    for (const header of [signed, `t=${future - 3_600},t=${future},${v1}`, `t=${future}x,${v1}`]) {
      const res = await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': header });
      expect(res.status, header.slice(0, 30)).toBe(401);
      expect(res.json().reason).toBe('stale_timestamp');
    }
    expect((await queuedJobs(daemon)).some((j) => j.data.eventId === event.id)).toBe(false);
  });

  it('refuses a replayed delivery signed more than 300 s ago', async () => {
    const { event, body } = stripeEvent();
    const old = signStripePayload(body, secret, Math.floor(Date.now() / 1000) - 301);
    const res = await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': old });
    expect(res.status).toBe(401);
    expect(res.json().reason).toBe('stale_timestamp');
    expect((await queuedJobs(daemon)).some((j) => j.data.eventId === event.id)).toBe(false);
  });

  it('answers 413 to a body over 1 MiB without reading it into the queue', async () => {
    const { body } = stripeEvent('customer.subscription.updated.json', (e) => {
      e.id = 'evt_too_large';
      e.data.object.metadata = { padding: 'x'.repeat(1024 * 1024) };
    });
    const res = await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': signStripePayload(body, secret) });
    expect(res.status).toBe(413);
    expect((await queuedJobs(daemon)).some((j) => j.data.eventId === 'evt_too_large')).toBe(false);
    expect(
      await metricValue(daemon, 'portal_sync_webhook_rejections_total', { source: 'stripe', reason: 'too_large' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('answers 400 to a correctly signed body that is not JSON', async () => {
    const body = '{"id": "evt_broken", "object": "event", ';
    const res = await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': signStripePayload(body, secret) });
    expect(res.status).toBe(400);
    expect(res.json().reason).toBe('malformed_body');
  });

  it('acknowledges an event type it does not use, counts it, and enqueues nothing', async () => {
    const before = await metricValue(daemon, 'portal_sync_webhook_events_total', {
      source: 'stripe',
      outcome: 'ignored',
    });
    const { event, body, headers } = stripeEvent('customer.subscription.updated.json', (e) => {
      e.type = 'product.created';
      e.data = { object: { id: 'prod_edge', object: 'product', name: 'Pro' } };
    });
    const res = await post(daemon, '/webhooks/stripe', body, headers);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ ignored: 1, accepted: 0 });
    expect((await queuedJobs(daemon)).some((j) => j.data.eventId === event.id)).toBe(false);
    expect(
      await metricValue(daemon, 'portal_sync_webhook_events_total', { source: 'stripe', outcome: 'ignored' }),
    ).toBe(before + 1);
  });

  it('quarantines a known event whose payload fails its schema, with the reason, and answers 202', async () => {
    const { event, body, headers } = stripeEvent('customer.subscription.updated.json', (e) => {
      delete e.data.object.items;
    });
    const res = await post(daemon, '/webhooks/stripe', body, headers);
    expect(res.status).toBe(202);
    expect(res.json()).toMatchObject({ quarantined: 1, accepted: 0 });
    expect((await queuedJobs(daemon)).some((j) => j.data.eventId === event.id)).toBe(false);
    const quarantined = (await daemon.ingestor.listQuarantine()).find((q) => q.eventId === event.id);
    expect(quarantined).toMatchObject({ source: 'stripe' });
    expect(quarantined!.reason).toMatch(/items/);
    expect(JSON.parse((await daemon.ingestor.getQuarantined(quarantined!.id))!.body).id).toBe(event.id);
  });

  it('never writes the signature, the secret or a customer email into its logs', async () => {
    const { body, headers } = stripeEvent('customer.updated.json');
    await post(daemon, '/webhooks/stripe', body, headers);
    await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': 't=1,v1=deadbeef' });
    const logs = daemon.logs.join('');
    expect(logs).toContain('/webhooks/stripe');
    expect(logs).not.toContain(headers['stripe-signature'].split('v1=')[1]);
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain(JSON.parse(body).data.object.email);
  });
});
