/**
 * Outbound webhooks through the real pipeline: signed webhooks from Stripe,
 * Zendesk and the portal go in; two subscribers — one taking everything,
 * one filtered — verify every delivery with the `standardwebhooks` package
 * and end up with exactly the events the scenario makes, each once, and a
 * customer's events in the order their changes were stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendStripe, sendZendesk, until } from '../support/e2e.js';
import { fixtureJson } from '../support/http.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { iso, sendActivity, sendTicket } from '../e2e/deflection-support.js';
import { newSecret, startConsumer, type Consumer } from './support/consumer.js';
import { outboundEnv } from './support/setup.js';

const ACC_A = '0015e00000OutAAAAZ';
const ACC_D = '0015e00000OutDDAAZ';
const ORG_D = '7000000000202';
const ORG_B = '7000000000101';

let p: TestPipeline;
let all: Consumer;
let billing: Consumer;
const allSecret = newSecret();
const billingSecret = newSecret();

const subCreated = fixtureJson<any>('stripe/customer.subscription.updated.json').created as number;
const drained = async () => p.drain();

async function recordId(key: string): Promise<string> {
  const record = await p.worker.store.findByKey(key);
  if (!record) throw new Error(`no record for ${key}`);
  return record.id;
}

const seq = (c: Consumer, customerId: string | null) =>
  c.received.filter((r) => r.customerId === customerId).map((r) => `${r.type}@${r.version}`);

beforeAll(async () => {
  [all, billing] = await Promise.all([startConsumer(allSecret), startConsumer(billingSecret)]);
  p = await startTestPipeline(
    outboundEnv([
      { id: 'everything', url: all.url, secret: allSecret },
      {
        id: 'billing-service',
        url: billing.url,
        secret: billingSecret,
        events: ['invoice.available', 'billing.*'],
        requires: ['salesforceAccountId'],
      },
    ]),
  );

  // A: a paying customer whose subscription falls past due.
  const a = (file: string, edit: (e: any) => void = () => undefined) =>
    sendStripe(p.daemon, file, (e) => {
      if (e.data.object.metadata) e.data.object.metadata = { salesforce_account_id: ACC_A };
      edit(e);
    });
  await a('customer.created.json');
  await drained();
  await a('customer.subscription.updated.json');
  await drained();
  await a('invoice.finalized.json');
  await drained();
  await a('invoice.paid.json');
  await drained();
  await a('customer.subscription.updated.json', (e) => {
    e.created = subCreated + 1000;
    e.data.object.status = 'past_due';
  });
  await drained();

  // B: a Zendesk organization's ticket, opened then solved.
  await sendZendesk(p.daemon, 'ticket.created.refund_form.json', (e) => (e.detail.organization_id = ORG_B));
  await drained();
  await sendZendesk(p.daemon, 'ticket.status_changed.json', (e) => {
    Object.assign(e.detail, { id: '5312', organization_id: ORG_B, updated_at: '2026-03-06T10:00:00Z' });
    e.subject = 'zen:ticket:5312';
  });
  await drained();

  // C: searches the portal, finds nothing, opens a ticket: an escalated self-service session.
  // Minutes ago, so the session's window is still open when the ticket comes (trigger times have minute resolution).
  const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
  await sendActivity(p.daemon, {
    id: 'out-act-1',
    type: 'search',
    occurred_at: iso(T0),
    contact: { email: 'carol@outbound.example' },
    session_id: 's-out',
    query: 'refund',
    result_count: 0,
  });
  await drained();
  await sendTicket(p.daemon, {
    id: '6101',
    email: 'carol@outbound.example',
    createdAt: iso(T0 + 120_000).replace(/:\d{2}\.\d{3}Z$/, 'Z'),
    subject: 'Refund please',
  });
  await drained();

  // D: a Zendesk organization and a Stripe customer, then the customer names the organization's Account: one customer.
  await sendZendesk(p.daemon, 'organization.created.json', (e) =>
    Object.assign(e.detail, { id: ORG_D, external_id: ACC_D, name: 'Merge Co' }),
  );
  await drained();
  await sendStripe(p.daemon, 'customer.created.json', (e) =>
    Object.assign(e.data.object, { id: 'cus_OutMerge01', email: 'merge@outbound.example', metadata: {} }),
  );
  await drained();
  await sendStripe(p.daemon, 'customer.updated.json', (e) =>
    Object.assign(e.data.object, {
      id: 'cus_OutMerge01',
      email: 'merge@outbound.example',
      metadata: { salesforce_account_id: ACC_D },
    }),
  );
  await drained();

  // E: a subscription that names another Account than its customer does: kept apart, as a conflict.
  await sendStripe(p.daemon, 'customer.created.json', (e) =>
    Object.assign(e.data.object, {
      id: 'cus_OutConflict01',
      email: 'conflict@outbound.example',
      metadata: { salesforce_account_id: '0015e00000OutE1AAJ' },
    }),
  );
  await drained();
  await sendStripe(p.daemon, 'customer.subscription.updated.json', (e) =>
    Object.assign(e.data.object, {
      id: 'sub_OutConflict01',
      customer: 'cus_OutConflict01',
      metadata: { salesforce_account_id: '0015e00000OutE2AAJ' },
    }),
  );
  await drained();

  // A job no retry can fix: dead-lettered.
  await p.daemon.queue.add('bogus', { v: 1, not: 'a source event' } as never, { jobId: 'out-bogus-1' });
  await drained();
}, 60_000);

afterAll(async () => {
  await p?.stop();
  await Promise.all([all?.close(), billing?.close()]);
});

describe('outbound webhooks after a scripted scenario', () => {
  it('gives the subscriber of everything exactly the expected events per customer, in order', async () => {
    const [A, B, C, D, E, F] = await Promise.all([
      recordId('stripe:cus_TestAcme01'),
      recordId(`zdorg:${ORG_B}`),
      recordId('email:carol@outbound.example'),
      recordId('stripe:cus_OutMerge01'),
      recordId('stripe:cus_OutConflict01'),
      recordId('sfacct:0015e00000OutE2AAJ'),
    ]);
    const expected: Record<string, string[]> = {
      [A]: [
        'customer.created@1',
        'customer.updated@2',
        'billing.status_changed@2',
        'customer.updated@3',
        'invoice.available@3',
        'customer.updated@4',
        'invoice.available@4',
        'customer.updated@5',
        'billing.status_changed@5',
      ],
      [B]: ['customer.created@1', 'ticket.status_changed@1', 'customer.updated@2', 'ticket.status_changed@2'],
      [C]: ['customer.created@1', 'customer.updated@2', 'ticket.status_changed@2', 'deflection.recorded@2'],
      [D]: ['customer.created@1', 'customer.merged@2', 'customer.updated@2'],
      [E]: ['customer.created@1'],
      [F]: ['customer.created@1', 'customer.identity_conflict@1', 'billing.status_changed@1'],
    };
    const total = Object.values(expected).reduce((n, l) => n + l.length, 0) + 1 /* Z's created */ + 1; /* dead letter */
    await until('every event delivered', () => all.received.length >= total, 20_000);
    await new Promise((r) => setTimeout(r, 500)); // nothing more arrives
    const dump = () => all.received.map((r) => `${r.customerId} ${r.type}@${r.version}`).join('\n');
    expect(all.received.length, dump()).toBe(total);
    for (const [customer, types] of Object.entries(expected))
      expect(seq(all, customer), `events of ${customer}`).toEqual(types);
    // The organization's record, merged into D, had its own customer.created before the merge.
    const mergedAway = all.received.find((r) => r.type === 'customer.merged')?.body.data.mergedIds[0];
    const others = all.received.filter((r) => !Object.keys(expected).includes(r.customerId ?? ''));
    expect(others.map((r) => `${r.customerId} ${r.type}@${r.version}`).sort()).toEqual([
      `${mergedAway} customer.created@1`,
      'null sync.dead_lettered@null',
    ]);
    expect(new Set(all.received.map((r) => r.id)).size).toBe(total);
    expect(all.rejected).toEqual([]);
  });

  it('sends each event in the Standard Webhooks shape: id, type, timestamp, data with the customer and its version', () => {
    for (const r of all.received) {
      expect(r.headers['webhook-id']).toBe(r.body.id);
      expect(r.body.id).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(Date.parse(r.body.timestamp)).not.toBeNaN();
      expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(r.headers['content-type']).toBe('application/json');
    }
    const pastDue = all.received.find(
      (r) => r.type === 'billing.status_changed' && r.body.data.to.status === 'past_due',
    );
    expect(pastDue?.body.data).toMatchObject({
      from: { status: 'active' },
      to: { status: 'past_due' },
      customer: { version: 5, links: { stripeCustomerId: 'cus_TestAcme01', salesforceAccountId: ACC_A } },
    });
    const [opened, paid] = all.received.filter((r) => r.type === 'invoice.available');
    expect(opened?.body.data).toMatchObject({
      change: 'new',
      previousStatus: null,
      invoice: {
        id: 'in_TestAcme01',
        status: 'open',
        hostedInvoiceUrl: expect.stringMatching(/^https:\/\/invoice\.stripe\.com\//),
        invoicePdf: expect.stringMatching(/^https:\/\/pay\.stripe\.com\/.*\/pdf/),
      },
    });
    expect(paid?.body.data).toMatchObject({
      change: 'changed',
      previousStatus: 'open',
      invoice: { id: 'in_TestAcme01', status: 'paid' },
    });
    const updated = all.received.find((r) => r.type === 'customer.updated' && r.version === 5);
    expect(updated?.body.data.changed).toEqual(['billing']);
    expect(updated?.body.data.before.billing.status).toBe('active');
    expect(updated?.body.data.after.billing.status).toBe('past_due');
    const solved = all.received.find(
      (r) => r.type === 'ticket.status_changed' && r.version === 2 && r.body.data.to === 'solved',
    );
    expect(solved?.body.data).toMatchObject({ from: 'new', to: 'solved', ticket: { id: '5312' } });
    const merged = all.received.find((r) => r.type === 'customer.merged');
    expect(merged?.body.data.mergedIds).toHaveLength(1);
    const deflection = all.received.find((r) => r.type === 'deflection.recorded');
    expect(deflection?.body.data.deflection).toMatchObject({ outcome: 'escalated', ticketId: '6101' });
    const dead = all.received.find((r) => r.type === 'sync.dead_lettered');
    expect(dead?.body.data).toMatchObject({
      customer: null,
      queue: 'events',
      jobId: 'out-bogus-1',
      reason: expect.stringMatching(/not a v1 SourceEvent/),
    });
  });

  it('gives the filtered subscriber only invoice and billing events of customers with a Salesforce Account', async () => {
    const A = await recordId('stripe:cus_TestAcme01');
    const F = await recordId('sfacct:0015e00000OutE2AAJ');
    await until('billing events delivered', () => billing.received.length >= 5, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(seq(billing, A)).toEqual([
      'billing.status_changed@2',
      'invoice.available@3',
      'invoice.available@4',
      'billing.status_changed@5',
    ]);
    expect(seq(billing, F)).toEqual(['billing.status_changed@1']);
    expect(billing.received).toHaveLength(5);
    // The same event has the same id for every subscriber.
    const ids = new Set(all.received.map((r) => r.id));
    expect(billing.received.every((r) => ids.has(r.id))).toBe(true);
  });

  it('records every attempt for `webhooks deliveries`, and counts them on /metrics', async () => {
    const attempts = await p.worker.outbound.store.attempts('everything');
    expect(attempts.length).toBe(all.received.length);
    expect(attempts.every((a) => a.outcome === 'delivered' && a.status === 204 && a.latencyMs >= 0)).toBe(true);
    const text = await (await fetch(`${p.daemon.url}/metrics`)).text();
    expect(text).toContain(
      `portal_sync_outbound_deliveries_total{subscription="everything",outcome="delivered"} ${all.received.length}`,
    );
    expect(text).toMatch(/portal_sync_outbound_events_total\{type="customer.created"\} 7/);
    expect(text).toContain('portal_sync_outbound_pending{subscription="everything"} 0');
    expect(text).toContain('portal_sync_outbound_paused{subscription="billing-service"} 0');
    // Never a secret, a signature or a body in the logs.
    const logs = p.daemon.logs.join('');
    for (const r of all.received.slice(0, 5)) expect(logs).not.toContain(r.headers['webhook-signature']!.slice(3));
    expect(logs).not.toContain(allSecret.slice(6));
  });
});
