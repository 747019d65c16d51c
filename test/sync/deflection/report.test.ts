/**
 * The deflection report's numbers, against a fixture small enough to count
 * by hand (test/fixtures/deflection/two-weeks.json): every figure below is
 * worked out in the comment beside it, not copied from the code's output.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildDeflectionReport,
  computeDeflectionReport,
  type DeflectionReportInput,
} from '../../../src/sync/deflection/report.js';
import { isoWeekLabel, isoWeekStart, parseSince, SinceError } from '../../../src/sync/deflection/report-period.js';
import { TICKET_CATEGORIES } from '../../../src/sync/events/source-event.js';
import type { DeflectionEvent, DeflectionData, TicketOpened } from '../../../src/sync/deflection/types.js';
import { loadDeflectionFixture, memoryDeflectionData } from '../../fixtures/deflection/fixture.js';

const fx = loadDeflectionFixture('two-weeks');
const input: DeflectionReportInput = {
  events: fx.events,
  sessions: fx.sessions,
  noResultSearches: fx.noResultSearches,
  // The whole ticket list for both periods: the report must pick each period's own tickets.
  ticketsOpened: fx.tickets,
  priorTicketsOpened: fx.tickets,
  customerCount: fx.customerCount,
};
const empty: DeflectionReportInput = {
  events: [],
  sessions: [],
  noResultSearches: [],
  ticketsOpened: [],
  priorTicketsOpened: [],
  customerCount: 0,
};

describe('deflection report over two hand-counted weeks', () => {
  const r = buildDeflectionReport(input, fx.period);

  it('counts sessions started in [from, to) once each, and adoption over all customers', () => {
    // s-1, s-2, s-3 (listed twice), s-4, s-5; s-0 starts a second early, s-9 exactly at `to`.
    expect(r.sessions).toBe(5);
    // ann (s-1, s-2), bob, cat, dan = 4 of 8 customers.
    expect(r.portalAdoption).toEqual({ customersWithSession: 4, customers: 8, rate: 0.5 });
    expect(r.period).toEqual({ from: '2026-11-04T00:00:00.000Z', to: '2026-11-18T00:00:00.000Z', days: 14 });
  });

  it('counts outcomes decided in the period, and resolution = deflected / classified', () => {
    // Deflected: s-8 (session began before the period, decided inside it), s-1, s-3, s-4.
    // Escalated: s-2 (listed twice), s-5. s-9 is decided after `to`.
    expect(r.deflected).toBe(4);
    expect(r.escalated).toBe(2);
    expect(r.selfServiceResolutionRate).toBeCloseTo(4 / 6, 12);
  });

  it('gives each category its own rate, and none where nothing was classified', () => {
    const by = Object.fromEntries(r.byCategory.map((c) => [c.category, c]));
    expect(r.byCategory.map((c) => c.category)).toEqual([...TICKET_CATEGORIES]);
    expect(by.billing).toMatchObject({ deflected: 2, escalated: 1 }); // s-1, s-4 | s-2
    expect(by.billing?.rate).toBeCloseTo(2 / 3, 12);
    expect(by.documents).toEqual({ category: 'documents', deflected: 1, escalated: 0, rate: 1 });
    expect(by.account).toEqual({ category: 'account', deflected: 0, escalated: 1, rate: 0 });
    expect(by.status).toEqual({ category: 'status', deflected: 1, escalated: 0, rate: 1 });
    expect(by.onboarding).toEqual({ category: 'onboarding', deflected: 0, escalated: 0, rate: null });
    expect(by.other).toEqual({ category: 'other', deflected: 0, escalated: 0, rate: null }); // s-9 is outside
  });

  it('ranks no-result searches by count, merging case and spacing, skipping blanks', () => {
    // In the period: "Download invoice", "  download   invoice ", "download invoice" (11-16) = 3;
    // "vat number", "VAT number" = 2; "cancel plan" = 1. The 11-01 one is outside; "   " is no query.
    expect(r.noResultSearches).toEqual({
      total: 6,
      distinctQueries: 3,
      top: [
        { query: 'download invoice', count: 3 },
        { query: 'vat number', count: 2 },
        { query: 'cancel plan', count: 1 },
      ],
    });
  });

  it('compares tickets per customer with the equally long period before', () => {
    // Now [11-04, 11-18): 201, 202, 203 (listed twice) = 3 → 3/8 = 0.375 per customer.
    // Before [10-21, 11-04): 101…106 = 6 → 6/8 = 0.75 (100 is a day too early).
    // Rate: 1 − 0.375 / 0.75 = 0.5.
    expect(r.ticketDeflection).toEqual({
      current: { from: '2026-11-04T00:00:00.000Z', to: '2026-11-18T00:00:00.000Z', tickets: 3, perCustomer: 0.375 },
      prior: { from: '2026-10-21T00:00:00.000Z', to: '2026-11-04T00:00:00.000Z', tickets: 6, perCustomer: 0.75 },
      rate: 0.5,
    });
  });

  it('buckets the trend by ISO week, marking the weeks the period cuts', () => {
    // W45 (Mon 11-02): sessions s-1, s-2; deflected s-8 (11-04), s-1 (11-05); escalated s-2.
    // W46 (Mon 11-09): sessions s-3, s-4; deflected s-3, s-4.   W47 (Mon 11-16): s-5, escalated s-5.
    expect(r.trend).toEqual([
      { week: '2026-W45', start: '2026-11-02', partial: true, sessions: 2, deflected: 2, escalated: 1 },
      { week: '2026-W46', start: '2026-11-09', partial: false, sessions: 2, deflected: 2, escalated: 0 },
      { week: '2026-W47', start: '2026-11-16', partial: true, sessions: 1, deflected: 0, escalated: 1 },
    ]);
  });

  it('reads the same figures through DeflectionData, asking the prior period for tickets', async () => {
    const asked: string[] = [];
    const data = memoryDeflectionData(fx);
    const spy: DeflectionData = {
      ...data,
      ticketsOpened: (from, to) => {
        asked.push(`${from.toISOString()}/${to.toISOString()}`);
        return data.ticketsOpened(from, to);
      },
    };
    expect(await computeDeflectionReport(spy, fx.period)).toEqual(r);
    expect(asked.sort()).toEqual([
      '2026-10-21T00:00:00.000Z/2026-11-04T00:00:00.000Z',
      '2026-11-04T00:00:00.000Z/2026-11-18T00:00:00.000Z',
    ]);
  });
});

describe('deflection report edge cases', () => {
  const period = { from: new Date('2026-11-04T00:00:00Z'), to: new Date('2026-11-18T00:00:00Z') };
  const ticket = (id: string, createdAt: string): TicketOpened => ({
    ticketId: id,
    customerId: 'cust_x',
    category: 'billing',
    createdAt,
  });

  it('gives no rate (null, not 0 or NaN) when nothing happened', () => {
    const r = buildDeflectionReport(empty, period);
    expect(r.selfServiceResolutionRate).toBeNull();
    expect(r.portalAdoption.rate).toBeNull();
    expect(r.ticketDeflection.rate).toBeNull();
    expect(r.byCategory.every((c) => c.rate === null)).toBe(true);
    expect(r.trend.map((w) => w.sessions + w.deflected + w.escalated)).toEqual([0, 0, 0]);
    expect(JSON.stringify(r)).not.toMatch(/NaN|Infinity/);
  });

  it('shows a negative ticket deflection when tickets per customer rose', () => {
    const tickets = [
      ticket('1', '2026-10-25T00:00:00Z'),
      ticket('2', '2026-11-05T00:00:00Z'),
      ticket('3', '2026-11-06T00:00:00Z'),
    ];
    const r = buildDeflectionReport(
      { ...empty, customerCount: 10, ticketsOpened: tickets, priorTicketsOpened: tickets },
      period,
    );
    expect(r.ticketDeflection.rate).toBeCloseTo(1 - 0.2 / 0.1, 12); // twice the tickets: −100%
  });

  it('gives no ticket deflection without tickets in the prior period to compare with', () => {
    const tickets = [ticket('1', '2026-11-05T00:00:00Z')];
    expect(
      buildDeflectionReport(
        { ...empty, customerCount: 10, ticketsOpened: tickets, priorTicketsOpened: tickets },
        period,
      ).ticketDeflection.rate,
    ).toBeNull();
  });

  it('lists the ten most frequent no-result queries, ties alphabetically', () => {
    const searches = Array.from({ length: 12 }, (_, i) =>
      Array.from({ length: i < 2 ? 5 : 1 }, () => ({
        query: `q${String(i).padStart(2, '0')}`,
        at: '2026-11-05T00:00:00Z',
        customerId: 'c',
      })),
    ).flat();
    const r = buildDeflectionReport({ ...empty, noResultSearches: searches.reverse() }, period);
    expect(r.noResultSearches.top.map((q) => `${q.query}:${q.count}`)).toEqual([
      'q00:5',
      'q01:5',
      'q02:1',
      'q03:1',
      'q04:1',
      'q05:1',
      'q06:1',
      'q07:1',
      'q08:1',
      'q09:1',
    ]);
    expect(r.noResultSearches).toMatchObject({ total: 20, distinctQueries: 12 });
  });

  it('keeps the trend consistent with the totals whatever the events and their order', () => {
    const at = fc
      .integer({ min: Date.parse('2026-10-01T00:00:00Z'), max: Date.parse('2026-12-31T00:00:00Z') })
      .map((t) => new Date(t).toISOString());
    const event = fc.record({
      n: fc.integer({ min: 0, max: 40 }),
      outcome: fc.constantFrom('deflected' as const, 'escalated' as const),
      category: fc.constantFrom(...TICKET_CATEGORIES),
      at,
    });
    fc.assert(
      // One decision per session (the tracker decides each session once): session numbers are unique.
      fc.property(fc.uniqueArray(event, { maxLength: 60, selector: (e) => e.n }), (raw) => {
        const events: DeflectionEvent[] = raw.map((e) => ({
          id: `defl-s${e.n}`,
          customerId: 'c',
          sessionId: `s${e.n}`,
          contact: 'a@example.com',
          outcome: e.outcome,
          category: e.category,
          sessionStartedAt: e.at,
          decidedAt: e.at,
          lastActivity: null,
        }));
        const r = buildDeflectionReport({ ...empty, events }, period);
        const sum = (k: 'deflected' | 'escalated') => r.trend.reduce((n, w) => n + w[k], 0);
        expect(sum('deflected')).toBe(r.deflected);
        expect(sum('escalated')).toBe(r.escalated);
        expect(r.byCategory.reduce((n, c) => n + c.deflected + c.escalated, 0)).toBe(r.deflected + r.escalated);
        expect(buildDeflectionReport({ ...empty, events: [...events].reverse() }, period).deflected).toBe(r.deflected);
      }),
    );
  });
});

describe('report periods', () => {
  const now = new Date('2026-11-23T12:00:00Z');

  it('reads --since as days, weeks or an ISO date, until now', () => {
    expect(parseSince('30d', now)).toEqual({ from: new Date('2026-10-24T12:00:00Z'), to: now });
    expect(parseSince('4w', now).from).toEqual(new Date('2026-10-26T12:00:00Z'));
    expect(parseSince('2026-10-01', now).from).toEqual(new Date('2026-10-01T00:00:00Z'));
    expect(parseSince('2026-10-01T08:00:00+02:00', now).from).toEqual(new Date('2026-10-01T06:00:00Z'));
  });

  it('refuses what is not a period in the past, saying what it accepts', () => {
    for (const bad of ['30', 'd30', '30m', '0d', '2026-13-01', 'yesterday', '2026-12-01', '99999d', ''])
      expect(() => parseSince(bad, now), bad).toThrow(SinceError);
    expect(() => parseSince('soon', now)).toThrow(/expected a span back from now \(24h, 7d, 2w\) or an ISO date/);
  });

  it('names ISO weeks by the year of their Thursday', () => {
    const label = (iso: string) => isoWeekLabel(isoWeekStart(Date.parse(iso)));
    expect(label('2026-11-04T00:00:00Z')).toBe('2026-W45');
    expect(label('2026-12-31T23:59:59Z')).toBe('2026-W53'); // 2026 starts on a Thursday: 53 weeks
    expect(label('2027-01-03T12:00:00Z')).toBe('2026-W53');
    expect(label('2027-01-04T00:00:00Z')).toBe('2027-W01');
    expect(label('2024-12-30T00:00:00Z')).toBe('2025-W01');
    expect(label('2021-01-03T00:00:00Z')).toBe('2020-W53');
  });
});
