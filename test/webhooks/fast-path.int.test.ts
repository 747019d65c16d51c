/**
 * The Stripe and Zendesk webhooks are answered ahead of express (src/webhooks/fast-path.ts), on the real daemon:
 * without entering express, they match, log, limit and answer as express's routes did, and what the fast path
 * does not handle exactly so (a compressed body, another method) is still answered by express.
 */
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import express from 'express';
import { describe, expect, it, vi } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { testDaemonForFile, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { sendZendesk } from '../support/e2e.js';
import { fixtureJson, post, queuedJobs } from '../support/http.js';

const secret = TEST_SECRETS.STRIPE_WEBHOOK_SECRET;
let daemon: TestDaemon;
let seq = 0;

function stripeEvent() {
  const event = fixtureJson<{ id: string }>('stripe/customer.subscription.updated.json');
  event.id = `evt_fast_${Date.now()}_${seq++}`;
  const body = JSON.stringify(event);
  return { id: event.id, body, signature: signStripePayload(body, secret) };
}

const queued = async (eventId: string) =>
  (await queuedJobs(daemon)).filter((j) => (j.data as { eventId?: string }).eventId === eventId).length;

// Every express app copies `handle` from this prototype when it is made, so the daemon started below counts the
// requests express handles: the test that the fast path answers without express can fail.
// (`handle` is express's own, not in its types.)
const expressHandled = vi.spyOn(express.application as unknown as { handle: (...args: unknown[]) => void }, 'handle');
testDaemonForFile((d) => (daemon = d));

describe('the webhook fast path', () => {
  it("answers the daemon's signed Stripe and Zendesk webhooks without entering express, and hands express the rest", async () => {
    const before = expressHandled.mock.calls.length;
    const { id, body, signature } = stripeEvent();
    expect((await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': signature })).status).toBe(200);
    await sendZendesk(daemon, 'ticket.status_changed.json', (e) => (e.id = `zd_fast_${Date.now()}`));
    expect(await queued(id)).toBe(1);
    expect(expressHandled.mock.calls.length).toBe(before);

    expect((await fetch(`${daemon.url}/healthz`)).status).toBeLessThan(600);
    expect(expressHandled.mock.calls.length).toBe(before + 1);
  });

  it('routes as express does: any case, one trailing slash, a query string', async () => {
    for (const path of ['/webhooks/stripe/', '/Webhooks/Stripe', '/webhooks/stripe?attempt=2']) {
      const { id, body, signature } = stripeEvent();
      const res = await post(daemon, path, body, { 'stripe-signature': signature });
      expect(res.status, path).toBe(200);
      expect(res.json(), path).toMatchObject({ received: true, accepted: 1 });
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await queued(id)).toBe(1);
    }
  });

  it('echoes a plain X-Request-Id, and gives a request without one an id of its own', async () => {
    const { body, signature } = stripeEvent();
    const given = await post(daemon, '/webhooks/stripe', body, {
      'stripe-signature': signature,
      'x-request-id': 'req-from-stripe-1',
    });
    expect(given.headers.get('x-request-id')).toBe('req-from-stripe-1');
    const other = stripeEvent();
    const fresh = await post(daemon, '/webhooks/stripe', other.body, { 'stripe-signature': other.signature });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('leaves a gzip-compressed delivery to express, which inflates it and verifies the signature over its bytes', async () => {
    const { id, body, signature } = stripeEvent();
    const res = await post(daemon, '/webhooks/stripe', gzipSync(body), {
      'stripe-signature': signature,
      'content-encoding': 'gzip',
    });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 1 });
    expect(await queued(id)).toBe(1);
  });

  it('answers 413 with the documented body to a declared length over server.bodyLimitBytes, and keeps the connection usable', async () => {
    const res = await fetch(`${daemon.url}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
      body: 'x'.repeat(1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: 'body is larger than the configured limit (server.bodyLimitBytes)',
      reason: 'too_large',
    });
    const { id, body, signature } = stripeEvent();
    expect((await post(daemon, '/webhooks/stripe', body, { 'stripe-signature': signature })).status).toBe(200);
    expect(await queued(id)).toBe(1);
  });

  it('stores nothing of a delivery cut short before its Content-Length, and goes on answering', async () => {
    const { id, body, signature } = stripeEvent();
    const { hostname, port } = new URL(daemon.url);
    await new Promise<void>((resolve, reject) => {
      const s = connect(Number(port), hostname, () => {
        s.write(
          `POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
            `Stripe-Signature: ${signature}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 40)}`,
        );
        setTimeout(() => s.destroy(), 50);
      });
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(await queued(id)).toBe(0);
    const next = stripeEvent();
    expect((await post(daemon, '/webhooks/stripe', next.body, { 'stripe-signature': next.signature })).status).toBe(
      200,
    );
  });

  it('leaves other methods to express: GET on a webhook route is not found', async () => {
    const res = await fetch(`${daemon.url}/webhooks/stripe`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not found' });
  });

  it('answers a Zendesk webhook without its signature 400, as the Zendesk receiver does', async () => {
    const res = await post(daemon, '/webhooks/zendesk', '{}', {});
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ reason: 'missing_signature' });
  });
});
