/**
 * The one time grammar of every command and admin page: `--since` / `--until`
 * (and `?since=`) take a span back from now (`24h`, `7d`, `2w`) or an ISO date
 * (`2026-10-01`, midnight UTC) or date-time (`2026-10-01T08:00:00Z`; no offset
 * means UTC). Pure: `now` is always given.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const UNIT_MS = { h: HOUR_MS, d: DAY_MS, w: 7 * DAY_MS } as const;
/** Ten years: long enough for any look back, short enough that a typo like 30000d is refused. */
export const MAX_BACK_DAYS = 3660;
export const TIME_GRAMMAR =
  'a span back from now (24h, 7d, 2w) or an ISO date (2026-10-01) or date-time (2026-10-01T08:00:00Z)';

const SPAN = /^(\d{1,6})([hdw])$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** A value the grammar refuses; `message` starts with the option (`since: …`) and says what would do. */
export class TimeGrammarError extends Error {
  override name = 'TimeGrammarError';
}

export interface TimeWindow {
  /** Inclusive start. */
  from: Date;
  /** Exclusive end; `now` unless `--until` said otherwise. */
  to: Date;
}

function parseIso(value: string): Date | null {
  const m = ISO.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  // Date.parse rolls 2026-02-30 over to March: check the calendar fields round-trip.
  const ms = frac ? Number(`0.${frac}`) * 1000 : 0;
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), ms);
  const check = new Date(local);
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d)
  )
    return null;
  if (Number(h ?? 0) > 23 || Number(mi ?? 0) > 59 || Number(s ?? 0) > 59) return null;
  if (!zone || zone === 'Z') return new Date(local);
  const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  const offset = (Number(z[2]) * 60 + Number(z[3])) * 60_000 * (z[1] === '-' ? -1 : 1);
  if (Number(z[2]) > 23 || Number(z[3]) > 59) return null;
  return new Date(local - offset);
}

/** One point in time from `value`, read against `now`; `option` names it in the error (`since`, `until`). */
export function parseTimePoint(value: string, now: Date, option = 'since'): Date {
  const s = value.trim();
  const span = SPAN.exec(s);
  if (span) {
    const ms = Number(span[1]) * UNIT_MS[span[2] as keyof typeof UNIT_MS];
    if (ms === 0)
      throw new TimeGrammarError(`${option}: ${value} is an empty span; use e.g. 24h, 7d, 2w or 2026-10-01`);
    if (ms > MAX_BACK_DAYS * DAY_MS)
      throw new TimeGrammarError(`${option}: at most ${MAX_BACK_DAYS} days back (got ${value})`);
    return new Date(now.getTime() - ms);
  }
  const at = parseIso(s);
  if (!at) throw new TimeGrammarError(`${option}: expected ${TIME_GRAMMAR}, got "${value}"`);
  if (now.getTime() - at.getTime() > MAX_BACK_DAYS * DAY_MS)
    throw new TimeGrammarError(`${option}: at most ${MAX_BACK_DAYS} days back (got ${value})`);
  return at;
}

/**
 * `--since` and `--until` together: both in the grammar, since before until, neither in the future.
 * @param defaultSince used when `since` is not given (e.g. `30d`)
 */
export function parseTimeWindow(
  opts: { since?: string | undefined; until?: string | undefined },
  now: Date,
  defaultSince: string,
): TimeWindow {
  const from = parseTimePoint(opts.since ?? defaultSince, now, 'since');
  const to = opts.until === undefined ? now : parseTimePoint(opts.until, now, 'until');
  if (from.getTime() >= now.getTime())
    throw new TimeGrammarError(`since: ${opts.since ?? defaultSince} is not in the past`);
  if (to.getTime() > now.getTime())
    throw new TimeGrammarError(`until: ${opts.until} is in the future; leave it out to mean now`);
  if (from.getTime() >= to.getTime())
    throw new TimeGrammarError(`since (${from.toISOString()}) must be before until (${to.toISOString()})`);
  return { from, to };
}

/**
 * The warning for a start before what is kept, or null: `what` is kept for `retainedMs`
 * (`setting` names where that is configured), so older data is gone.
 */
export function retentionWarning(
  from: Date,
  now: Date,
  retainedMs: number,
  what: string,
  setting: string,
): string | null {
  if (now.getTime() - from.getTime() <= retainedMs) return null;
  const days = Math.round((retainedMs / DAY_MS) * 10) / 10;
  const hours = Math.round((retainedMs / HOUR_MS) * 10) / 10;
  const kept = days >= 1 ? `${days} day${days === 1 ? '' : 's'}` : `${hours} hour${hours === 1 ? '' : 's'}`;
  return `--since ${from.toISOString()} reaches back past what is kept: ${what} are kept for ${kept} (${setting}), so nothing before ${new Date(now.getTime() - retainedMs).toISOString()} can be shown`;
}
