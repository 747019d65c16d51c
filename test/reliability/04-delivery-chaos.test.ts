/**
 * Delivery chaos: every event of all three sources (Stripe signed, Zendesk
 * signed, Salesforce Outbound Messages over SOAP and HMAC-signed CDC JSON) is
 * delivered one to three times, in a random order, after random delays, by
 * concurrent senders — and the stored records are byte for byte those of a
 * run that delivered each event once, in order, to a single-threaded worker.
 * Seeded: the seed is printed, and RELIABILITY_SEED replays a run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/demo/standins/common.js';
import { announce, scaled, seedFor } from './support/env.js';
import { expectSameRecords, snapshotRecords } from './support/records.js';
import { startStack, type Stack } from './support/stack.js';
import { customerTraffic } from './support/stream.js';
import { scenario } from './support/summary.js';
import { pool, WebhookClient, type Wire } from './support/wire.js';

const EVENTS = scaled(2_000, 300);
const CUSTOMERS = Math.max(10, Math.round(EVENTS / 25));
const SEED = seedFor(404);
const MAX_DELAY_MS = 150;
const s = scenario('04-delivery-chaos', 'each event delivered 1-3 times, random order and delays, all sources');
const stacks: Stack[] = [];
const clients: WebhookClient[] = [];

afterAll(async () => {
  for (const c of clients) await c.close();
  for (const st of stacks) await st.stop().catch(() => undefined);
  s.save();
});

async function deliver(stack: Stack, deliveries: Wire[], concurrency: number, delay: () => number) {
  const client = new WebhookClient(stack.daemon.url, { connections: concurrency });
  clients.push(client);
  return pool(deliveries, concurrency, async (w) => {
    const wait = delay();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return client.send(w);
  });
}

describe('delivery chaos', () => {
  it('any order, any number of deliveries, any delays: the same records, byte for byte, as one ordered delivery each', async () => {
    const wires = customerTraffic(EVENTS, CUSTOMERS, SEED, 9);
    const random = seededRandom(SEED);
    const deliveries = wires.flatMap((w) => Array.from({ length: 1 + Math.floor(random() * 3) }, () => w));
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
    }
    const kinds = Object.fromEntries(
      ['stripe', 'zendesk', 'salesforce-json', 'salesforce-soap'].map((k) => [
        k,
        wires.filter((w) => w.kind === k).length,
      ]),
    );
    announce('04-delivery-chaos', {
      events: EVENTS,
      customers: CUSTOMERS,
      deliveries: deliveries.length,
      seed: SEED,
      ...kinds,
    });
    s.set({ seed: SEED });
    for (const k of Object.values(kinds)) expect(k).toBeGreaterThan(0);

    const ordered = await startStack('chaos-ordered', { worker: { concurrency: 1 } });
    stacks.push(ordered);
    const chaotic = await startStack('chaos-shuffled', { worker: { concurrency: 8 } });
    stacks.push(chaotic);
    const [once, many] = await Promise.all([
      deliver(ordered, wires, 1, () => 0),
      deliver(chaotic, deliveries, 32, () => Math.floor(random() * MAX_DELAY_MS)),
    ]);
    await Promise.all([ordered.drain(120_000), chaotic.drain(120_000)]);
    const expected = await snapshotRecords(ordered.daemon.redis, ordered.prefix);
    const actual = await snapshotRecords(chaotic.daemon.redis, chaotic.prefix);

    const counts = (answers: typeof many) =>
      answers.reduce(
        (n, o) => {
          const body = o.text.startsWith('{') ? (JSON.parse(o.text) as { accepted?: number; duplicate?: number }) : {};
          return {
            accepted: n.accepted + (body.accepted ?? 0),
            duplicate: n.duplicate + (body.duplicate ?? 0),
            soapAcks: n.soapAcks + (o.text.includes('<Ack>true</Ack>') ? 1 : 0),
          };
        },
        { accepted: 0, duplicate: 0, soapAcks: 0 },
      );
    const chaosCounts = counts(many);
    const failed = await chaotic.daemon.queue.getFailedCount();
    const differing =
      [...expected].filter(([k, v]) => actual.get(k) !== v).length +
      [...actual.keys()].filter((k) => !expected.has(k)).length;
    // Per event there is nothing to count here: an event is "lost" if any record differs from the ordered run's.
    s.set({ eventsSent: deliveries.length, applied: differing === 0 ? wires.length : undefined, lost: differing });
    s.detail('distinctEvents', wires.length);
    s.detail('deliveries', deliveries.length);
    s.detail('answers', chaosCounts);
    s.detail('retriedDeliveries', many.filter((o) => o.attempts > 1).length);
    s.detail('records', actual.size);
    s.detail('recordsDiffering', differing);
    s.detail('kinds', kinds);

    expect(once.filter((o) => o.status !== 200)).toEqual([]);
    expect(many.filter((o) => o.status !== 200).map((o) => o.statuses)).toEqual([]);
    expect(failed).toBe(0);
    expect(expected.size).toBeGreaterThanOrEqual(CUSTOMERS);
    expectSameRecords(actual, expected, 'records after chaotic delivery');
    s.pass();
  }, 240_000);
});
