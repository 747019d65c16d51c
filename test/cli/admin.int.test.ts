/** status and dlq, as an admin uses them during an incident, on the real Redis. */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { parseZendeskWebhook } from '../../src/connectors/zendesk/events.js';
import { signZendeskPayload } from '../../src/connectors/zendesk/signature.js';
import { signHmac } from '../../src/webhooks/hmac.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { fixtureJson, post } from '../support/http.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { cliArgv } from '../support/cli.js';

/** Each test starts the CLI several times (a second or more each on a loaded 2-core machine). */
const CLI_TEST_TIMEOUT_MS = 90_000;

const root = resolve(import.meta.dirname, '../..');
let p: TestPipeline;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, cliArgv(args), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', REDIS_URL: p.daemon.config.redis.url, REDIS_PREFIX: p.daemon.prefix },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  p = await startTestPipeline();
});
afterAll(async () => {
  await p.stop();
});

describe('identity commands', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('links two records from the command line, and inspect --explain shows who did it and why', async () => {
    const stripeEvent = fixtureJson<any>('stripe/customer.created.json');
    stripeEvent.id = 'evt_cli_link';
    stripeEvent.data.object.id = 'cus_CliLink01';
    stripeEvent.data.object.metadata = {};
    const body = JSON.stringify(stripeEvent);
    await post(p.daemon, '/webhooks/stripe', body, {
      'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
    });
    await p.drain();
    expect(cli('identity', 'link', 'cus_CliLink01', 'cus_Nobody', '--reason', 'x').err).toMatch(
      /no customer record for cus_Nobody/,
    );
    expect(cli('identity', 'link', 'cus_CliLink01', 'billing@example.com').code).toBe(2); // --reason is required
    expect(JSON.parse(cli('identity', 'conflicts', '--json').out)).toEqual([]);
    const unlink = cli(
      'identity',
      'unlink',
      'cus_CliLink01',
      'billing@example.com',
      '--reason',
      'shared inbox',
      '--by',
      'ann',
    );
    expect(unlink.out).toMatch(/unlinked: email:billing@example.com no longer points at cust_/);
    const explain = cli('inspect', 'cus_CliLink01', '--explain');
    expect(explain.out).toMatch(/unlink email:billing@example.com by ann: shared inbox/);
  });
});

describe('refused ids', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('identity refused and inspect --explain show, as printed, a placeholder cross-id that linked nothing', async () => {
    const stripeEvent = fixtureJson<any>('stripe/customer.created.json');
    stripeEvent.id = 'evt_cli_refused';
    Object.assign(stripeEvent.data.object, {
      id: 'cus_CliRefused01',
      email: 'refused@cli.example',
      metadata: { salesforce_account_id: 'N/A' },
    });
    const body = JSON.stringify(stripeEvent);
    await post(p.daemon, '/webhooks/stripe', body, {
      'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
    });
    await p.drain();
    const refused = cli('identity', 'refused');
    expect(refused.code).toBe(0);
    expect(refused.out).toMatch(
      /^salesforceAccountId "N\/A": placeholder; record cust_\w+ \(event stripe evt_cli_refused customer\.created, linked by stripe:cus_CliRefused01, email:refused@cli\.example\)$/m,
    );
    expect(JSON.parse(cli('identity', 'refused', '--json').out)).toContainEqual(
      expect.objectContaining({ ref: 'salesforceAccountId', value: 'N/A', reason: 'placeholder' }),
    );
    const explain = cli('inspect', 'cus_CliRefused01', '--explain');
    expect(explain.out).toMatch(/identity: linked by email:refused@cli\.example, stripe:cus_CliRefused01/);
    expect(explain.out).toMatch(
      /refused ids \(linked nothing\):\n {4}salesforceAccountId "N\/A": placeholder \(event stripe evt_cli_refused customer\.created\)/,
    );
  });
});

describe('dead letters and status', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('dead-letters a job no retry can fix, with its reason, and status counts it', async () => {
    await p.daemon.queue.add('legacy', { v: 0, what: 'a job written by an older release' } as never, {
      jobId: 'legacy-1',
    });
    await p.drain();
    const list = cli('dlq', 'list', '--json');
    expect(list.code).toBe(0);
    const letters = JSON.parse(list.out);
    expect(letters).toContainEqual(
      expect.objectContaining({
        kind: 'job',
        id: 'legacy-1',
        queue: 'events',
        reason: expect.stringMatching(/not a v1 SourceEvent/),
      }),
    );
    const status = JSON.parse(cli('status', '--json').out);
    expect(status.deadLettered).toBe(1);
    expect(status.queues.events).toMatchObject({ failed: 1, waiting: 0 });
  });

  it('shows a quarantined webhook with its reason, and replays it once the payload parses', async () => {
    const event = fixtureJson<any>('stripe/customer.subscription.updated.json');
    event.id = 'evt_quarantine_1';
    delete event.data.object.items;
    const body = JSON.stringify(event);
    const res = await post(p.daemon, '/webhooks/stripe', body, {
      'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
    });
    expect(res.status).toBe(202);
    const [entry] = await p.daemon.ingestor.listQuarantine();
    expect(entry).toMatchObject({ source: 'stripe', eventId: 'evt_quarantine_1' });
    // Still invalid with today's parser: replay says so and keeps it.
    const again = cli('dlq', 'replay', '--id', entry!.id);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/still invalid: .*items/);
    expect(await p.daemon.ingestor.listQuarantine()).toHaveLength(1);
    // As if a parser fix had shipped: the stored payload now parses, and replay enqueues it.
    const fixed = fixtureJson<any>('stripe/customer.subscription.updated.json');
    fixed.id = 'evt_quarantine_1';
    await p.daemon.redis.hset(p.daemon.ingestor.quarantined.keys.bodies, entry!.id, JSON.stringify(fixed));
    const replay = cli('dlq', 'replay', '--id', entry!.id, '--json');
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.out)).toEqual([{ id: entry!.id, outcome: 'enqueued 1 event(s), 0 already seen' }]);
    await p.drain();
    expect(await p.worker.store.findByKey('stripe:cus_TestAcme01')).not.toBeNull();
    expect(await p.daemon.ingestor.listQuarantine()).toHaveLength(0);
  });

  it('replays a quarantined Zendesk trigger body under the id its signed timestamp gave it', async () => {
    const trigger = fixtureJson<any>('zendesk/trigger.ticket.json');
    trigger.ticket.updated_at = 'yesterday at noon';
    const body = JSON.stringify(trigger);
    const ts = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const res = await post(p.daemon, '/webhooks/zendesk', body, {
      'x-zendesk-webhook-signature': signZendeskPayload(body, TEST_SECRETS.ZENDESK_WEBHOOK_SECRET, ts),
      'x-zendesk-webhook-signature-timestamp': ts,
      'x-zendesk-webhook-invocation-id': '01HV000000000000000000QRT1',
    });
    expect(res.status).toBe(202);
    const entry = (await p.daemon.ingestor.listQuarantine()).find((e) => e.source === 'zendesk')!;
    expect(entry).toMatchObject({ eventId: expect.stringMatching(/^ticket-5302-/), signedAt: ts });
    // As if a parser fix had shipped: the stored body parses, and its event is named by the same signed timestamp.
    const fixed = fixtureJson<any>('zendesk/trigger.ticket.json');
    await p.daemon.redis.hset(p.daemon.ingestor.quarantined.keys.bodies, entry.id, JSON.stringify(fixed));
    await p.daemon.redis.hset(
      p.daemon.ingestor.quarantined.keys.meta,
      entry.id,
      JSON.stringify({ ...entry, eventId: null }),
    );
    const replay = cli('dlq', 'replay', '--id', entry.id, '--json');
    expect(JSON.parse(replay.out)).toEqual([{ id: entry.id, outcome: 'enqueued 1 event(s), 0 already seen' }]);
    const expected = parseZendeskWebhook(fixed, { signedAt: ts });
    const eventId = expected.kind === 'events' ? expected.events[0]!.eventId : '';
    expect(await p.daemon.redis.exists(p.daemon.ingestor.seenKey({ source: 'zendesk', eventId }))).toBe(1);
    expect((await p.daemon.ingestor.listQuarantine()).filter((e) => e.source === 'zendesk')).toHaveLength(0);
  });

  it('keeps one quarantine entry for a batch whatever number of its items fail', async () => {
    const before = (await p.daemon.ingestor.listQuarantine()).length;
    const items = Array.from({ length: 3 }, (_, i) => ({
      id: `pe-bad-${i}`,
      type: 'teleport',
      occurred_at: '2026-11-20T10:02:00Z',
      contact: { email: 'ann@example.com' },
    }));
    const raw = JSON.stringify({ events: items });
    const res = await post(p.daemon, '/events/portal', raw, {
      'x-portal-sync-signature': signHmac(raw, TEST_SECRETS.PORTAL_EVENTS_SECRET),
    });
    expect(res.status).toBe(202);
    expect(res.json()).toMatchObject({ quarantined: 3 });
    const entries = await p.daemon.ingestor.listQuarantine();
    expect(entries).toHaveLength(before + 1);
    expect(entries[0]).toMatchObject({
      source: 'portal',
      eventId: null,
      reason: expect.stringMatching(/^3 items failed their schema/),
    });
  });

  it('puts a dead-lettered job back in its queue on replay, and refuses a replay without ids', async () => {
    await p.worker.close();
    expect(cli('dlq', 'replay').code).toBe(2);
    const r = cli('dlq', 'replay', '--id', 'legacy-1');
    expect(r.out).toContain('legacy-1: back in the events queue');
    expect(await (await p.daemon.queue.getJob('legacy-1'))?.getState()).toBe('waiting');
  });
});
