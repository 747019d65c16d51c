/**
 * Report periods: `--since` / `?since=` parsing and ISO weeks, in UTC. Pure.
 */

export interface ReportPeriod {
  from: Date;
  to: Date;
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** Ten years: long enough for any look back, short enough that a typo like 30000d is refused. */
export const MAX_REPORT_DAYS = 3660;

/** A value `--since` or `?since=` does not accept; the message says what would be. */
export class SinceError extends Error {
  override name = 'SinceError';
}

/**
 * `30d`, `4w` or an ISO date (`2026-10-01`, `2026-10-01T08:00:00Z`) → the period from then until `now`.
 * A date without a time is midnight UTC.
 */
export function parseSince(since: string, now: Date = new Date()): ReportPeriod {
  const s = since.trim();
  const relative = /^(\d{1,5})([dw])$/i.exec(s);
  let from: Date;
  if (relative) {
    const n = Number(relative[1]) * (relative[2]?.toLowerCase() === 'w' ? 7 : 1);
    if (n < 1) throw new SinceError(`since: ${since} is an empty period; use e.g. 30d, 4w or 2026-10-01`);
    from = new Date(now.getTime() - n * DAY_MS);
  } else if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(s) && !Number.isNaN(Date.parse(s))) {
    from = new Date(s);
  } else {
    throw new SinceError(`since: expected Nd, Nw or an ISO date (e.g. 30d, 4w, 2026-10-01), got "${since}"`);
  }
  if (from.getTime() >= now.getTime()) throw new SinceError(`since: ${since} is not in the past`);
  if (now.getTime() - from.getTime() > MAX_REPORT_DAYS * DAY_MS) throw new SinceError(`since: at most ${MAX_REPORT_DAYS} days back`);
  return { from, to: now };
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
