/**
 * GET /admin/deflection on the running daemon: off without ADMIN_TOKEN, closed
 * without the right bearer token, and the report page with it.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { DeflectionData } from '../../src/sync/deflection/types.js';
import { adminRouter, adminTokenMatches, bearerToken } from '../../src/webhooks/admin/token.js';
import { AdminGuard } from '../../src/webhooks/admin/guard.js';
import { loadDeflectionFixture, type DeflectionFixture } from '../fixtures/deflection/fixture.js';
import { seedDeflectionFixture, shiftDeflectionFixture } from '../fixtures/deflection/seed.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';

const ADMIN_TOKEN = 'admin_token_for_tests_0123456789';
let on: TestDaemon;
let off: TestDaemon;
let fx: DeflectionFixture;

beforeAll(async () => {
  [on, off] = await Promise.all([startTestDaemon({ ADMIN_TOKEN }), startTestDaemon()]);
  fx = shiftDeflectionFixture(loadDeflectionFixture('two-weeks'), new Date(Date.now() + 60_000));
  await seedDeflectionFixture(on.redis, on.prefix, fx);
});
afterAll(async () => {
  await Promise.all([on?.stop(), off?.stop()]);
});

const get = (d: TestDaemon, path: string, headers: Record<string, string> = {}) =>
  fetch(`${d.url}${path}`, { headers });
const since = () => `?since=${encodeURIComponent(fx.period.from.toISOString())}`;

describe('the admin area', () => {
  it('does not exist when ADMIN_TOKEN is unset: 404, even with a token', async () => {
    const res = await get(off, '/admin/deflection', { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not found' });
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('asks for the bearer token without one: 401 with WWW-Authenticate', async () => {
    const res = await get(on, '/admin/deflection');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="portal-sync admin"');
    expect(await res.text()).not.toContain('Self-service');
  });

  it('refuses a wrong token, or the right one in another scheme: 401 invalid_token', async () => {
    for (const authorization of [`Bearer ${ADMIN_TOKEN}x`, 'Bearer short', `Bearer ${ADMIN_TOKEN.slice(0, -1)}`]) {
      const res = await get(on, '/admin/deflection', { authorization });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="portal-sync admin", error="invalid_token"');
    }
    const basic = await get(on, '/admin/deflection', {
      authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`,
    });
    expect(basic.status).toBe(401);
    expect(on.logs.join('')).not.toContain(ADMIN_TOKEN);
  });

  it('serves the deflection report page with the token, locked down and never cached', async () => {
    const res = await get(on, `/admin/deflection${since()}`, { authorization: `bearer ${ADMIN_TOKEN}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'unsafe-inline'/);
    const html = await res.text();
    for (const s of [
      '66.7%',
      '4 of 6 classified sessions',
      '4 of 8 customers had a session',
      'billing',
      'documents',
      'download invoice',
      'vat number',
    ])
      expect(html).toContain(s);
  });

  it('defaults to 30 days and answers a bad ?since= with 400 and what it accepts', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    expect((await get(on, '/admin/deflection', auth)).status).toBe(200);
    const bad = await get(on, '/admin/deflection?since=forever', auth);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/expected a span back from now .* or an ISO date/);
    expect((await get(on, '/admin/deflection?since=1d&since=2d', auth)).status).toBe(400);
  });

  it('filters to one brand with ?brand=, and answers a brand that is neither an id nor a listed name with 400', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const one = await get(on, `/admin/deflection${since()}&brand=360000000009`, auth);
    expect(one.status).toBe(200);
    const html = await one.text();
    // The fixture's sessions name no brand: none of them is this brand's.
    expect(html).toContain('brand 360000000009 only');
    expect(html).toContain('0 of 8 customers had a session');
    const bad = await get(on, '/admin/deflection?brand=initech', auth);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^brand: neither a Zendesk brand id/);
  });

  it('keeps unknown admin paths behind the token too', async () => {
    expect((await get(on, '/admin/nothing')).status).toBe(401);
    expect((await get(on, '/admin/nothing', { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(404);
  });
});

describe('when the deflection data cannot be read', () => {
  it('answers 503 with what to check, not a stack trace', async () => {
    const down = () => Promise.reject(new Error('Connection is closed.'));
    const data: DeflectionData = {
      events: down,
      sessions: down,
      noResultSearches: down,
      ticketsOpened: down,
      customerCount: down,
    };
    const app = express().use(
      '/admin',
      adminRouter({
        adminToken: ADMIN_TOKEN,
        guard: new AdminGuard(on.redis, on.prefix, ADMIN_TOKEN, on.config.admin),
        deflection: data,
        logger: createLogger('silent'),
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/deflection`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/^deflection report unavailable: .*Redis/);
    } finally {
      server.close();
    }
  });
});

describe('admin token checks', () => {
  it('reads only a well-formed bearer header', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'Bearerabc'])
      expect(bearerToken(h), String(h)).toBeUndefined();
  });

  it('compares the whole token, whatever the lengths', () => {
    expect(adminTokenMatches(ADMIN_TOKEN, ADMIN_TOKEN)).toBe(true);
    expect(adminTokenMatches('', ADMIN_TOKEN)).toBe(false);
    expect(adminTokenMatches(`${ADMIN_TOKEN}${ADMIN_TOKEN}`, ADMIN_TOKEN)).toBe(false);
  });
});
