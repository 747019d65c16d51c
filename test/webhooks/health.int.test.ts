import { describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { testDaemonForFile, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { fixtureJson, post } from '../support/http.js';
import { REDIS_KEYS } from '../../src/sync/redis/keys.js';

let daemon: TestDaemon;
testDaemonForFile((d) => (daemon = d));

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
    await post(daemon, '/webhooks/stripe', body, {
      'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
    });
    await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': 't=1,v1=00' });
    const text = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(text).toContain('portal_sync_webhook_requests_total{source="stripe"} 2');
    expect(text).toContain('portal_sync_webhook_events_total{source="stripe",outcome="accepted"} 1');
    expect(text).toMatch(
      /portal_sync_webhook_rejections_total\{source="stripe",reason="(bad_signature|stale_timestamp)"\} 1/,
    );
    expect(text).toMatch(/portal_sync_ingest_duration_seconds_bucket\{le="\+Inf",source="stripe",status="200"\} 1/);
    expect(text).toMatch(/portal_sync_ingest_duration_seconds_count\{source="stripe",status="200"\} 1/);
  });

  it("writes a source's last webhook time at once, and a burst of webhooks once more within a second with the burst's latest time", async () => {
    const key = REDIS_KEYS.health(daemon.prefix).webhooks;
    const send = async (id: string) => {
      const event = fixtureJson<any>('stripe/customer.created.json');
      event.id = id;
      const body = JSON.stringify(event);
      expect(
        (
          await post(daemon, '/webhooks/stripe', body, {
            'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
          })
        ).status,
      ).toBe(200);
    };
    await new Promise((r) => setTimeout(r, 1100)); // a quiet second since the earlier tests' webhooks
    const before = Date.now();
    await send('evt_note_first');
    expect(Number(await daemon.redis.hget(key, 'zendesk'))).toBe(0);
    const first = Number(await daemon.redis.hget(key, 'stripe'));
    expect(first).toBeGreaterThanOrEqual(before);
    await send('evt_note_burst_1');
    await send('evt_note_burst_2');
    const lastSent = Date.now();
    // Within the second, the burst is not written per request…
    expect(Number(await daemon.redis.hget(key, 'stripe'))).toBe(first);
    // …but once, with its latest time, when the second is over.
    await new Promise((r) => setTimeout(r, 1200));
    const trailing = Number(await daemon.redis.hget(key, 'stripe'));
    expect(trailing).toBeGreaterThan(first);
    expect(trailing).toBeLessThanOrEqual(lastSent);
  });

  it("answers a webhook with a request id (the caller's plain one kept) and logs it as completed, without its body or signature", async () => {
    const event = fixtureJson<any>('stripe/customer.created.json');
    event.id = 'evt_access_log_1';
    const body = JSON.stringify(event);
    const signature = signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET);
    const res = await fetch(`${daemon.url}/webhooks/stripe?token=not-logged`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'stripe-signature': signature, 'x-request-id': 'wh-trace-7' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('wh-trace-7');
    const made = await fetch(`${daemon.url}/webhooks/stripe`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
    });
    expect(made.status).toBe(401);
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 50));
    const lines = daemon.logs
      .join('')
      .split('\n')
      .filter((l) => l.includes('"request completed"'))
      .map((l) => JSON.parse(l));
    const mine = lines.find((l) => l.req?.id === 'wh-trace-7');
    expect(mine).toMatchObject({
      level: 'info',
      req: { method: 'POST', path: '/webhooks/stripe' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
    });
    expect(lines.find((l) => l.req?.id === made.headers.get('x-request-id'))).toMatchObject({
      res: { statusCode: 401 },
    });
    const all = daemon.logs.join('');
    expect(all).not.toContain(signature.split('v1=')[1]);
    expect(all).not.toContain('not-logged');
  });

  it("gives every response a request id, and keeps the caller's", async () => {
    const res = await fetch(`${daemon.url}/healthz`, { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc-123');
    expect((await fetch(`${daemon.url}/healthz`)).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
