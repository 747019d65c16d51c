/**
 * Report periods: `--since` / `?since=` parsing and ISO weeks, in UTC. Pure.
 */
import { parseTimeWindow, TimeGrammarError } from '../time-window.js';

export interface ReportPeriod {
  from: Date;
  to: Date;
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/** A value `--since`/`--until` or `?since=`/`?until=` does not accept; the message says what would be. */
export const SinceError = TimeGrammarError;

/**
 * The report period in the one time grammar (src/sync/time-window.ts): from `since`
 * (`30d`, `4w`, `24h`, an ISO date or date-time) until `until` (the same grammar), or now.
 */
export function parseSince(since: string, now: Date = new Date(), until?: string): ReportPeriod {
  return parseTimeWindow({ since, until }, now, since);
}

/** The equally long period just before, [from − length, from): the baseline of the ticket deflection rate. */
export function priorPeriod(period: ReportPeriod): ReportPeriod {
  const length = period.to.getTime() - period.from.getTime();
  return { from: new Date(period.from.getTime() - length), to: new Date(period.from.getTime()) };
}

export function periodDays(period: ReportPeriod): number {
  return Math.round(((period.to.getTime() - period.from.getTime()) / DAY_MS) * 10) / 10;
}

export function inPeriod(iso: string, period: ReportPeriod): boolean {
  const t = Date.parse(iso);
  return t >= period.from.getTime() && t < period.to.getTime();
}

/** Monday 00:00 UTC of the ISO week holding `t`. */
export function isoWeekStart(t: number): number {
  const midnight = Math.floor(t / DAY_MS) * DAY_MS;
  const weekday = (new Date(midnight).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return midnight - weekday * DAY_MS;
}

/** `2026-W48`: the week belongs to the year of its Thursday (ISO 8601). */
export function isoWeekLabel(weekStart: number): string {
  const thursday = new Date(weekStart + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const firstWeekStart = isoWeekStart(Date.UTC(year, 0, 4));
  const week = 1 + Math.round((weekStart - firstWeekStart) / WEEK_MS);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The Monday of every ISO week that overlaps the period, in order. */
export function isoWeeksOf(period: ReportPeriod): number[] {
  const weeks: number[] = [];
  const last = period.to.getTime() - 1;
  for (let w = isoWeekStart(period.from.getTime()); w <= last; w += WEEK_MS) weeks.push(w);
  return weeks;
}

export const WEEK_LENGTH_MS = WEEK_MS;
export const isoDate = (t: number | Date): string => new Date(t).toISOString().slice(0, 10);
