import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signZendeskPayload } from '../../src/connectors/zendesk/signature.js';
import { startTestDaemon, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { fixtureJson, post, queuedJobs } from '../support/http.js';

let daemon: TestDaemon;
const secret = TEST_SECRETS.ZENDESK_WEBHOOK_SECRET;
const secondSecret = 'zendesk_trigger_webhook_secret_0123';

function signed(body: string, opts: { secret?: string; at?: Date } = {}) {
  const ts = (opts.at ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    'x-zendesk-webhook-signature': signZendeskPayload(body, opts.secret ?? secret, ts),
    'x-zendesk-webhook-signature-timestamp': ts,
    'user-agent': 'Zendesk Webhook',
  };
}

beforeAll(async () => {
  daemon = await startTestDaemon({ ZENDESK_WEBHOOK_SECRET: `${secret},${secondSecret}` });
});
afterAll(async () => {
  await daemon.stop();
});

describe('POST /webhooks/zendesk', () => {
  it('enqueues an event-subscribed user event once per envelope id', async () => {
    const body = JSON.stringify(fixtureJson('zendesk/user.created.json'));
    const first = await post(daemon, '/webhooks/zendesk', body, signed(body));
    const again = await post(daemon, '/webhooks/zendesk', body, signed(body));
    expect(first.status).toBe(200);
    expect(first.json()).toMatchObject({ accepted: 1 });
    expect(again.json()).toMatchObject({ duplicate: 1, accepted: 0 });
    const jobs = (await queuedJobs(daemon)).filter((j) => j.data.type === 'zen:event-type:user.created');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.data.refs).toMatchObject({ zendeskUserId: '8000000000201', email: 'jane.doe@example.com' });
  });

  it('accepts a ticket trigger webhook signed with the second configured secret', async () => {
    const body = JSON.stringify(fixtureJson('zendesk/trigger.ticket.json'));
    const res = await post(daemon, '/webhooks/zendesk', body, {
      ...signed(body, { secret: secondSecret }),
      'x-zendesk-webhook-invocation-id': 'inv-trigger-1',
    });
    expect(res.status).toBe(200);
    const job = (await queuedJobs(daemon)).find((j) => j.data.objectId === '5302');
    expect(job?.data.data).toMatchObject({ kind: 'zendesk.ticket', status: 'open' });
  });

  it('dedupes a trigger delivery on what its signature covers, whatever unsigned invocation id it carries', async () => {
    const trigger = fixtureJson<any>('zendesk/trigger.ticket.json');
    trigger.ticket.id = '5401';
    const body = JSON.stringify(trigger);
    const headers = signed(body);
    const first = await post(daemon, '/webhooks/zendesk', body, {
      ...headers,
      'x-zendesk-webhook-invocation-id': 'inv-5401-a',
    });
    const replayed = await post(daemon, '/webhooks/zendesk', body, {
      ...headers,
      'x-zendesk-webhook-invocation-id': 'inv-5401-b',
    });
    expect(first.json()).toMatchObject({ accepted: 1 });
    expect(replayed.json()).toMatchObject({ accepted: 0, duplicate: 1 });
    expect((await queuedJobs(daemon)).filter((j) => j.data.objectId === '5401')).toHaveLength(1);
  });

  it('a replayed body with a chosen invocation id never makes a later genuine delivery a duplicate', async () => {
    const old = fixtureJson<any>('zendesk/trigger.ticket.json');
    old.ticket.id = '5402';
    const oldBody = JSON.stringify(old);
    // Someone replays a captured signed body, naming the invocation id Zendesk will give its next delivery.
    await post(daemon, '/webhooks/zendesk', oldBody, {
      ...signed(oldBody),
      'x-zendesk-webhook-invocation-id': 'inv-next-5402',
    });
    const next = { ...old, ticket: { ...old.ticket, status: 'Solved', updated_at: '2026-03-04T10:15Z' } };
    const nextBody = JSON.stringify(next);
    const genuine = await post(daemon, '/webhooks/zendesk', nextBody, {
      ...signed(nextBody),
      'x-zendesk-webhook-invocation-id': 'inv-next-5402',
    });
    expect(genuine.json()).toMatchObject({ accepted: 1, duplicate: 0 });
    const statuses = (await queuedJobs(daemon))
      .filter((j) => j.data.objectId === '5402')
      .map((j) => (j.data.data as { status?: string }).status)
      .sort();
    expect(statuses).toEqual(['open', 'solved']);
  });

  it('refuses a signature made with another secret, and a missing one', async () => {
    const body = JSON.stringify(fixtureJson('zendesk/organization.created.json'));
    const forged = await post(
      daemon,
      '/webhooks/zendesk',
      body,
      signed(body, { secret: 'not_the_secret_at_all_0000' }),
    );
    expect(forged.status).toBe(401);
    const missing = await post(daemon, '/webhooks/zendesk', body);
    expect(missing.status).toBe(400);
    expect((await queuedJobs(daemon)).some((j) => j.data.type === 'zen:event-type:organization.created')).toBe(false);
  });

  it('refuses a delivery whose signed timestamp is more than 5 minutes old', async () => {
    const body = JSON.stringify(fixtureJson('zendesk/organization.external_id_changed.json'));
    const res = await post(daemon, '/webhooks/zendesk', body, signed(body, { at: new Date(Date.now() - 6 * 60_000) }));
    expect(res.status).toBe(401);
    expect(res.json().reason).toBe('stale_timestamp');
  });

  it('answers 400 to a signed body that is not JSON', async () => {
    const body = '{"type": "zen:event-type:user.created",';
    expect((await post(daemon, '/webhooks/zendesk', body, signed(body))).status).toBe(400);
  });

  it('acknowledges an event type it does not use without enqueueing it', async () => {
    const body = JSON.stringify(fixtureJson('zendesk/unhandled.article.published.json'));
    const res = await post(daemon, '/webhooks/zendesk', body, signed(body));
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ ignored: 1, accepted: 0 });
  });

  it('quarantines a known event whose detail fails its schema', async () => {
    const envelope = fixtureJson<any>('zendesk/user.created.json');
    envelope.id = 'b2c1d7e4-0000-4000-8000-00000000bad1';
    delete envelope.detail.id;
    const body = JSON.stringify(envelope);
    const res = await post(daemon, '/webhooks/zendesk', body, signed(body));
    expect(res.status).toBe(202);
    const q = (await daemon.ingestor.listQuarantine()).find((e) => e.eventId === envelope.id);
    expect(q?.source).toBe('zendesk');
  });
});
