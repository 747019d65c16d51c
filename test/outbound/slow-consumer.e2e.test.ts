/**
 * A slow subscriber never slows what the portal shows: the time from a
 * Stripe webhook to the invoice on the Zendesk stand-in (real node-zendesk
 * SDK) is the same whether the subscriber answers at once or takes seconds
 * per delivery, because deliveries run in their own queue and worker and
 * emission is a Redis write inside the events worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { salesforceId18 } from '../../src/sync/events/ids.js';
import { freePort, sendStripe, sendZendesk, until } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { newSecret, startConsumer, type Consumer } from './support/consumer.js';
import { outboundEnv } from './support/setup.js';
import { seedZendeskSetup, zendeskTargetEnv, zendeskWebhookTo } from '../support/zendesk-setup.js';

const ACCOUNT = salesforceId18('0015e00000SlowS'); // a real Account id: a malformed one would not link
const SLOW_MS = 4_000;
let zd: ZendeskStandIn;
let p: TestPipeline;
let consumer: Consumer;
let orgId: number;
const secret = newSecret();

beforeAll(async () => {
  const port = await freePort();
  zd = await startZendeskStandIn({ webhook: zendeskWebhookTo(port) });
  orgId = zd.seedOrganization({ name: 'Slow Co', external_id: ACCOUNT }).id;
  seedZendeskSetup(zd);
  consumer = await startConsumer(secret);
  p = await startTestPipeline(
    {
      PORT: String(port),
      ...zendeskTargetEnv(zd),
      ...outboundEnv([{ id: 'slowpoke', url: consumer.url, secret, timeoutMs: 10_000 }], { concurrency: 2 }),
    },
    (c) => void (c.push.debounceMs = 200),
    createPortalTarget,
  );
  await sendZendesk(p.daemon, 'organization.created.json', (e) =>
    Object.assign(e.detail, { id: String(orgId), external_id: ACCOUNT }),
  );
  await sendStripe(
    p.daemon,
    'customer.created.json',
    (e) => (e.data.object.metadata = { salesforce_account_id: ACCOUNT }),
  );
  await p.drainAll();
});

afterAll(async () => {
  await p?.stop();
  await Promise.all([consumer?.close(), zd?.close()]);
});

/** Webhook acknowledged → invoice on the portal, for `n` invoices one after another; the median in ms. */
async function pushLatency(tag: string, n: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = `in_${tag}_${i}`;
    const sent = Date.now();
    await sendStripe(p.daemon, 'invoice.finalized.json', (e) => {
      Object.assign(e.data.object, { id, number: `${tag}-${i}` });
      e.data.object.metadata = {};
    });
    await until(
      `invoice ${id} on the portal`,
      () => zd.state.customObjectRecords.get('portal_invoice')?.get(id),
      10_000,
    );
    samples.push(Date.now() - sent);
  }
  return samples.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

describe('a subscriber that takes seconds to answer', () => {
  it('does not delay portal pushes', async () => {
    const fast = await pushLatency('fast', 5);
    await until(
      'the fast consumer caught up',
      async () => (await p.worker.outbound.store.state('slowpoke')).pending === 0,
      10_000,
    );

    consumer.behave(() => ({ status: 204, delayMs: SLOW_MS }));
    const before = consumer.requests;
    const slow = await pushLatency('slow', 5);
    const state = await p.worker.outbound.store.state('slowpoke');
    // The slow subscriber was busy all along: requests in flight, its events piling up behind them.
    expect(consumer.requests).toBeGreaterThan(before);
    expect(state.pending).toBeGreaterThan(0);
    const says = `median push latency: ${fast} ms with a fast subscriber, ${slow} ms with a slow one`;
    // Tied to deliveries, a push would wait for the subscriber's seconds; it does not, within measuring noise.
    expect(slow, says).toBeLessThan(fast + 500);
    expect(slow, says).toBeLessThan(SLOW_MS / 4);
  }, 60_000);

  it('still delivers everything to it, in order, once it has had the time', async () => {
    consumer.behave(() => ({ status: 204 }));
    const log = await p.worker.outbound.store.eventsSince(0);
    await until('every event delivered', () => consumer.received.length >= log.length, 30_000);
    expect(consumer.received.map((r) => r.version)).toEqual(log.map((e) => e.data.customer?.version ?? null));
  }, 40_000);
});
