/**
 * The tracker on real Redis with an injected clock: 24 hours pass by moving
 * the clock and sweeping, the way the scheduled sweep would.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createDeflectionData } from '../../../src/sync/deflection/store.js';
import { DeflectionTracker } from '../../../src/sync/deflection/tracker.js';
import type { TrackedActivity } from '../../../src/sync/deflection/session.js';
import type { TicketCategory } from '../../../src/sync/events/source-event.js';
import type { DeflectionEvent } from '../../../src/sync/deflection/types.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const settings = { sessionIdleMs: 30 * MIN, windowMs: 24 * HOUR, lateTicketGraceMs: 5 * MIN };
const T0 = Date.parse('2026-11-23T10:00:00Z');
const ALL = [new Date(0), new Date('2100-01-01T00:00:00Z')] as const;
/** Counters are hourly buckets: read the days around the test's clock, not a century. */
const DAYS = [new Date(T0 - 24 * HOUR), new Date(T0 + 10 * 24 * HOUR)] as const;

const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
const prefixes: string[] = [];
let clock = T0;
let prefix: string;
let published: DeflectionEvent[];
let scheduled: Array<[string, number]>;

function tracker(): DeflectionTracker {
  return new DeflectionTracker({
    redis,
    prefix,
    settings,
    now: () => clock,
    schedule: async (id, at) => void scheduled.push([id, at]),
    publish: async (e) => void published.push(e),
  });
}

let seq = 0;
function activity(
  atMs: number,
  type: string,
  extra: { query?: string; resultCount?: number; hint?: TicketCategory; eventId?: string } = {},
): TrackedActivity {
  return {
    eventId: extra.eventId ?? `pe-${seq++}`,
    atMs,
    summary: {
      type,
      at: new Date(atMs).toISOString(),
      query: extra.query ?? null,
      resultCount: extra.resultCount ?? null,
      articleId: null,
      invoiceId: null,
      ticketId: null,
    },
    hint: extra.hint ?? null,
  };
}

beforeEach(() => {
  prefix = uniquePrefix();
  prefixes.push(prefix);
  clock = T0;
  published = [];
  scheduled = [];
});

afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix(redisUrl(), p);
  redis.disconnect();
});

describe('deflection tracking', () => {
  it('a search with no ticket for 24 hours is deflected, once, at the end of its window', async () => {
    const t = tracker();
    expect(
      await t.onActivity({
        customerId: 'cust_a',
        contact: 'ann@example.com',
        activity: activity(T0, 'search', { query: 'download invoice', resultCount: 3, hint: 'billing' }),
      }),
    ).toBe('started');
    expect(scheduled).toHaveLength(1);
    clock = T0 + 24 * HOUR;
    expect(await t.sweep()).toBe(0); // the grace period for late ticket webhooks is not over yet
    clock = T0 + 24 * HOUR + 5 * MIN;
    expect(await t.sweep()).toBe(1);
    expect(await t.sweep()).toBe(0);
    const data = createDeflectionData(redis, prefix);
    const events = await data.events(...ALL);
    expect(events).toEqual([
      expect.objectContaining({
        customerId: 'cust_a',
        contact: 'ann@example.com',
        outcome: 'deflected',
        category: 'billing',
        decidedAt: '2026-11-24T10:00:00.000Z',
        lastActivity: expect.objectContaining({ type: 'search', query: 'download invoice' }),
      }),
    ]);
    expect(published).toEqual(events);
    expect(await data.counts(...DAYS)).toMatchObject({ sessions: 1, deflected: 1, 'deflected:billing': 1 });
    expect(await redis.llen(t.keys.outbox)).toBe(0);
    t.close();
  });

  it("a search that found nothing, then a ticket 2 hours later: escalated, with that search as the last activity and the ticket's category", async () => {
    const t = tracker();
    await t.onActivity({ customerId: 'cust_a', contact: 'ann@example.com', activity: activity(T0, 'session_start') });
    await t.onActivity({
      customerId: 'cust_a',
      contact: 'ann@example.com',
      activity: activity(T0 + MIN, 'search', { query: 'VAT number on invoice', resultCount: 0 }),
      noResultQuery: 'VAT number on invoice',
    });
    clock = T0 + 2 * HOUR;
    const { opened, escalated } = await t.onTicket({
      customerId: 'cust_a',
      ticketId: '5301',
      category: 'documents',
      createdAt: T0 + MIN + 2 * HOUR,
    });
    expect(opened).toBe(true);
    expect(escalated).toEqual([
      expect.objectContaining({
        outcome: 'escalated',
        category: 'documents',
        ticketId: '5301',
        decidedAt: '2026-11-23T12:01:00.000Z',
        lastActivity: expect.objectContaining({ type: 'search', query: 'VAT number on invoice', resultCount: 0 }),
      }),
    ]);
    const data = createDeflectionData(redis, prefix);
    expect(await data.noResultSearches(...ALL)).toEqual([
      { query: 'VAT number on invoice', at: '2026-11-23T10:01:00.000Z', customerId: 'cust_a' },
    ]);
    expect(await data.ticketsOpened(...ALL)).toEqual([
      { ticketId: '5301', customerId: 'cust_a', category: 'documents', createdAt: '2026-11-23T12:01:00.000Z' },
    ]);
    clock = T0 + 48 * HOUR;
    expect(await t.sweep()).toBe(0);
    expect((await data.events(...ALL)).map((e) => e.outcome)).toEqual(['escalated']);
    expect(published.map((e) => e.outcome)).toEqual(['escalated']);
    t.close();
  });

  it('activity from customer A and a ticket from customer B: A is deflected', async () => {
    const t = tracker();
    await t.onActivity({
      customerId: 'cust_a',
      contact: 'ann@a.example',
      activity: activity(T0, 'invoice_view', { hint: 'billing' }),
    });
    expect(
      (await t.onTicket({ customerId: 'cust_b', ticketId: '7001', category: 'billing', createdAt: T0 + HOUR }))
        .escalated,
    ).toEqual([]);
    clock = T0 + 25 * HOUR;
    await t.sweep();
    expect((await createDeflectionData(redis, prefix).events(...ALL)).map((e) => [e.customerId, e.outcome])).toEqual([
      ['cust_a', 'deflected'],
    ]);
    t.close();
  });

  it('the same activity delivered twice changes nothing', async () => {
    const t = tracker();
    const a = activity(T0, 'search', { query: 'refund', resultCount: 0 });
    expect(
      await t.onActivity({ customerId: 'cust_a', contact: 'ann@example.com', activity: a, noResultQuery: 'refund' }),
    ).toBe('started');
    const before = await redis.get(t.keys.session((await redis.get(t.keys.contact('ann@example.com')))!));
    expect(
      await t.onActivity({ customerId: 'cust_a', contact: 'ann@example.com', activity: a, noResultQuery: 'refund' }),
    ).toBe('duplicate');
    expect(await redis.get(t.keys.session((await redis.get(t.keys.contact('ann@example.com')))!))).toBe(before);
    const data = createDeflectionData(redis, prefix);
    expect(await data.sessions(...ALL)).toHaveLength(1);
    expect(await data.noResultSearches(...ALL)).toHaveLength(1);
    expect(await data.counts(...DAYS)).toEqual({ sessions: 1, noResultSearches: 1 });
    t.close();
  });

  it('a ticket counts as opened once, however often its events arrive', async () => {
    const t = tracker();
    const ticket = { customerId: 'cust_a', ticketId: '5302', category: 'billing' as const, createdAt: T0 };
    expect((await t.onTicket(ticket)).opened).toBe(true);
    expect((await t.onTicket(ticket)).opened).toBe(false);
    expect(await createDeflectionData(redis, prefix).ticketsOpened(...ALL)).toHaveLength(1);
    expect(await createDeflectionData(redis, prefix).counts(...DAYS)).toEqual({ tickets: 1, 'tickets:billing': 1 });
    t.close();
  });

  it('a ticket whose webhook came before the activity it followed still escalates the session', async () => {
    const t = tracker();
    await t.onTicket({ customerId: 'cust_a', ticketId: '5303', category: 'account', createdAt: T0 + 10 * MIN });
    await t.onActivity({
      customerId: 'cust_a',
      contact: 'ann@example.com',
      activity: activity(T0, 'search', { query: 'reset password' }),
    });
    const [event] = await createDeflectionData(redis, prefix).events(...ALL);
    expect(event).toMatchObject({ outcome: 'escalated', ticketId: '5303', category: 'account' });
    t.close();
  });

  it.each([
    {
      name: "sessions follow a merge of their customer's record, and the merged customer's ticket escalates them",
      session: 'cust_portal',
      ticket: 'cust_org',
      into: 'cust_org',
      ticketId: '5304',
    },
    {
      name: "a merged customer's recent tickets alone follow the merge and escalate the session of the customer it joined",
      session: 'cust_keeps',
      ticket: 'cust_gone',
      into: 'cust_keeps',
      ticketId: '5305',
    },
  ])('$name', async ({ session, ticket, into, ticketId }) => {
    const t = tracker();
    await t.onActivity({
      customerId: session,
      contact: 'ann@example.com',
      activity: activity(T0, 'ticket_status_view'),
    });
    await t.onTicket({ customerId: ticket, ticketId, category: 'status', createdAt: T0 + HOUR });
    expect(await createDeflectionData(redis, prefix).events(...ALL)).toEqual([]);
    const merged = session === into ? ticket : session;
    const escalated = await t.onMerged(into, [merged]);
    expect(escalated).toEqual([expect.objectContaining({ customerId: into, outcome: 'escalated', ticketId })]);
    expect(await createDeflectionData(redis, prefix).sessions(...ALL)).toEqual([
      expect.objectContaining({ customerId: into }),
    ]);
    t.close();
  });

  it('a merge of customers with no session and no recent ticket sends one EXISTS and no transaction', async () => {
    const sent: string[] = [];
    /** A connection whose commands, and those of its duplicates (the tracker's WATCH pool), are counted. */
    const counted = (conn: Redis): Redis => {
      const send = conn.sendCommand.bind(conn);
      conn.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
        sent.push(command.name);
        return (send as (...a: unknown[]) => unknown)(command, ...rest);
      }) as typeof conn.sendCommand;
      const duplicate = conn.duplicate.bind(conn);
      conn.duplicate = ((...a: Parameters<Redis['duplicate']>) => counted(duplicate(...a))) as Redis['duplicate'];
      return conn;
    };
    const own = counted(new Redis(redisUrl(), { maxRetriesPerRequest: null }));
    await own.ping();
    sent.length = 0;
    const t = new DeflectionTracker({
      redis: own,
      prefix,
      settings,
      now: () => clock,
      schedule: async () => undefined,
      publish: async () => undefined,
    });
    expect(await t.onMerged('cust_target', ['cust_quiet_1', 'cust_quiet_2'])).toEqual([]);
    expect(sent).toEqual(['exists']);
    t.close();
    own.disconnect();
  });

  it('decides each session exactly once when two workers, their close jobs and sweeps race', async () => {
    const [a, b] = [tracker(), tracker()];
    for (let i = 0; i < 20; i++) {
      await a.onActivity({
        customerId: `cust_${i % 4}`,
        contact: `c${i}@example.com`,
        activity: activity(T0 + i * MIN, 'article_view'),
      });
    }
    clock = T0 + 30 * HOUR;
    const ids = scheduled.map(([id, at]) => [id, at] as const);
    await Promise.all([a.sweep(), b.sweep(), ...ids.flatMap(([id, at]) => [a.closeDue(id, at), b.closeDue(id, at)])]);
    const data = createDeflectionData(redis, prefix);
    expect(await data.events(...ALL)).toHaveLength(20);
    expect((await data.counts(...DAYS)).deflected).toBe(20);
    expect(new Set(published.map((e) => e.id)).size).toBe(20);
    a.close();
    b.close();
  });

  it('a close job that comes before the window has ended waits, and one for an extended window stands down', async () => {
    const t = tracker();
    await t.onActivity({ customerId: 'cust_a', contact: 'ann@example.com', activity: activity(T0, 'search') });
    await t.onActivity({
      customerId: 'cust_a',
      contact: 'ann@example.com',
      activity: activity(T0 + 20 * MIN, 'search'),
    });
    const [[id, firstDue], [, secondDue]] = scheduled as [[string, number], [string, number]];
    expect(secondDue - firstDue).toBe(20 * MIN);
    clock = firstDue;
    expect(await t.closeDue(id, firstDue)).toEqual({ status: 'superseded' });
    expect(await t.closeDue(id, secondDue)).toEqual({ status: 'early', waitMs: 20 * MIN });
    clock = secondDue;
    expect(await t.closeDue(id, secondDue)).toMatchObject({ status: 'decided', event: { outcome: 'deflected' } });
    expect(await t.closeDue(id, secondDue)).toEqual({ status: 'not-open' });
    t.close();
  });
  it('keeps the history the report reads for historyMs, then the sweep drops it, hour by hour', async () => {
    const DAY = 24 * HOUR;
    const t = new DeflectionTracker({
      redis,
      prefix,
      settings,
      now: () => clock,
      historyMs: 30 * DAY,
      publish: async () => undefined,
    });
    // Two sessions 20 days apart, one escalated by a ticket, one deflected.
    await t.onActivity({
      customerId: 'cust_old',
      contact: 'old@example.com',
      activity: activity(T0, 'search', { query: 'vat invoice', resultCount: 0, hint: 'billing' }),
      noResultQuery: 'vat invoice',
    });
    await t.onTicket({ customerId: 'cust_old', ticketId: '7001', category: 'billing', createdAt: T0 + HOUR });
    const later = T0 + 20 * DAY;
    clock = later;
    await t.onActivity({
      customerId: 'cust_new',
      contact: 'new@example.com',
      activity: activity(later, 'invoice_view'),
    });
    clock = later + DAY + 10 * MIN;
    await t.sweep();
    const data = createDeflectionData(redis, prefix);
    const everything = async () => ({
      events: (await data.events(...ALL)).map((e) => e.customerId).sort(),
      counts: await data.counts(new Date(T0 - DAY), new Date(later + 2 * DAY)),
    });
    const before = await everything();
    expect(before.events).toEqual(['cust_new', 'cust_old']);
    expect(before.counts).toMatchObject({ sessions: 2, escalated: 1, deflected: 1, tickets: 1 });

    // 35 days after the first session: it, its ticket, its search and its hours are past the 30 days kept.
    clock = T0 + 35 * DAY;
    expect(await t.trimHistory({ force: true })).toMatchObject({ entries: 4 });
    const after = await everything();
    expect(after.events).toEqual(['cust_new']);
    expect(after.counts).toMatchObject({ sessions: 1, deflected: 1 });
    expect(after.counts).not.toHaveProperty('escalated');
    expect(after.counts).not.toHaveProperty('tickets');
    expect(await redis.exists(t.keys.counts(new Date(T0).toISOString().slice(0, 13)))).toBe(0);
    expect(await redis.exists(t.keys.counts(new Date(later).toISOString().slice(0, 13)))).toBe(1);
    // Nothing more to drop; and the sweep of another worker within the hour leaves it to the first.
    expect(await t.trimHistory({ force: true })).toEqual({ entries: 0, hours: 0 });
    expect(await t.trimHistory()).toEqual({ entries: 0, hours: 0 });
    t.close();
  });
});
