/**
 * The wire format, checked the way a subscriber checks it: a delivery made
 * by the transport verifies with the `standardwebhooks` package, and a
 * tampered body, a changed id, a stale timestamp or a replay under a fresh
 * timestamp are all refused by that same verification.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  classifyAnswer,
  createSubscriberTransport,
  signedHeaders,
} from '../../src/connectors/subscribers/transport.js';
import type { Subscription } from '../../src/sync/outbound/types.js';
import { freePort } from '../support/e2e.js';
import { newSecret, startConsumer, type Consumer, type Received } from './support/consumer.js';

const secret = newSecret();
let consumer: Consumer;
let sub: Subscription;
let original: Received;

const resend = (headers: Record<string, string>, body: string) =>
  fetch(consumer.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
const signatureHeaders = (r: Received) => ({
  'webhook-id': r.headers['webhook-id']!,
  'webhook-timestamp': r.headers['webhook-timestamp']!,
  'webhook-signature': r.headers['webhook-signature']!,
});

beforeAll(async () => {
  consumer = await startConsumer(secret);
  sub = {
    id: 'wire',
    url: consumer.url,
    events: ['*'],
    timeoutMs: 2_000,
    allowPrivateNetworks: true,
    secrets: [secret],
  };
  const body = JSON.stringify({
    id: 'evt_0123456789abcdef0123456789abcdef',
    type: 'invoice.available',
    timestamp: new Date().toISOString(),
    data: { customer: null, amount: 4900 },
  });
  const result = await createSubscriberTransport()(sub, { id: 'evt_0123456789abcdef0123456789abcdef', body });
  expect(result).toMatchObject({ ok: true, status: 204 });
  original = consumer.received[0]!;
});
afterEach(() => void vi.useRealTimers());
afterAll(async () => consumer?.close());

describe('a delivery as the subscriber sees it', () => {
  it('verifies with standardwebhooks, with the body sent byte for byte and the event id as webhook-id', () => {
    expect(consumer.rejected).toEqual([]);
    expect(original.headers['webhook-id']).toBe('evt_0123456789abcdef0123456789abcdef');
    expect(Number(original.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
    expect(original.body).toMatchObject({ type: 'invoice.available', data: { amount: 4900 } });
  });

  it('is refused when the body was tampered with', async () => {
    const res = await resend(signatureHeaders(original), original.raw.replace('4900', '1'));
    expect(res.status).toBe(401);
    expect(consumer.rejected.at(-1)).toBe('No matching signature found');
  });

  it('is refused under another id', async () => {
    const res = await resend(
      { ...signatureHeaders(original), 'webhook-id': 'evt_ffffffffffffffffffffffffffffffff' },
      original.raw,
    );
    expect(res.status).toBe(401);
    expect(consumer.rejected.at(-1)).toBe('No matching signature found');
  });

  it('is refused when replayed with a fresh timestamp', async () => {
    const res = await resend(
      { ...signatureHeaders(original), 'webhook-timestamp': String(Math.floor(Date.now() / 1000) + 30) },
      original.raw,
    );
    expect(res.status).toBe(401);
    expect(consumer.rejected.at(-1)).toBe('No matching signature found');
  });

  it('is refused when replayed later than the 5-minute tolerance', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 6 * 60_000);
    const res = await resend(signatureHeaders(original), original.raw);
    expect(res.status).toBe(401);
    expect(consumer.rejected.at(-1)).toBe('Message timestamp too old');
  });

  it('is refused when signed with another secret', () => {
    const at = new Date();
    const headers = signedHeaders([newSecret()], 'evt_x', at, '{}');
    expect(() => new Webhook(secret).verify('{}', headers)).toThrow('No matching signature found');
  });

  it('carries one signature per secret while rotating, so old and new both verify', () => {
    const next = newSecret();
    const headers = signedHeaders([secret, next], 'evt_rot', new Date(), '{"a":1}');
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const s of [secret, next]) expect(new Webhook(s).verify('{"a":1}', headers)).toEqual({ a: 1 });
  });
});

describe('what counts as delivered', () => {
  it('takes any 2xx, and nothing else', () => {
    for (const status of [200, 201, 202, 204, 299]) expect(classifyAnswer(status, null, 5, '').ok).toBe(true);
    for (const status of [301, 400, 401, 404, 410, 429, 500, 503])
      expect(classifyAnswer(status, null, 5, 'nope').ok).toBe(false);
    expect(classifyAnswer(503, '120', 5, 'busy\n  busy')).toEqual({
      ok: false,
      status: 503,
      latencyMs: 5,
      error: 'HTTP 503: busy busy',
      retryAfterMs: 120_000,
    });
  });

  it('fails an answer slower than the timeout, a redirect, and a refused connection', async () => {
    consumer.behave(() => ({ status: 204, delayMs: 500 }));
    const slow = await createSubscriberTransport()({ ...sub, timeoutMs: 150 }, { id: 'evt_slow', body: '{}' });
    expect(slow).toMatchObject({ ok: false, status: null, error: 'no answer within 150 ms' });
    expect(slow.latencyMs).toBeGreaterThanOrEqual(140);
    consumer.behave(() => ({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }));
    expect(await createSubscriberTransport()(sub, { id: 'evt_redirect', body: '{}' })).toMatchObject({
      ok: false,
      status: 302,
    });
    consumer.behave(() => ({ status: 204 }));
    const refused = await createSubscriberTransport()(
      { ...sub, url: `http://127.0.0.1:${await freePort()}/hooks` },
      { id: 'evt_refused', body: '{}' },
    );
    expect(refused).toMatchObject({ ok: false, status: null, error: 'network error ECONNREFUSED' });
  });
});
