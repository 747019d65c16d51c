/**
 * Subscribers having a bad day: one that fails every other request ends up
 * with every event, each once and in order per customer; one that is down
 * is paused after outbound.pauseAfterMs, shows so in `status` and on the
 * admin dashboard, and gets the whole backlog from `webhooks replay` once
 * it is back.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readStatus } from '../../src/sync/admin/status.js';
import { replaySubscription } from '../../src/sync/outbound/replay.js';
import { subscriptionsOf } from '../../src/sync/outbound/service.js';
import { subscriptionWants, type OutboundEvent } from '../../src/sync/outbound/types.js';
import { sendStripe, until } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { newSecret, startConsumer, type Consumer, type Received } from './support/consumer.js';
import { outboundEnv } from './support/setup.js';

const ADMIN_TOKEN = 'admin_token_outbound_0123456789';
let p: TestPipeline | undefined;
let consumer: Consumer | undefined;

afterEach(async () => {
  await p?.stop();
  await consumer?.close();
  p = consumer = undefined;
});

/** Customer n: created, then two invoices. Sent without waiting, so customers interleave. */
async function customers(pipeline: TestPipeline, tag: string, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const id = `cus_${tag}${i}`;
      await sendStripe(pipeline.daemon, 'customer.created.json', (e) =>
        Object.assign(e.data.object, { id, email: `${tag}${i}@faults.example`, metadata: {} }),
      );
      await pipeline.drain();
      for (const k of [1, 2]) {
        await sendStripe(pipeline.daemon, 'invoice.finalized.json', (e) =>
          Object.assign(e.data.object, {
            id: `in_${tag}${i}_${k}`,
            customer: id,
            customer_email: `${tag}${i}@faults.example`,
            number: `${tag}-${i}-${k}`,
          }),
        );
        await pipeline.drain();
      }
    }),
  );
}

/** What the log holds for a subscription, grouped by customer in emission order. */
async function recorded(pipeline: TestPipeline, subscriptionId: string): Promise<OutboundEvent[]> {
  const sub = subscriptionsOf(pipeline.daemon.config).find((s) => s.id === subscriptionId)!;
  return (await pipeline.worker.outbound.store.eventsSince(0)).filter((e) => subscriptionWants(sub, e));
}

function byCustomer<T extends { id: string }>(items: T[], customerOf: (t: T) => string | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of items) out.set(customerOf(t) ?? '-', [...(out.get(customerOf(t) ?? '-') ?? []), t.id]);
  return out;
}

function expectSameOrderPerCustomer(received: Received[], log: OutboundEvent[]): void {
  expect(received.map((r) => r.id).sort()).toEqual(log.map((e) => e.id).sort());
  expect(new Set(received.map((r) => r.id)).size).toBe(received.length);
  expect(byCustomer(received, (r) => r.customerId)).toEqual(byCustomer(log, (e) => e.data.customer?.id ?? null));
}

describe('a subscriber that fails half of its requests, then recovers', () => {
  it('ends with every event, each once, in order per customer', async () => {
    const secret = newSecret();
    consumer = await startConsumer(secret);
    let failures = 0;
    consumer.behave((n) =>
      n < 40 && n % 2 === 0
        ? (failures++, { status: n % 4 === 0 ? 500 : 429, headers: { 'retry-after': '0' } })
        : { status: 200 },
    );
    p = await startTestPipeline(outboundEnv([{ id: 'flaky', url: consumer.url, secret }]));
    await customers(p, 'Flaky', 6);
    const log = await recorded(p, 'flaky');
    expect(log.length).toBe(6 * 5); // created; per invoice: customer.updated + invoice.available
    await until('every event delivered', () => consumer!.received.length >= log.length, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(failures).toBe(20);
    expectSameOrderPerCustomer(consumer.received, log);
    const failed = await p.worker.outbound.store.attempts('flaky', { failedOnly: true });
    expect(failed).toHaveLength(20);
    expect(
      failed.every(
        (a) =>
          a.outcome === 'failed' && (a.status === 500 || a.status === 429) && a.error?.startsWith(`HTTP ${a.status}`),
      ),
    ).toBe(true);
    const state = await p.worker.outbound.store.state('flaky');
    expect(state).toMatchObject({ paused: false, failingSince: null, pending: 0, customersWaiting: 0 });
  });
});

describe('a subscriber that is down', () => {
  it('is paused after the window, shown as paused, and gets the backlog in order from replay', async () => {
    const secret = newSecret();
    consumer = await startConsumer(secret);
    const port = consumer.port;
    await consumer.close(); // down: connections are refused
    const started = new Date();
    p = await startTestPipeline({
      ...outboundEnv([{ id: 'downstream', url: `http://127.0.0.1:${port}/hooks`, secret }], { pauseAfterMs: 1_000 }),
      ADMIN_TOKEN,
    });
    await customers(p, 'Down', 3);
    const store = p.worker.outbound.store;
    await until('paused', async () => (await store.state('downstream')).paused, 15_000);
    const state = await store.state('downstream');
    expect(state.pausedReason).toMatch(/network error|ECONNREFUSED/);
    expect(Date.parse(state.pausedAt!) - Date.parse(state.failingSince!)).toBeGreaterThanOrEqual(1_000);
    const failed = await store.attempts('downstream', { failedOnly: true });
    expect(failed.length).toBeGreaterThan(1);
    expect(failed.every((a) => a.status === null && /network error/.test(a.error ?? ''))).toBe(true);

    // While paused, new events join the lanes in order, and nothing is sent.
    const pendingAtPause = state.pending;
    const recordedAtPause = (await recorded(p, 'downstream')).length;
    const attemptsAtPause = (await store.attempts('downstream')).length;
    await customers(p, 'Later', 2);
    await until('the later events recorded and queued', async () => {
      const now = (await recorded(p!, 'downstream')).length;
      return now === 5 * 5 && (await store.state('downstream')).pending === pendingAtPause + (now - recordedAtPause);
    });
    await new Promise((r) => setTimeout(r, 300));
    expect((await store.attempts('downstream')).length).toBe(attemptsAtPause);
    const pendingBeforeReplay = (await store.state('downstream')).pending;

    // `status` and the admin dashboard say so.
    const status = await readStatus(p.daemon.redis, p.daemon.config);
    expect(status.subscriptions).toEqual([expect.objectContaining({ id: 'downstream', paused: true })]);
    expect(status.queues).toHaveProperty('outbound-downstream');
    const html = await (
      await fetch(`${p.daemon.url}/admin`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).text();
    expect(html).toMatch(/Outbound webhooks \(1\)/);
    expect(html).toMatch(/<span class="tag">downstream<\/span>[^<]*<span class="warn">paused<\/span>/);
    expect(html).toContain('portal-sync webhooks replay downstream --since');

    // Back up on the same address; replay sends everything since the start, once, in order.
    consumer = await startConsumer(secret, { port });
    const sub = subscriptionsOf(p.daemon.config)[0]!;
    const result = await replaySubscription(store, p.worker.outbound.queues.get('downstream')!, sub, started);
    const log = await recorded(p, 'downstream');
    expect(log.length).toBe(5 * 5);
    expect(result).toMatchObject({ subscription: 'downstream', matched: log.length, resumed: true, customers: 5 });
    expect(result.queued).toBe(log.length - pendingBeforeReplay); // what was still queued is not queued twice
    await until('the backlog delivered', () => consumer!.received.length >= log.length, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expectSameOrderPerCustomer(consumer.received, log);
    expect(await store.state('downstream')).toMatchObject({ paused: false, pending: 0 });
  });
});

afterAll(async () => {
  await p?.stop();
  await consumer?.close();
});
