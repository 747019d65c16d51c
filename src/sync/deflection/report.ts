/**
 * The deflection report: what self-service achieved over a period. The math
 * is one pure function over plain arrays (`buildDeflectionReport`); the only
 * I/O is reading them through DeflectionData (`computeDeflectionReport`).
 *
 * Counting rules, so that every figure can be checked by hand:
 * - each item counts in the period its own time falls in, [from, to): a
 *   session when it started, an outcome when it was decided, a search or a
 *   ticket when it happened; items the store returns outside it are ignored;
 * - duplicates (same session id, event id or ticket id) count once; every
 *   no-result search counts (the same query twice is demand twice);
 * - a rate without a denominator is null, never 0 or NaN;
 * - by brand: a session, outcome and no-result search is its Help Center's brand, a ticket its own;
 *   `byBrand` splits the period by it (null: activity that named no brand), and the `brand` option
 *   keeps only one brand's items. The customer count (adoption, tickets per customer) stays every
 *   customer's: a customer belongs to no brand.
 */
import { TICKET_CATEGORIES, type TicketCategory } from '../events/source-event.js';
import type { DeflectionData, DeflectionEvent, NoResultSearch, SessionStart, TicketOpened } from './types.js';
import {
  inPeriod,
  isoDate,
  isoWeekLabel,
  isoWeekStart,
  isoWeeksOf,
  periodDays,
  priorPeriod,
  WEEK_LENGTH_MS,
  type ReportPeriod,
} from './report-period.js';

export interface CategoryFigures {
  category: TicketCategory;
  deflected: number;
  escalated: number;
  /** deflected / (deflected + escalated) in this category. */
  rate: number | null;
}

export interface TicketFigures {
  from: string;
  to: string;
  tickets: number;
  perCustomer: number | null;
}

export interface WeekFigures {
  /** ISO week, e.g. `2026-W48`. */
  week: string;
  /** Its Monday (UTC), `YYYY-MM-DD`. */
  start: string;
  /** The period covers only part of this week (its first or last). */
  partial: boolean;
  sessions: number;
  deflected: number;
  escalated: number;
}

export interface BrandFigures {
  /** The Zendesk brand id; null for sessions and tickets that named no brand. */
  brandId: string | null;
  /** Its name in zendesk.brands, when listed with one. */
  name: string | null;
  sessions: number;
  deflected: number;
  escalated: number;
  rate: number | null;
  tickets: number;
}

export interface DeflectionReport {
  period: { from: string; to: string; days: number };
  /** The one brand the report is filtered to (--brand), or null for every brand. */
  brand: { id: string; name: string | null } | null;
  sessions: number;
  deflected: number;
  escalated: number;
  /** deflected / (deflected + escalated). */
  selfServiceResolutionRate: number | null;
  byCategory: CategoryFigures[];
  portalAdoption: { customersWithSession: number; customers: number; rate: number | null };
  noResultSearches: { total: number; distinctQueries: number; top: Array<{ query: string; count: number }> };
  /** 1 − (tickets per customer now / tickets per customer in the equally long prior period). */
  ticketDeflection: { current: TicketFigures; prior: TicketFigures; rate: number | null };
  trend: WeekFigures[];
  /** The period's figures per brand, ascending by id, no brand last; empty when nothing named a brand. */
  byBrand: BrandFigures[];
}

/** Everything the report reads, as plain arrays. */
export interface DeflectionReportInput {
  events: DeflectionEvent[];
  sessions: SessionStart[];
  noResultSearches: NoResultSearch[];
  ticketsOpened: TicketOpened[];
  /** Null when the prior period reaches back past the kept history: no baseline then. */
  priorTicketsOpened: TicketOpened[] | null;
  customerCount: number;
}

export interface DeflectionReportOptions {
  /** How many no-result queries to list (default 10). */
  topSearches?: number;
  /** Only this Zendesk brand's sessions, outcomes, searches and tickets. */
  brand?: string | null;
  /** Brand names (zendesk.brands) for the labels. */
  brandNames?: ReadonlyMap<string, string | null>;
}

const ratio = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}

/** Case, surrounding and repeated spaces (or control characters) do not make a different search. */
function normalizeQuery(query: string): string {
  return query
    .normalize('NFKC')
    .replace(/[\p{Cc}\s]+/gu, ' ')
    .trim()
    .toLowerCase();
}

function topQueries(searches: NoResultSearch[], limit: number): DeflectionReport['noResultSearches'] {
  const counts = new Map<string, number>();
  for (const s of searches) {
    const q = normalizeQuery(s.query);
    if (q !== '') counts.set(q, (counts.get(q) ?? 0) + 1);
  }
  const ranked = [...counts].map(([query, count]) => ({ query, count }));
  ranked.sort((a, b) => b.count - a.count || (a.query < b.query ? -1 : a.query > b.query ? 1 : 0));
  return {
    total: [...counts.values()].reduce((n, c) => n + c, 0),
    distinctQueries: counts.size,
    top: ranked.slice(0, limit),
  };
}

function ticketFigures(tickets: TicketOpened[], period: ReportPeriod, customers: number): TicketFigures {
  const n = uniqueBy(
    tickets.filter((t) => inPeriod(t.createdAt, period)),
    (t) => t.ticketId,
  ).length;
  return { from: period.from.toISOString(), to: period.to.toISOString(), tickets: n, perCustomer: ratio(n, customers) };
}

function weeklyTrend(period: ReportPeriod, sessions: SessionStart[], events: DeflectionEvent[]): WeekFigures[] {
  const weeks = new Map<number, WeekFigures>();
  for (const start of isoWeeksOf(period)) {
    const partial = start < period.from.getTime() || start + WEEK_LENGTH_MS > period.to.getTime();
    weeks.set(start, {
      week: isoWeekLabel(start),
      start: isoDate(start),
      partial,
      sessions: 0,
      deflected: 0,
      escalated: 0,
    });
  }
  for (const s of sessions) {
    const w = weeks.get(isoWeekStart(Date.parse(s.startedAt)));
    if (w) w.sessions += 1;
  }
  for (const e of events) {
    const w = weeks.get(isoWeekStart(Date.parse(e.decidedAt)));
    if (w) w[e.outcome] += 1;
  }
  return [...weeks.values()];
}

const brandOrder = (a: string | null, b: string | null): number =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a.length - b.length || (a < b ? -1 : 1);

function brandFigures(
  sessions: SessionStart[],
  events: DeflectionEvent[],
  tickets: TicketOpened[],
  names: ReadonlyMap<string, string | null>,
): BrandFigures[] {
  const brands = new Map<string | null, BrandFigures>();
  const of = (id: string | undefined) => {
    const key = id ?? null;
    let f = brands.get(key);
    if (!f)
      brands.set(
        key,
        (f = {
          brandId: key,
          name: key === null ? null : (names.get(key) ?? null),
          sessions: 0,
          deflected: 0,
          escalated: 0,
          rate: null,
          tickets: 0,
        }),
      );
    return f;
  };
  for (const s of sessions) of(s.brandId).sessions += 1;
  for (const e of events) of(e.brandId)[e.outcome] += 1;
  for (const t of tickets) of(t.brandId).tickets += 1;
  if (![...brands.keys()].some((k) => k !== null)) return [];
  for (const f of brands.values()) f.rate = ratio(f.deflected, f.deflected + f.escalated);
  return [...brands.values()].sort((a, b) => brandOrder(a.brandId, b.brandId));
}

/** Only the items of one brand, when the report is filtered to one. */
function ofBrand<T extends { brandId?: string | undefined }>(items: T[], brand: string | null | undefined): T[] {
  return brand ? items.filter((i) => i.brandId === brand) : items;
}

/** The report over `period` from plain arrays. Pure: same input, same report. */
export function buildDeflectionReport(
  all: DeflectionReportInput,
  period: ReportPeriod,
  opts: DeflectionReportOptions = {},
): DeflectionReport {
  const b = opts.brand;
  const input: DeflectionReportInput = {
    ...all,
    events: ofBrand(all.events, b),
    sessions: ofBrand(all.sessions, b),
    noResultSearches: ofBrand(all.noResultSearches, b),
    ticketsOpened: ofBrand(all.ticketsOpened, b),
    priorTicketsOpened: all.priorTicketsOpened && ofBrand(all.priorTicketsOpened, b),
  };
  const sessions = uniqueBy(
    input.sessions.filter((s) => inPeriod(s.startedAt, period)),
    (s) => s.sessionId,
  );
  const events = uniqueBy(
    input.events.filter((e) => inPeriod(e.decidedAt, period)),
    (e) => e.id,
  );
  const searches = input.noResultSearches.filter((s) => inPeriod(s.at, period));
  const customers = Math.max(0, input.customerCount);

  const deflected = events.filter((e) => e.outcome === 'deflected').length;
  const escalated = events.length - deflected;
  const byCategory = TICKET_CATEGORIES.map((category): CategoryFigures => {
    const inCategory = events.filter((e) => e.category === category);
    const d = inCategory.filter((e) => e.outcome === 'deflected').length;
    return { category, deflected: d, escalated: inCategory.length - d, rate: ratio(d, inCategory.length) };
  });
  const customersWithSession = new Set(sessions.map((s) => s.customerId)).size;

  const current = ticketFigures(input.ticketsOpened, period, customers);
  const prior =
    input.priorTicketsOpened === null
      ? { ...ticketFigures([], priorPeriod(period), customers), perCustomer: null }
      : ticketFigures(input.priorTicketsOpened, priorPeriod(period), customers);
  const change = current.perCustomer !== null && prior.perCustomer ? current.perCustomer / prior.perCustomer : null;

  const names = opts.brandNames ?? new Map<string, string | null>();
  const ticketsNow = uniqueBy(
    input.ticketsOpened.filter((t) => inPeriod(t.createdAt, period)),
    (t) => t.ticketId,
  );
  return {
    period: { from: period.from.toISOString(), to: period.to.toISOString(), days: periodDays(period) },
    brand: b ? { id: b, name: names.get(b) ?? null } : null,
    sessions: sessions.length,
    deflected,
    escalated,
    selfServiceResolutionRate: ratio(deflected, events.length),
    byCategory,
    portalAdoption: { customersWithSession, customers, rate: ratio(customersWithSession, customers) },
    noResultSearches: topQueries(searches, opts.topSearches ?? 10),
    ticketDeflection: { current, prior, rate: change === null ? null : 1 - change },
    trend: weeklyTrend(period, sessions, events),
    byBrand: brandFigures(sessions, events, ticketsNow, names),
  };
}

/** Reads the period (and the prior one, for tickets) through DeflectionData and builds the report. */
export async function computeDeflectionReport(
  data: DeflectionData,
  period: ReportPeriod,
  opts: DeflectionReportOptions = {},
): Promise<DeflectionReport> {
  const prior = priorPeriod(period);
  // A prior period that reaches back past the trimmed history would count too few tickets: no baseline then.
  const historyFrom = (await data.historyFrom?.()) ?? null;
  const priorKept = historyFrom === null || prior.from.getTime() >= historyFrom;
  const [events, sessions, noResultSearches, ticketsOpened, priorTicketsOpened, customerCount] = await Promise.all([
    data.events(period.from, period.to),
    data.sessions(period.from, period.to),
    data.noResultSearches(period.from, period.to),
    data.ticketsOpened(period.from, period.to),
    priorKept ? data.ticketsOpened(prior.from, prior.to) : Promise.resolve(null),
    data.customerCount(),
  ]);
  return buildDeflectionReport(
    { events, sessions, noResultSearches, ticketsOpened, priorTicketsOpened, customerCount },
    period,
    opts,
  );
}
