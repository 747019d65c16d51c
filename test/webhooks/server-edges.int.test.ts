/**
 * The HTTP server's edges: slow bodies and connection floods are cut off by
 * config, /metrics can require a bearer token, and X-Forwarded-* headers are
 * believed only from the proxies server.trustProxy names.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';

const METRICS_TOKEN = 'metrics_scrape_token_0123456789';
const ADMIN_TOKEN = 'admin_token_for_server_edges_0123456789';
let strict: TestDaemon;
let proxied: TestDaemon;

beforeAll(async () => {
  [strict, proxied] = await Promise.all([
    startTestDaemon({ METRICS_TOKEN, ADMIN_TOKEN }, (c) => {
      c.server.requestTimeoutMs = 600;
      c.server.headersTimeoutMs = 400;
      c.server.maxConnections = 3;
    }),
    startTestDaemon({ ADMIN_TOKEN }, (c) => {
      c.server.trustProxy = ['loopback'];
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([strict?.stop(), proxied?.stop()]);
});

function open(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(port), hostname, () => resolve(s));
    s.on('error', reject);
  });
}

/** Resolves with what the server sent once it closes the connection. */
const closed = (s: Socket) =>
  new Promise<string>((resolve) => {
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('utf8')));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });

async function login(url: string, headers: Record<string, string>) {
  return fetch(`${url}/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
    redirect: 'manual',
  });
}

describe('the HTTP server', () => {
  it('cuts off a body that trickles in, once requestTimeoutMs is over, long before the 300 s node default', async () => {
    const s = await open(strict.url);
    const done = closed(s);
    s.write(
      'POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    // One byte every 100 ms: each alone is well inside any idle timeout; the whole never arrives.
    const drip = setInterval(() => s.writable && s.write(' '), 100);
    const answer = await done;
    clearInterval(drip);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes connections beyond maxConnections on arrival', async () => {
    const held = await Promise.all([open(strict.url), open(strict.url), open(strict.url)]);
    // Each held connection sends half a request so that the server keeps it open.
    for (const s of held) s.write('GET /healthz HTTP/1.1\r\n');
    const extra = await open(strict.url);
    const answer = closed(extra);
    extra.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await answer).toBe('');
    for (const s of held) s.destroy();
  });

  it('answers /metrics only with Authorization: Bearer <METRICS_TOKEN> when one is set', async () => {
    const none = await fetch(`${strict.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(
      (await fetch(`${strict.url}/metrics`, { headers: { authorization: 'Bearer wrong_token_0123456789' } })).status,
    ).toBe(401);
    const ok = await fetch(`${strict.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('portal_sync_webhook_requests_total');
    expect(strict.logs.join('')).not.toContain(METRICS_TOKEN);
    // Without METRICS_TOKEN, /metrics stays open (the documented default, for a scraper on a private network).
    expect((await fetch(`${proxied.url}/metrics`)).status).toBe(200);
  });

  it('trusts no proxy by default: X-Forwarded-Proto does not make the admin cookie Secure and X-Forwarded-For is not the logged IP', async () => {
    const res = await login(strict.url, { 'x-forwarded-proto': 'https' });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).not.toMatch(/Secure/);
    await fetch(`${strict.url}/admin`, {
      headers: { authorization: 'Bearer not_the_admin_token_0123', 'x-forwarded-for': '203.0.113.9' },
    });
    const refusal = strict.logs.filter((l) => l.includes('admin request refused')).join('');
    expect(refusal).toContain('"ip":"127.0.0.1"');
    expect(refusal).not.toContain('203.0.113.9');
  });

  it('believes the forwarded headers of the proxies server.trustProxy names', async () => {
    const res = await login(proxied.url, { 'x-forwarded-proto': 'https' });
    expect(res.headers.get('set-cookie')).toMatch(/; Secure$/);
    await fetch(`${proxied.url}/admin`, {
      headers: { authorization: 'Bearer not_the_admin_token_0123', 'x-forwarded-for': '203.0.113.9' },
    });
    expect(proxied.logs.filter((l) => l.includes('admin request refused')).join('')).toContain('"ip":"203.0.113.9"');
  });
});
