/**
 * The admin token cannot be guessed at speed (wrong tokens are throttled per
 * IP and in all, with 429 + Retry-After, logged at a bounded rate), and a
 * browser session is a server-side one: logout ends it, a new ADMIN_TOKEN ends
 * them all, and the cookie holds nothing derived from the token.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../../src/webhooks/admin/session.js';
import { throttleClient } from '../../../src/webhooks/admin/guard.js';
import { startTestDaemon, type TestDaemon } from '../../support/daemon.js';
import { freePort } from '../../support/e2e.js';
import { redisUrl } from '../../support/redis.js';

const TOKEN = 'admin_token_for_guard_tests_0123456789';
const WRONG = 'admin_token_for_guard_tests_wrong_000';
let perIp: TestDaemon;
let global: TestDaemon;
let sessions: TestDaemon;
let redis: Redis;

beforeAll(async () => {
  [perIp, global, sessions] = await Promise.all([
    startTestDaemon({ ADMIN_TOKEN: TOKEN }, (c) => {
      c.admin.failedAuthPerIpPerMinute = 3;
    }),
    startTestDaemon({ ADMIN_TOKEN: TOKEN }, (c) => {
      c.server.trustProxy = ['loopback'];
      c.admin.failedAuthPerIpPerMinute = 100;
      c.admin.failedAuthPerMinute = 4;
    }),
    startTestDaemon({ ADMIN_TOKEN: TOKEN }),
  ]);
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  redis?.disconnect();
  await Promise.all([perIp?.stop(), global?.stop(), sessions?.stop()]);
});

/** Throttle windows are calendar minutes: start a burst early in one, so that it never straddles two. */
async function awayFromMinuteEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await new Promise((r) => setTimeout(r, left + 50));
}

const bearer = (d: TestDaemon, token: string, headers: Record<string, string> = {}) =>
  fetch(`${d.url}/admin`, { headers: { authorization: `Bearer ${token}`, ...headers } });

const login = (d: TestDaemon, token: string, headers: Record<string, string> = {}) =>
  fetch(`${d.url}/admin/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ token }).toString(),
    redirect: 'manual',
  });

describe('admin throttling', () => {
  it('past the wrong tokens one IP may try in a minute, answers 429 with Retry-After, even to the right token and the login form', async () => {
    await awayFromMinuteEnd();
    for (let i = 0; i < 3; i++) expect((await bearer(perIp, WRONG)).status).toBe(401);
    const refused = await bearer(perIp, WRONG);
    expect(refused.status).toBe(429);
    const wait = Number(refused.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);
    // The message names the same whole seconds as the header.
    expect(await refused.json()).toEqual({
      error: `too many wrong admin tokens: try again in ${wait} s`,
      reason: 'throttled',
    });
    expect((await bearer(perIp, TOKEN)).status).toBe(429);
    const form = await login(perIp, TOKEN);
    expect(form.status).toBe(429);
    expect(form.headers.get('set-cookie')).toBeNull();
    expect(form.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await form.text()).toContain(`Too many wrong tokens: try again in ${form.headers.get('retry-after')} s.`);
  });

  it('past the wrong tokens all clients together may try in a minute, refuses a new IP too', async () => {
    await awayFromMinuteEnd();
    for (let i = 1; i <= 4; i++)
      expect((await bearer(global, WRONG, { 'x-forwarded-for': `198.51.100.${i}` })).status).toBe(401);
    expect((await bearer(global, TOKEN, { 'x-forwarded-for': '198.51.100.77' })).status).toBe(429);
  });

  it('logs a flood of refusals as a few lines, saying how many it left out', async () => {
    const before = global.logs.filter((l) => l.includes('admin request refused')).length;
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => bearer(global, WRONG, { 'x-forwarded-for': `203.0.113.${i}` })),
    );
    const lines = global.logs.filter((l) => l.includes('admin request refused')).slice(before);
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(global.logs.join('')).not.toContain(WRONG);
  });
});

describe('admin sessions', () => {
  async function session(d: TestDaemon): Promise<string> {
    const res = await login(d, TOKEN);
    expect(res.status).toBe(303);
    return res.headers.get('set-cookie')!.split(';')[0]!;
  }
  const page = (d: TestDaemon, cookie: string) => fetch(`${d.url}/admin`, { headers: { cookie }, redirect: 'manual' });

  it('logging out ends the session: the same cookie is refused afterwards', async () => {
    const cookie = await session(sessions);
    expect((await page(sessions, cookie)).status).toBe(200);
    const out = await fetch(`${sessions.url}/admin/logout`, {
      method: 'POST',
      headers: { cookie },
      redirect: 'manual',
    });
    expect(out.status).toBe(303);
    expect((await page(sessions, cookie)).status).toBe(401);
  });

  it('a new ADMIN_TOKEN ends every session made under the old one', async () => {
    const cookie = await session(sessions);
    const rotated = await startTestDaemon({
      ADMIN_TOKEN: 'admin_token_after_rotation_0123456789',
      REDIS_PREFIX: sessions.prefix,
    });
    try {
      expect((await page(rotated, cookie)).status).toBe(401);
      expect((await page(sessions, cookie)).status).toBe(401); // gone from Redis, not merely refused there
    } finally {
      await rotated.close(); // not stop(): the prefix is the other daemon's
    }
  });

  it('the cookie is a random id: unrelated from one login to the next, and Redis keeps only its hash', async () => {
    const [a, b] = [await session(sessions), await session(sessions)];
    const id = (c: string) => c.slice(SESSION_COOKIE.length + 1);
    expect(id(a)).toMatch(/^[\w-]{43}$/);
    expect(id(a)).not.toBe(id(b));
    const stored = await redis.keys(`${sessions.prefix}:admin:session:*`);
    expect(stored.length).toBeGreaterThanOrEqual(2);
    for (const key of stored) {
      expect(key).not.toContain(id(a));
      expect(await redis.get(key)).not.toContain(TOKEN);
      expect(await redis.ttl(key)).toBeGreaterThan(43_000);
    }
  });
});

describe('who counts as one client', () => {
  it('an IPv6 client is its /64, so that fresh addresses from one host do not reset its count', () => {
    expect(throttleClient('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(throttleClient('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(throttleClient('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(throttleClient('::1')).toBe('0:0:0:0::/64');
    expect(throttleClient('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(throttleClient('198.51.100.7')).toBe('198.51.100.7');
  });
});

describe('without Redis', () => {
  it('the admin area answers 503 and opens for no token: sessions and the throttle cannot be read', async () => {
    const down = await startTestDaemon({ ADMIN_TOKEN: TOKEN, REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    try {
      for (const res of [await bearer(down, TOKEN), await bearer(down, WRONG), await login(down, TOKEN)]) {
        expect(res.status).toBe(503);
        expect(res.headers.get('set-cookie')).toBeNull();
      }
      expect(
        (await fetch(`${down.url}/admin`, { headers: { cookie: `${SESSION_COOKIE}=${'A'.repeat(43)}` } })).status,
      ).toBe(503);
    } finally {
      await down.close();
    }
  });
});
