/**
 * /admin (dashboard), /admin/login and /admin/queues (the BullMQ board) over
 * plain HTTP: off without ADMIN_TOKEN, closed without the token, open with the
 * bearer header or a session cookie from the login form.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { EventRates } from '../../src/webhooks/admin/dashboard.js';
import { SESSION_COOKIE } from '../../src/webhooks/admin/session.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { sendStripe } from '../support/e2e.js';
import { fixtureJson, post } from '../support/http.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';

const ADMIN_TOKEN = 'admin_token_for_dashboard_0123456789';
const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
let on: TestPipeline;
let off: TestDaemon;

beforeAll(async () => {
  [on, off] = await Promise.all([
    startTestPipeline({ ADMIN_TOKEN }, (c) => {
      c.zendesk.brands = [
        { id: '360000000001', name: 'Acme & Co', hosts: [] },
        { id: '360000000002', name: null, hosts: [] },
      ];
    }),
    startTestDaemon(),
  ]);
  await sendStripe(on.daemon, 'customer.created.json');
  const event = fixtureJson<any>('stripe/customer.subscription.updated.json');
  event.id = `evt_admin_invalid_${process.pid}`;
  delete event.data.object.items;
  const body = JSON.stringify(event);
  const res = await post(on.daemon, '/webhooks/stripe', body, {
    'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
  });
  expect(res.status).toBe(202);
  await on.drain();
});
afterAll(async () => {
  await Promise.all([on?.stop(), off?.stop()]);
});

const get = (url: string, path: string, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, { headers, redirect: 'manual' });

async function login(url: string, token: string): Promise<Response> {
  return fetch(`${url}/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
    redirect: 'manual',
  });
}

describe('the admin dashboard and board over HTTP', () => {
  it('do not exist without ADMIN_TOKEN: 404 for everything under /admin, even with a token', async () => {
    for (const path of [
      '/admin',
      '/admin/',
      '/admin/login',
      '/admin/queues',
      '/admin/queues/api/queues',
      '/admin/deflection',
    ]) {
      const res = await get(off.url, path, bearer);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ error: 'not found' });
    }
    expect((await login(off.url, ADMIN_TOKEN)).status).toBe(404);
  });

  it('refuse no token or a wrong one: 401, JSON for scripts and the login form for a browser', async () => {
    for (const path of ['/admin', '/admin/queues', '/admin/queues/api/queues']) {
      const none = await get(on.daemon.url, path);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="portal-sync admin"');
      const wrong = await get(on.daemon.url, path, { authorization: `Bearer ${ADMIN_TOKEN}x` });
      expect(wrong.status, path).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toContain('invalid_token');
      expect(await wrong.text()).not.toContain('push-zendesk');
    }
    const browser = await get(on.daemon.url, '/admin', { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    expect(browser.status).toBe(401);
    expect(await browser.text()).toContain('<form method="post" action="/admin/login">');
    const forged = await get(on.daemon.url, '/admin', { cookie: `${SESSION_COOKIE}=9999999999.AAAA` });
    expect(forged.status).toBe(401);
  });

  it('serves the dashboard with the bearer header: queues, lag, events, dead-letter reasons, no script', async () => {
    const res = await get(on.daemon.url, '/admin', bearer);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'unsafe-inline'/);
    const html = await res.text();
    for (const s of [
      'events',
      'push-zendesk',
      'push-salesforce',
      'deflection',
      'sync lag',
      'stripe',
      'No reconcile has run yet',
      'href="/admin/queues"',
      'href="/admin/deflection"',
    ])
      expect(html, s).toContain(s);
    expect(html).toMatch(/Dead letters \(1\)/);
    expect(html).toContain('<span class="tag">quarantine</span>');
    expect(html).toMatch(/items/); // the schema failure's reason
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3)/);
    expect(html).toContain('name="viewport"');
    // Each listed Zendesk brand links to its own deflection report.
    expect(html).toContain(
      '<a href="/admin/deflection?brand=360000000001">Deflection: Acme &#38; Co</a><a href="/admin/deflection?brand=360000000002">Deflection: brand 360000000002</a>',
    );
  });

  it('logs in through the form: a wrong token is 401, the right one sets an HttpOnly SameSite=Strict cookie holding no token', async () => {
    const bad = await login(on.daemon.url, 'nope');
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();

    const ok = await login(on.daemon.url, ADMIN_TOKEN);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/admin');
    const setCookie = ok.headers.get('set-cookie')!;
    expect(setCookie).toMatch(
      new RegExp(`^${SESSION_COOKIE}=[\\w-]{43}; Path=/admin; Max-Age=43200; HttpOnly; SameSite=Strict$`),
    );
    expect(setCookie).not.toContain(ADMIN_TOKEN);
    const cookie = setCookie.split(';')[0]!;

    expect((await get(on.daemon.url, '/admin', { cookie })).status).toBe(200);
    expect((await get(on.daemon.url, '/admin/deflection', { cookie })).status).toBe(200);
    const queues = await get(on.daemon.url, '/admin/queues/api/queues', { cookie });
    expect(queues.status).toBe(200);
    expect(on.daemon.logs.join('')).not.toContain(ADMIN_TOKEN);

    // Behind a trusted TLS proxy the cookie is Secure too: test/webhooks/server-edges.int.test.ts.

    const out = await fetch(`${on.daemon.url}/admin/logout`, {
      method: 'POST',
      headers: { cookie },
      redirect: 'manual',
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
  });

  it('serves the board with its own assets from this server, under a CSP that allows only them', async () => {
    const page = await get(on.daemon.url, '/admin/queues', bearer);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
    const html = await page.text();
    const scripts = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src).not.toMatch(/^https?:|^\/\//);
      const asset = await get(on.daemon.url, `/admin/queues/${src}`, bearer);
      expect(asset.status, src).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/javascript/);
    }
    const api = await get(on.daemon.url, '/admin/queues/api/queues', bearer);
    const names = ((await api.json()) as { queues: Array<{ name: string }> }).queues.map((q) => q.name).sort();
    expect(names).toEqual(['deflection', 'events', 'push-salesforce', 'push-zendesk']);
    expect(page.headers.get('x-powered-by')).toBeNull();
  });
});

describe('rates, in isolation', () => {
  it('events per minute compare with the newest reading at least a minute old', () => {
    const t0 = 1_000_000;
    const rates = new EventRates(t0);
    const at = (n: number) => [
      { labels: { source: 'stripe', outcome: 'accepted' }, value: n },
      { labels: { source: 'stripe', outcome: 'quarantined' }, value: 1 },
    ];
    expect(rates.observe(at(9), t0 + 30_000).rows[0]).toMatchObject({
      source: 'stripe',
      total: 10,
      accepted: 9,
      quarantined: 1,
      perMinute: 10,
    });
    const later = rates.observe(at(39), t0 + 90_000);
    expect(later.windowSeconds).toBe(60);
    expect(later.rows[0]!.perMinute).toBe(30);
  });
});
