/**
 * POST /events/portal from the browser with a help center JWT: the contact of every event is
 * the token's user; a body naming anybody else is refused whole (403) and nothing is queued.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { signHmac } from '../../src/webhooks/hmac.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { post, queuedJobs } from '../support/http.js';

let zd: ZendeskStandIn;
let daemon: TestDaemon;
let bearerOnly: TestDaemon;
let ann: { id: number; email: string | null; external_id: string | null };

const event = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'invoice_view',
  occurred_at: '2026-11-23T10:15:00Z',
  invoice_id: 'in_1',
  ...extra,
});
const tokenOf = async (userId: number) =>
  ((await (await fetch(`${zd.baseUrl}/help_center/integration/token?as=${userId}`)).json()) as { token: string }).token;

beforeAll(async () => {
  zd = await startZendeskStandIn();
  ann = zd.seedUser({ name: 'Ann', email: 'Ann@Acme.example', external_id: '0035e00000AnnCtAAJ' });
  daemon = await startTestDaemon(
    { ZENDESK_BASE_URL: zd.baseUrl, PORTAL_ORIGINS: 'https://help.acme.example,https://help.globex.example' },
    (c) => {
      c.zendesk.brands = [
        { id: '360000000001', name: 'Acme', hosts: ['help.acme.example'] },
        { id: '360000000002', name: 'Globex', hosts: [] },
      ];
    },
  );
  bearerOnly = await startTestDaemon({ ZENDESK_BASE_URL: zd.baseUrl, PORTAL_EVENTS_SECRET: '' });
});
afterAll(async () => {
  await daemon?.stop();
  await bearerOnly?.stop();
  await zd?.close();
});

describe('portal activity with a help center JWT', () => {
  it("files every event under the token's user, whatever contact the body leaves out", async () => {
    const token = await tokenOf(ann.id);
    const res = await post(
      daemon,
      '/events/portal',
      JSON.stringify({ events: [event('hc-1'), event('hc-2', { contact: { zendesk_user_id: ann.id } })] }),
      { authorization: `Bearer ${token}` },
    );
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 2 });
    const jobs = (await queuedJobs(daemon)).filter((j) => String(j.id).startsWith('portal-hc-'));
    expect(jobs.map((j) => j.data.refs)).toEqual([
      { zendeskUserId: String(ann.id), email: 'ann@acme.example', salesforceContactId: '0035e00000AnnCtAAJ' },
      { zendeskUserId: String(ann.id), email: 'ann@acme.example', salesforceContactId: '0035e00000AnnCtAAJ' },
    ]);
  });

  it("files an event sent from a listed brand's Help Center host under that brand, whatever brand the body names", async () => {
    const token = await tokenOf(ann.id);
    const send = (id: string, origin: string, extra: Record<string, unknown> = {}) =>
      post(daemon, '/events/portal', JSON.stringify({ events: [event(id, extra)] }), {
        authorization: `Bearer ${token}`,
        origin,
      });
    expect((await send('hc-brand-1', 'https://help.acme.example', { brand_id: 360000000002 })).status).toBe(200);
    // A host no brand lists: the body's brand stands (checked by shape), and an event naming none has none.
    expect((await send('hc-brand-2', 'https://help.globex.example', { brand_id: '360000000002' })).status).toBe(200);
    expect((await send('hc-brand-3', 'https://help.globex.example')).status).toBe(200);
    const jobs = (await queuedJobs(daemon)).filter((j) => String(j.id).startsWith('portal-hc-brand-'));
    const brandOf = (id: string) =>
      (jobs.find((j) => j.id === `portal-${id}`)?.data.data as { brandId?: string } | undefined)?.brandId;
    expect([brandOf('hc-brand-1'), brandOf('hc-brand-2'), brandOf('hc-brand-3')]).toEqual([
      '360000000001',
      '360000000002',
      undefined,
    ]);
  });

  it('refuses the whole request when an event names another contact, and queues nothing of it', async () => {
    const token = await tokenOf(ann.id);
    for (const contact of [
      { zendesk_user_id: '42' },
      { email: 'bob@bobco.example' },
      { zendesk_user_id: ann.id, email: 'bob@bobco.example' },
      { salesforce_contact_id: '0035e00000BobCtAAJ' },
    ]) {
      const res = await post(
        daemon,
        '/events/portal',
        JSON.stringify({ events: [event('hc-ok'), event('hc-bad', { contact })] }),
        { authorization: `Bearer ${token}` },
      );
      expect(res.status).toBe(403);
      expect(res.json()).toEqual({ error: expect.any(String), reason: 'contact_mismatch' });
    }
    expect((await queuedJobs(daemon)).filter((j) => ['portal-hc-ok', 'portal-hc-bad'].includes(String(j.id)))).toEqual(
      [],
    );
  });

  it('answers 401 to a forged or expired token and queues nothing', async () => {
    const claims = zd.helpCenter.claimsOf(ann);
    const now = Math.floor(Date.now() / 1000);
    for (const token of [
      await zd.helpCenter.sign(claims, { foreign: true }),
      await zd.helpCenter.sign(claims, { issuedAt: now - 4000, expiresAt: now - 3000 }),
    ]) {
      const res = await post(daemon, '/events/portal', JSON.stringify(event('hc-forged')), {
        authorization: `Bearer ${token}`,
      });
      expect(res.status).toBe(401);
    }
    expect((await queuedJobs(daemon)).some((j) => j.id === 'portal-hc-forged')).toBe(false);
  });

  it('keeps the HMAC path for server senders, and without PORTAL_EVENTS_SECRET takes only tokens', async () => {
    const body = JSON.stringify(event('srv-1', { contact: { email: 'ann@acme.example' } }));
    expect(
      (
        await post(daemon, '/events/portal', body, {
          'x-portal-sync-signature': signHmac(body, 'portal_events_secret_0123456789abcdef'),
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await post(bearerOnly, '/events/portal', body, {
          'x-portal-sync-signature': signHmac(body, 'portal_events_secret_0123456789abcdef'),
        })
      ).status,
    ).toBe(401);
    const token = await tokenOf(ann.id);
    expect(
      (await post(bearerOnly, '/events/portal', JSON.stringify(event('hc-3')), { authorization: `Bearer ${token}` }))
        .status,
    ).toBe(200);
  });

  it('answers the browser preflight for the configured Help Center origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${daemon.url}/events/portal`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const ok = await preflight('https://help.acme.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://help.acme.example');
    expect(ok.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const token = await tokenOf(ann.id);
    const sent = await post(daemon, '/events/portal', JSON.stringify(event('hc-cors')), {
      authorization: `Bearer ${token}`,
      origin: 'https://help.acme.example',
    });
    expect(sent.status).toBe(200);
    expect(sent.headers.get('access-control-allow-origin')).toBe('https://help.acme.example');
  });
});
