/**
 * GET /portal/v1/me over HTTP on the real Redis, with tokens from the Zendesk stand-in's
 * token endpoint and keys from its key endpoint: what a signed-in customer's browser gets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { Redis } from 'ioredis';
import { RecordStore } from '../../src/sync/events/store.js';
import type { CustomerView } from '../../src/sync/view/view.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { applyAll, stripeSide, userEvent, zendeskSide, type Company } from '../support/view.js';

const ORIGIN = 'https://help.acme.example';
const ACME_BRAND = '360000000001';
const GLOBEX_BRAND = '360000000002';
let zd: ZendeskStandIn;
let d: TestDaemon;
let store: RecordStore;
let redis: Redis;
const ids: Record<string, number> = {};

const acme = (): Company => ({
  org: '7001',
  name: 'Acme',
  stripe: 'cus_acme',
  status: 'past_due',
  users: [
    { id: String(ids.ann), email: 'ann@acme.example' },
    { id: String(ids.carl), email: 'carl@acme.example' },
    { id: String(ids.erin), email: 'erin@acme.example' },
  ],
  invoices: [
    { id: 'in_acme_1', status: 'paid', total: 4900 },
    { id: 'in_acme_2', status: 'open', total: 4900, dueDate: '2026-11-01T00:00:00.000Z' },
    { id: 'in_acme_0', status: 'void', total: 100 },
  ],
  tickets: [
    { id: '5001', requester: String(ids.ann), status: 'open', subject: 'Where is my invoice?' },
    { id: '5002', requester: String(ids.carl), status: 'solved', subject: "Carl's question" },
    // Erin asked on two brands' Help Centers, and once before brands were read.
    { id: '5101', requester: String(ids.erin), status: 'open', subject: 'Acme question', brandId: ACME_BRAND },
    { id: '5102', requester: String(ids.erin), status: 'open', subject: 'Globex question', brandId: GLOBEX_BRAND },
    { id: '5103', requester: String(ids.erin), status: 'open', subject: 'Old question' },
  ],
});
const bobco = (): Company => ({
  org: '9001',
  name: 'Bobco',
  stripe: 'cus_bob',
  status: 'active',
  users: [{ id: String(ids.bob), email: 'bob@bobco.example' }],
  invoices: [{ id: 'in_bob_1', status: 'paid', total: 120000, currency: 'jpy' }],
  tickets: [{ id: '6001', requester: String(ids.bob), status: 'pending' }],
});

async function tokenOf(userId: number): Promise<string> {
  const res = await fetch(`${zd.baseUrl}/help_center/integration/token.json`, {
    headers: { cookie: `zendesk_standin_user=${userId}` },
  });
  return ((await res.json()) as { token: string }).token;
}

async function me(token: string | null, headers: Record<string, string> = {}, daemon: TestDaemon = d, query = '') {
  const res = await fetch(`${daemon.url}/portal/v1/me${query}`, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as CustomerView & { reason?: string; error?: string }) : null,
  };
}

beforeAll(async () => {
  zd = await startZendeskStandIn();
  for (const [name, email] of [
    ['ann', 'ann@acme.example'],
    ['carl', 'carl@acme.example'],
    ['bob', 'bob@bobco.example'],
    ['nobody', 'nobody@else.example'],
    ['dana', 'dana@acme.example'],
    ['erin', 'erin@acme.example'],
  ] as const) {
    ids[name] = zd.seedUser({ name, email }).id;
  }
  d = await startTestDaemon(
    { ZENDESK_BASE_URL: zd.baseUrl, PORTAL_ORIGINS: `${ORIGIN},https://other-help.example` },
    (c) => {
      c.view.rateLimit.perMinute = 1000;
      c.zendesk.brands = [
        { id: ACME_BRAND, name: 'Acme', hosts: ['help.acme.example'] },
        { id: GLOBEX_BRAND, name: null, hosts: [] },
      ];
    },
  );
  redis = new Redis(d.config.redis.url);
  store = new RecordStore(redis, d.prefix);
  await applyAll(store, [
    ...zendeskSide(acme()),
    ...stripeSide(acme()),
    ...zendeskSide(bobco()),
    ...stripeSide(bobco()),
  ]);
});

afterAll(async () => {
  store?.close();
  redis?.disconnect();
  await d?.stop();
  await zd?.close();
});

describe('GET /portal/v1/me', () => {
  it("shows Ann her customer's status, open and paid invoices in major units, and her own tickets", async () => {
    const { status, headers, body } = await me(await tokenOf(ids.ann!));
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('private, no-store');
    expect(body).toEqual({
      v: 1,
      customer: { name: 'Acme' },
      billing: {
        status: 'past_due',
        endedAt: null,
        plan: 'Acme Team',
        currency: 'USD',
        nextInvoiceDate: expect.any(String),
        delinquent: expect.any(Boolean),
        paymentMethodOnFile: true,
      },
      invoices: [
        expect.objectContaining({
          id: 'in_acme_2',
          status: 'open',
          currency: 'USD',
          total: 49,
          amountDue: 49,
          amountRemaining: 49,
          dueDate: '2026-11-01T00:00:00.000Z',
          hostedInvoiceUrl: 'https://invoice.stripe.test/in_acme_2',
          pdfUrl: 'https://invoice.stripe.test/in_acme_2.pdf',
        }),
        expect.objectContaining({ id: 'in_acme_1', status: 'paid', total: 49, amountPaid: 49 }),
      ],
      tickets: [
        { id: '5001', subject: 'Where is my invoice?', status: 'open', updatedAt: expect.any(String), brandId: null },
      ],
      brand: null,
      updatedAt: new Date(1_000).toISOString(),
    });
    expect(JSON.stringify(body)).not.toMatch(/mrr|balance|cus_acme|cust_|4900/);
  });

  it("on a brand's Help Center shows that brand's tickets (and those of no known brand), by the page's listed host or the kit's brand_id", async () => {
    const token = await tokenOf(ids.erin!);
    const all = await me(token);
    expect(all.body!.tickets.map((t) => [t.id, t.brandId])).toEqual([
      ['5101', ACME_BRAND],
      ['5102', GLOBEX_BRAND],
      ['5103', null],
    ]);
    expect(all.body!.brand).toBeNull();
    // The page is on Acme's listed host: Acme's tickets, whatever brand_id the query names.
    const byHost = await me(token, { origin: ORIGIN }, d, `?brand_id=${GLOBEX_BRAND}`);
    expect(byHost.body!.brand).toEqual({ id: ACME_BRAND, name: 'Acme' });
    expect(byHost.body!.tickets.map((t) => t.id)).toEqual(['5101', '5103']);
    // A host no brand lists: the kit's brand_id says which Help Center it is.
    const byKit = await me(token, { origin: 'https://other-help.example' }, d, `?brand_id=${GLOBEX_BRAND}`);
    expect(byKit.body!.brand).toEqual({ id: GLOBEX_BRAND, name: null });
    expect(byKit.body!.tickets.map((t) => t.id)).toEqual(['5102', '5103']);
    // Billing is the customer's, not a brand's: the same on every Help Center.
    expect(byKit.body!.invoices).toEqual(all.body!.invoices);
    const bad = await me(token, {}, d, '?brand_id=acme');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ reason: 'bad_brand' });
  });

  it('shows Bob, of another organization, only his own customer, in its currency', async () => {
    const { status, body } = await me(await tokenOf(ids.bob!));
    expect(status).toBe(200);
    expect(body!.invoices).toEqual([expect.objectContaining({ id: 'in_bob_1', currency: 'JPY', total: 120000 })]);
    expect(body!.tickets.map((t) => t.id)).toEqual(['6001']);
    expect(JSON.stringify(body)).not.toMatch(/acme|in_acme|500[12]/i);
  });

  it('answers 404 with a JSON body the kit renders to a signed-in user with no customer', async () => {
    const { status, headers, body } = await me(await tokenOf(ids.nobody!));
    expect(status).toBe(404);
    expect(headers.get('cache-control')).toBe('private, no-store');
    expect(body).toEqual({ error: expect.any(String), reason: 'no_customer' });
  });

  it('answers 401 to no token, a forged token and an expired token, with nothing of any customer', async () => {
    const forged = await zd.helpCenter.sign(
      zd.helpCenter.claimsOf({ id: ids.ann!, email: 'ann@acme.example', external_id: null }),
      { foreign: true },
    );
    const now = Math.floor(Date.now() / 1000);
    const expired = await zd.helpCenter.sign(
      zd.helpCenter.claimsOf({ id: ids.ann!, email: 'ann@acme.example', external_id: null }),
      { issuedAt: now - 3000, expiresAt: now - 600 },
    );
    for (const [token, reason] of [
      [null, 'missing_token'],
      [forged, 'invalid_token'],
      [expired, 'expired_token'],
      ['not.a.jwt', 'invalid_token'],
    ] as const) {
      const { status, headers, body } = await me(token);
      expect(status).toBe(401);
      expect(headers.get('www-authenticate')).toBe('Bearer');
      expect(body).toEqual({ error: expect.any(String), reason });
    }
  });

  it('never takes the customer from anything but the token: query, headers and cookies naming another user change nothing', async () => {
    const token = await tokenOf(ids.bob!);
    const res = await fetch(`${d.url}/portal/v1/me?user_id=${ids.ann}&email=ann@acme.example`, {
      headers: {
        authorization: `Bearer ${token}`,
        'x-zendesk-user-id': String(ids.ann),
        cookie: `zendesk_standin_user=${ids.ann}`,
      },
    });
    const body = (await res.json()) as CustomerView;
    expect(body.invoices.map((i) => i.id)).toEqual(['in_bob_1']);
  });

  it("answers JSON with a request id (the caller's plain X-Request-Id echoed, else a new one), never cached", async () => {
    const token = await tokenOf(ids.ann!);
    const given = await me(token, { 'x-request-id': 'hc-page-42' });
    expect(given.headers.get('x-request-id')).toBe('hc-page-42');
    expect(given.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(given.headers.get('cache-control')).toBe('private, no-store');
    expect(given.headers.get('etag')).toBeNull();
    const made = await me(token, { 'x-request-id': 'not a plain id; injected' });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await me(null)).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('allows CORS for the configured Help Center origins only', async () => {
    const token = await tokenOf(ids.ann!);
    const allowed = await me(token, { origin: ORIGIN });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(allowed.headers.get('vary')).toMatch(/Origin/);
    const foreign = await me(token, { origin: 'https://evil.example' });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

    const preflight = (origin: string) =>
      fetch(`${d.url}/portal/v1/me`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
    const ok = await preflight(ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('one customer never sees another', () => {
  it("a Stripe customer that merges into the organization later shows in its users' view, and only theirs", async () => {
    const dana: Company = {
      org: '7101',
      name: 'Danaco',
      stripe: 'cus_dana',
      status: 'active',
      users: [{ id: String(ids.dana), email: 'dana@acme.example' }],
      invoices: [{ id: 'in_dana_1', status: 'open', total: 1000 }],
      tickets: [],
    };
    // The Stripe customer arrives first, on its own record; the organization later; then the metadata that links them.
    await applyAll(store, stripeSide(dana, 1_000, { linkOrg: false }));
    await applyAll(store, zendeskSide(dana, 1_000));
    expect((await me(await tokenOf(ids.dana!))).body!.invoices).toEqual([]);
    await applyAll(store, stripeSide(dana, 2_000));
    const after = await me(await tokenOf(ids.dana!));
    expect(after.body!.invoices.map((i) => i.id)).toEqual(['in_dana_1']);
    for (const other of [ids.ann!, ids.bob!])
      expect(JSON.stringify((await me(await tokenOf(other))).body)).not.toContain('in_dana');
  });

  it('a user who moved to another organization never sees the old one', async () => {
    // Carl leaves Acme for Bobco: Zendesk tells us with a newer version of his user.
    await store.apply(userEvent('9001', { id: String(ids.carl), email: 'carl@acme.example' }, 5_000));
    const { status, body } = await me(await tokenOf(ids.carl!));
    const text = JSON.stringify(body);
    expect(text).not.toMatch(/in_acme|Acme|5001|5002/);
    if (status === 200) expect(body!.customer.name).toBe('Bobco');
    else expect(status).toBe(404);
  });
});

describe('limits and outages', () => {
  it('answers 429 with Retry-After past the per-user budget, counted across web processes, and other users are unaffected', async () => {
    const tight = await startTestDaemon({ ZENDESK_BASE_URL: zd.baseUrl }, (c) => {
      c.view.rateLimit.perMinute = 3;
    });
    // A second web process on the same Redis and prefix: the budget is shared.
    const twin = await startTestDaemon({ ZENDESK_BASE_URL: zd.baseUrl }, (c) => {
      c.view.rateLimit.perMinute = 3;
      c.redis.prefix = tight.prefix;
    });
    try {
      const seed = new RecordStore(redis, tight.prefix);
      await applyAll(seed, [...zendeskSide(acme()), ...stripeSide(acme())]);
      seed.close();
      const ann = await tokenOf(ids.ann!);
      const statuses = [];
      for (const daemon of [tight, twin, tight, twin]) statuses.push((await me(ann, {}, daemon)).status);
      // A window boundary may fall between the calls: at most 3 pass, and if all 4 fell in one minute the 4th is refused.
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(3);
      const refused = await (async () => {
        for (let i = 0; i < 4; i++) {
          const r = await me(ann, {}, i % 2 ? twin : tight);
          if (r.status === 429) return r;
        }
        return null;
      })();
      expect(refused).not.toBeNull();
      expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused!.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(refused!.body).toEqual({ error: expect.any(String), reason: 'rate_limited' });
      expect((await me(await tokenOf(ids.carl!), {}, twin)).status).toBe(200);
    } finally {
      await twin.stop();
      await tight.stop();
    }
  });

  it('answers 503, never 200, when the keys cannot be read and none are cached', async () => {
    const fresh = await startTestDaemon({ ZENDESK_BASE_URL: zd.baseUrl });
    zd.helpCenter.setKeysFault('down');
    try {
      const r = await me(await tokenOf(ids.ann!), {}, fresh);
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('5');
      expect(r.headers.get('cache-control')).toBe('private, no-store');
    } finally {
      zd.helpCenter.setKeysFault(null);
      await fresh.stop();
    }
  });

  it('answers 503, never 200, while Redis is unreachable', async () => {
    const away = await startTestDaemon({ ZENDESK_BASE_URL: zd.baseUrl, REDIS_URL: 'redis://127.0.0.1:9' }, (c) => {
      c.server.enqueueTimeoutMs = 200;
    });
    try {
      const r = await me(await tokenOf(ids.ann!), {}, away);
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ error: expect.any(String), reason: 'unavailable' });
    } finally {
      await away.close(); // not stop(): nothing was written, and its cleanup would dial the absent Redis
    }
  });
});
