import { describe, expect, it } from 'vitest';
import { signHmac } from '../../src/webhooks/hmac.js';
import { testDaemonForFile, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { post, queuedJobs } from '../support/http.js';

let daemon: TestDaemon;
const secret = TEST_SECRETS.PORTAL_EVENTS_SECRET;

testDaemonForFile((d) => (daemon = d));

describe('POST /events/portal', () => {
  it('enqueues a signed batch of portal activity, one job per event', async () => {
    const body = JSON.stringify({
      events: [
        {
          id: 'pe-1',
          type: 'search',
          occurred_at: '2026-11-20T10:00:00Z',
          contact: { email: 'Ann@Example.com' },
          session_id: 's-1',
          query: 'invoice copy',
          result_count: 0,
        },
        {
          id: 'pe-2',
          type: 'invoice_download',
          occurred_at: '2026-11-20T10:01:00Z',
          contact: { email: 'ann@example.com' },
          session_id: 's-1',
          invoice_id: 'in_123',
        },
      ],
    });
    const res = await post(daemon, '/events/portal', body, { 'x-portal-sync-signature': signHmac(body, secret) });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 2 });
    const jobs = await queuedJobs(daemon);
    expect(jobs.map((j) => j.id).sort()).toEqual(['portal-pe-1', 'portal-pe-2']);
    expect(jobs.every((j) => j.data.refs.email === 'ann@example.com')).toBe(true);
  });

  it('quarantines the invalid event of a batch and still accepts the valid one', async () => {
    const body = JSON.stringify({
      events: [
        {
          id: 'pe-3',
          type: 'article_view',
          occurred_at: '2026-11-20T10:02:00Z',
          contact: { zendesk_user_id: 42 },
          article_id: '360001',
        },
        { id: 'pe-4', type: 'teleport', occurred_at: '2026-11-20T10:02:00Z', contact: { email: 'ann@example.com' } },
      ],
    });
    const res = await post(daemon, '/events/portal', body, { 'x-portal-sync-signature': signHmac(body, secret) });
    expect(res.status).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 1, quarantined: 1 });
    expect((await daemon.ingestor.listQuarantine()).some((q) => q.eventId === 'pe-4')).toBe(true);
  });

  it('refuses unsigned activity', async () => {
    const body = JSON.stringify({
      id: 'pe-5',
      type: 'search',
      occurred_at: '2026-11-20T10:00:00Z',
      contact: { email: 'x@example.com' },
    });
    expect((await post(daemon, '/events/portal', body)).status).toBe(400);
    expect((await queuedJobs(daemon)).some((j) => j.id === 'portal-pe-5')).toBe(false);
  });
});

describe('event ids', () => {
  it('two events whose ids differ only in a character a job id cannot hold are both accepted, not one lost as a duplicate', async () => {
    const event = (id: string) => ({
      id,
      type: 'search',
      occurred_at: '2026-11-20T10:00:00Z',
      contact: { email: 'ids@example.com' },
      query: id,
    });
    const body = JSON.stringify({ events: [event('X:1'), event('X_1'), event('注文-1'), event('請求-1')] });
    const res = await post(daemon, '/events/portal', body, { 'x-portal-sync-signature': signHmac(body, secret) });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 4, duplicate: 0 });
    const queued = (await queuedJobs(daemon)).filter((j) => j.data.refs.email === 'ids@example.com');
    expect(queued.map((j) => j.data.eventId).sort()).toEqual(['X:1', 'X_1', '注文-1', '請求-1'].sort());
    expect(new Set(queued.map((j) => j.id)).size).toBe(4);
    // The redelivery of each is still a duplicate.
    const again = await post(daemon, '/events/portal', body, { 'x-portal-sync-signature': signHmac(body, secret) });
    expect(again.json()).toMatchObject({ accepted: 0, duplicate: 4 });
  });
});
