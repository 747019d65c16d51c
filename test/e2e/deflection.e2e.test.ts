/**
 * Self-service deflection end to end: signed portal activity and Zendesk
 * ticket webhooks over HTTP, the events worker feeding the tracker, on real
 * Redis. The tracker's clock is injected, so 24 hours pass by moving it on
 * and running the sweep the scheduler would run.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jobIdFor } from '../../src/sync/events/source-event.js';
import { signHmac } from '../../src/webhooks/hmac.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { post } from '../support/http.js';
import {
  iso,
  sendActivity,
  sendTicket,
  startDeflectionPipeline,
  type DeflectionPipeline,
} from './deflection-support.js';

const HOUR = 3_600_000;
const START = Date.parse('2026-11-23T10:00:00.000Z');
const ALL = [new Date(START - 24 * HOUR), new Date(START + 60 * 24 * HOUR)] as const;
let clock = START;
let p: DeflectionPipeline;
/** Each test starts a few days after the last one ended: time, like in production, only moves on. */
let T0 = START;
beforeEach(() => {
  T0 = Math.ceil((clock + 2 * 24 * HOUR) / (24 * HOUR)) * 24 * HOUR + 10 * HOUR;
  clock = T0;
});

beforeAll(async () => {
  p = await startDeflectionPipeline({ now: () => clock });
});

afterAll(async () => {
  await p?.stop();
});

/** Moves the clock to `to` and lets the worker decide what is due, as its scheduled sweep would. */
async function passTime(to: number): Promise<void> {
  clock = to;
  await p.worker.tracker.sweep();
}

const eventsOf = async (email: string) => (await p.data.events(...ALL)).filter((e) => e.contact === email);

describe('deflection tracking through the daemon', () => {
  it('a search, then no ticket for 24 hours: deflected, with the category of what was looked at', async () => {
    const email = 'ann@deflected.example';
    await sendActivity(
      p.daemon,
      {
        id: 'd1-1',
        type: 'search',
        occurred_at: iso(T0),
        contact: { email },
        query: 'download invoice',
        result_count: 4,
      },
      { id: 'd1-2', type: 'invoice_download', occurred_at: iso(T0 + 60_000), contact: { email }, invoice_id: 'in_1' },
    );
    await p.drain();
    await passTime(T0 + 23 * HOUR);
    expect(await eventsOf(email)).toEqual([]);
    await passTime(T0 + 60_000 + 24 * HOUR + 5 * 60_000);
    const [event, ...rest] = await eventsOf(email);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      outcome: 'deflected',
      category: 'billing',
      sessionStartedAt: iso(T0),
      decidedAt: iso(T0 + 60_000 + 24 * HOUR),
      lastActivity: { type: 'invoice_download', invoiceId: 'in_1' },
    });
    const record = await p.worker.store.get(event!.customerId);
    expect(record?.derived.selfService.lastActivityAt).toBe(iso(T0 + 60_000));
  });

  it("a search that found nothing, then a ticket 2 hours later: escalated, with that search and the ticket's category", async () => {
    const email = 'bob@escalated.example';
    await sendActivity(p.daemon, {
      id: 'd2-1',
      type: 'search',
      occurred_at: iso(T0),
      contact: { email },
      session_id: 'hc-77',
      query: 'change billing address',
      result_count: 0,
    });
    await p.drain();
    await sendTicket(p.daemon, {
      id: '6001',
      email,
      createdAt: iso(T0 + 2 * HOUR),
      subject: 'How do I change the address on my invoices?',
    });
    await p.drain();
    const [event, ...rest] = await eventsOf(email);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      outcome: 'escalated',
      category: 'billing',
      ticketId: '6001',
      decidedAt: iso(T0 + 2 * HOUR),
      lastActivity: { type: 'search', query: 'change billing address', resultCount: 0 },
    });
    // The ticket on the record carries the same category; the report sees the search and the ticket.
    const record = await p.worker.store.get(event!.customerId);
    expect(record?.derived.support?.tickets).toEqual([expect.objectContaining({ id: '6001', category: 'billing' })]);
    expect((await p.data.noResultSearches(...ALL)).filter((s) => s.customerId === event!.customerId)).toEqual([
      { query: 'change billing address', at: iso(T0), customerId: event!.customerId },
    ]);
    expect((await p.data.ticketsOpened(...ALL)).filter((t) => t.ticketId === '6001')).toEqual([
      { ticketId: '6001', customerId: event!.customerId, category: 'billing', createdAt: iso(T0 + 2 * HOUR) },
    ]);
    // The window's end changes nothing any more.
    await passTime(T0 + 30 * HOUR);
    expect(await eventsOf(email)).toHaveLength(1);
  });

  it('activity from customer A and a ticket from customer B: A is deflected', async () => {
    const a = 'carol@a-corp.example';
    const b = 'dave@b-corp.example';
    await sendActivity(p.daemon, {
      id: 'd3-1',
      type: 'ticket_status_view',
      occurred_at: iso(T0),
      contact: { email: a },
      ticket_id: 5300,
    });
    await p.drain();
    await sendTicket(p.daemon, { id: '6002', email: b, createdAt: iso(T0 + HOUR), subject: 'Cannot log in' });
    await p.drain();
    expect(await eventsOf(a)).toEqual([]);
    await passTime(T0 + 25 * HOUR);
    expect(await eventsOf(a)).toEqual([expect.objectContaining({ outcome: 'deflected', category: 'status' })]);
    expect(await eventsOf(b)).toEqual([]);
  });

  it('the same activity delivered twice changes nothing, whether the edge or the worker sees the repeat', async () => {
    const email = 'erin@twice.example';
    const search = {
      id: 'd4-1',
      type: 'search',
      occurred_at: iso(T0),
      contact: { email },
      query: 'refund policy',
      result_count: 0,
    };
    expect(await sendActivity(p.daemon, search)).toMatchObject({ accepted: 1 });
    expect(await sendActivity(p.daemon, search)).toMatchObject({ accepted: 0, duplicate: 1 });
    await p.drain();
    const sessionsBefore = await p.data.sessions(...ALL);
    const searchesBefore = await p.data.noResultSearches(...ALL);
    // A replay straight into the queue (as `dlq replay` or a lost lock would): past the edge's dedupe.
    const [job] = await p.daemon.queue
      .getJobs(['completed'], 0, 1000)
      .then((jobs) => jobs.filter((j) => j.id === jobIdFor('portal', 'd4-1')));
    await p.daemon.queue.add('replay', job!.data, { jobId: 'replay-d4-1' });
    await p.drain();
    expect(await p.data.sessions(...ALL)).toEqual(sessionsBefore);
    expect(await p.data.noResultSearches(...ALL)).toEqual(searchesBefore);
    await passTime(T0 + 25 * HOUR);
    expect(await eventsOf(email)).toEqual([expect.objectContaining({ outcome: 'deflected', category: 'billing' })]);
  });

  it("a case-deflection signal relayed from Experience Cloud is activity of the member's session", async () => {
    const email = 'frank@experience.example';
    const message = {
      channel: '/event/Portal_Case_Deflection__e',
      data: {
        schema: 'kQdv5tBWyTNrSWXmBYpWnA',
        payload: {
          CreatedDate: iso(T0),
          CreatedById: '0055e000001AbCdAAK',
          Contact_Id__c: '0035e00000FrAnKAAV',
          Contact_Email__c: email,
          Source_Type__c: 'caseCreateDeflectionModal',
          Source__c: 'reset my password',
          Destination__c: 'ka05e000000AbCdAAK',
          Deflection_Answer__c: 'YES',
          Confirmation_Answer__c: 'YES',
          State__c: 'ConfirmationMessageState',
          Case_Created__c: false,
        },
        event: { EventUuid: '5d0a3c2e-8a41-4f6b-9d7e-2c1b0a9f8e71', replayId: 1207 },
      },
    };
    const body = JSON.stringify(message);
    const res = await post(p.daemon, '/webhooks/salesforce', body, {
      'x-portal-sync-signature': signHmac(body, TEST_SECRETS.SALESFORCE_WEBHOOK_SECRET),
    });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 1 });
    await p.drain();
    await passTime(T0 + 25 * HOUR);
    expect(await eventsOf(email)).toEqual([
      expect.objectContaining({
        outcome: 'deflected',
        category: 'account',
        lastActivity: expect.objectContaining({
          type: 'case_deflection',
          query: 'reset my password',
          articleId: 'ka05e000000AbCdAAK',
        }),
      }),
    ]);
  });

  it('counts every outcome in hourly buckets', async () => {
    const counts = await p.data.counts(...ALL);
    expect(counts).toMatchObject({
      deflected: 4,
      escalated: 1,
      'escalated:billing': 1,
      'deflected:billing': 2,
      'deflected:status': 1,
      'deflected:account': 1,
    });
    expect(counts['sessions']).toBe(5);
  });
});
