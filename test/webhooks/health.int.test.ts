import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { startTestDaemon, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { fixtureJson, post } from '../support/http.js';

let daemon: TestDaemon;
beforeAll(async () => {
  daemon = await startTestDaemon();
});
afterAll(async () => {
  await daemon.stop();
});

describe('health, readiness and metrics', () => {
  it('answers /healthz and /readyz while Redis is reachable', async () => {
    expect((await fetch(`${daemon.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${daemon.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ redis: true });
  });

  it('exposes per-source counters and the ingest latency histogram in Prometheus format', async () => {
    const event = fixtureJson<any>('stripe/customer.created.json');
    event.id = 'evt_metrics_1';
    const body = JSON.stringify(event);
    await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET) });
    await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': 't=1,v1=00' });
    const text = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(text).toContain('portal_sync_webhook_requests_total{source="stripe"} 2');
    expect(text).toContain('portal_sync_webhook_events_total{source="stripe",outcome="accepted"} 1');
    expect(text).toMatch(/portal_sync_webhook_rejections_total\{source="stripe",reason="(bad_signature|stale_timestamp)"\} 1/);
    expect(text).toMatch(/portal_sync_ingest_duration_seconds_bucket\{le="0.1",source="stripe",status="200"\} 1/);
  });

  it('gives every response a request id, and keeps the caller\'s', async () => {
    const res = await fetch(`${daemon.url}/healthz`, { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc-123');
    expect((await fetch(`${daemon.url}/healthz`)).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
