/**
 * From the tracker to the report on a real Redis: portal activity and tickets
 * go in through DeflectionTracker (the writer), the report reads them back
 * through createDeflectionData, and the figures are the ones counted by hand.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeDeflectionReport, type DeflectionReport } from '../../../src/sync/deflection/report.js';
import type { TrackedActivity } from '../../../src/sync/deflection/session.js';
import { createDeflectionData } from '../../../src/sync/deflection/store.js';
import { DeflectionTracker } from '../../../src/sync/deflection/tracker.js';
import type { TicketCategory } from '../../../src/sync/events/source-event.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const prefix = uniquePrefix();
const MIN = 60_000;
const HOUR = 60 * MIN;
const at = (iso: string) => Date.parse(iso);
let redis: Redis;
let tracker: DeflectionTracker;
let clock = at('2026-11-10T09:00:00Z');
let report: DeflectionReport;

function activity(
  eventId: string,
  iso: string,
  type: string,
  hint: TicketCategory | null,
  extra: { query?: string; resultCount?: number } = {},
): TrackedActivity {
  return { eventId, atMs: at(iso), summary: { type, at: iso, ...extra }, hint };
}
const ticket = (ticketId: string, customerId: string, category: TicketCategory, iso: string) =>
  tracker.onTicket({ ticketId, customerId, category, createdAt: at(iso) });

beforeAll(async () => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  tracker = new DeflectionTracker({
    redis,
    prefix,
    settings: { sessionIdleMs: 30 * MIN, windowMs: 24 * HOUR, lateTicketGraceMs: HOUR },
    now: () => clock,
  });
  // Five customer records (the report counts records; their content does not matter here).
  for (const id of ['cust_a', 'cust_b', 'cust_c', 'cust_d', 'cust_e']) await redis.set(`${prefix}:rec:${id}`, '{}');

  const ann = { customerId: 'cust_a', contact: 'ann@example.com' };
  const search = activity('e-a1', '2026-11-10T09:00:00.000Z', 'search', 'billing', {
    query: 'Download invoice',
    resultCount: 0,
  });
  await tracker.onActivity({ ...ann, activity: search, noResultQuery: 'Download invoice' });
  await tracker.onActivity({ ...ann, activity: search, noResultQuery: 'Download invoice' }); // redelivered: nothing changes
  await tracker.onActivity({
    ...ann,
    activity: activity('e-a2', '2026-11-10T09:05:00.000Z', 'invoice_download', 'billing'),
  });

  const bob = { customerId: 'cust_b', contact: 'bob@example.com' };
  await tracker.onActivity({
    ...bob,
    activity: activity('e-b1', '2026-11-10T10:00:00.000Z', 'search', 'billing', {
      query: 'vat number',
      resultCount: 0,
    }),
    noResultQuery: 'vat number',
  });
  clock = at('2026-11-10T10:10:00Z');
  await ticket('t-1', 'cust_b', 'billing', '2026-11-10T10:10:00.000Z');

  await tracker.onActivity({
    customerId: 'cust_c',
    contact: 'cat@example.com',
    activity: activity('e-c1', '2026-11-12T10:00:00.000Z', 'article_view', 'documents'),
  });
  await tracker.onActivity({
    customerId: 'cust_d',
    contact: 'dan@example.com',
    activity: activity('e-d1', '2026-11-15T23:00:00.000Z', 'article_view', 'account'),
  });
  await ticket('t-0', 'cust_c', 'account', '2026-11-05T10:00:00.000Z');
  await ticket('t-2', 'cust_e', 'onboarding', '2026-11-14T12:00:00.000Z');

  clock = at('2026-11-17T01:00:00Z');
  await tracker.sweep();
  report = await computeDeflectionReport(createDeflectionData(redis, prefix), {
    from: new Date('2026-11-09T00:00:00Z'),
    to: new Date('2026-11-16T00:00:00Z'),
  });
});
afterAll(async () => {
  tracker?.close();
  redis?.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('deflection report over what the tracker recorded (ISO week 2026-W46)', () => {
  it("counts the week's sessions and outcomes", () => {
    // Sessions: ann, bob, cat, dan (dan's starts Sunday 23:00, inside the week).
    expect(report.sessions).toBe(4);
    expect(report.portalAdoption).toEqual({ customersWithSession: 4, customers: 5, rate: 0.8 });
    // ann deflected at her window's end (Wed 09:05), cat on Fri 10:00; bob escalated by t-1.
    // dan's window ends Mon 23:00, after the week: not yet an outcome of this week.
    expect({ deflected: report.deflected, escalated: report.escalated }).toEqual({ deflected: 2, escalated: 1 });
    expect(report.selfServiceResolutionRate).toBeCloseTo(2 / 3, 12);
    expect(report.trend).toEqual([
      { week: '2026-W46', start: '2026-11-09', partial: false, sessions: 4, deflected: 2, escalated: 1 },
    ]);
  });

  it("rates each category from the sessions' hints and the escalating ticket", () => {
    const used = report.byCategory.filter((c) => c.deflected + c.escalated > 0);
    expect(used).toEqual([
      { category: 'billing', deflected: 1, escalated: 1, rate: 0.5 },
      { category: 'documents', deflected: 1, escalated: 0, rate: 1 },
    ]);
  });

  it('lists each no-result search once, however often it was delivered', () => {
    expect(report.noResultSearches).toEqual({
      total: 2,
      distinctQueries: 2,
      top: [
        { query: 'download invoice', count: 1 },
        { query: 'vat number', count: 1 },
      ],
    });
  });

  it('compares tickets per customer with the week before', () => {
    // t-1 and t-2 this week (2 / 5 = 0.4), t-0 the week before (1 / 5 = 0.2): twice as many, −100%.
    expect(report.ticketDeflection.current).toMatchObject({ tickets: 2, perCustomer: 0.4 });
    expect(report.ticketDeflection.prior).toMatchObject({ tickets: 1, perCustomer: 0.2 });
    expect(report.ticketDeflection.rate).toBeCloseTo(-1, 12);
  });

  it('gives no baseline when the week before reaches back past the kept history (deflection.historyDays)', async () => {
    // History trimmed up to the Wednesday of the week before: its tickets are partly gone.
    await redis.set(tracker.keys.trimmedUntil, String(at('2026-11-04T00:00:00Z')));
    try {
      const trimmed = await computeDeflectionReport(createDeflectionData(redis, prefix), {
        from: new Date('2026-11-09T00:00:00Z'),
        to: new Date('2026-11-16T00:00:00Z'),
      });
      expect(trimmed.ticketDeflection.current).toMatchObject({ tickets: 2, perCustomer: 0.4 });
      expect(trimmed.ticketDeflection.prior).toMatchObject({ tickets: 0, perCustomer: null });
      expect(trimmed.ticketDeflection.rate).toBeNull();
    } finally {
      await redis.del(tracker.keys.trimmedUntil);
    }
  });
});
