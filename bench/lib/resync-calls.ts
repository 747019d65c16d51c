/**
 * What the resync benchmark counts from the stand-ins' call logs: reads
 * (exports, queries, lists), writes, and Zendesk job polls, per platform and
 * per phase; and, for the calls that pass a target's rate gate (its writes,
 * and Zendesk's polls), how close the push phase came to the configured
 * ceiling.
 */
import { busiestWindow } from '../../src/demo/standins/common.js';

export interface Call {
  method: string;
  path: string;
  at: number;
  status: number;
}

export interface CallCounts {
  reads: number;
  writes: number;
  /** Zendesk `job_statuses` polls (reads, but made by pushes and counted by the rate gate). */
  polls: number;
  /** Answered 429 by the stand-in (none expected: its own limit is not enforced). */
  status429: number;
  byKind: Record<string, number>;
}

const isPoll = (c: Call) => c.path.startsWith('/job_statuses');
/** What a push makes: every write, and Zendesk's job polls. */
export const isPushCall = (c: Call) => c.method !== 'GET' || isPoll(c);

/** `PUT /organizations/update_many`, `GET /services/data/vXX/query`… with ids and versions folded. */
function kindOf(c: Call): string {
  const path = c.path
    .replace(/\/services\/data\/v\d+\.\d+/, '')
    .replace(/\/query(All)?\/[^/]+$/, '/query$1/:locator')
    .replace(/\/(cus|sub|in|evt)_[A-Za-z0-9]+/, '/:id')
    .replace(/\/\d+(?=\/|$)/g, '/:id');
  return `${c.method} ${path}`;
}

export function countCalls(calls: readonly Call[]): CallCounts {
  const out: CallCounts = { reads: 0, writes: 0, polls: 0, status429: 0, byKind: {} };
  for (const c of calls) {
    if (isPoll(c)) out.polls += 1;
    else if (c.method === 'GET') out.reads += 1;
    else out.writes += 1;
    if (c.status === 429) out.status429 += 1;
    const kind = kindOf(c);
    out.byKind[kind] = (out.byKind[kind] ?? 0) + 1;
  }
  return out;
}

export interface CeilingFigures {
  calls: number;
  seconds: number;
  callsPerSecond: number;
  /**
   * Calls in the whole rate windows from the first push call on, over what the ceiling allows in
   * them (null when the phase is shorter than one window).
   */
  fractionOfCeiling: number | null;
  windows: number;
  /** Most calls any one window of the ceiling's length saw (≤ the ceiling's max). */
  busiestWindow: number;
}

export function ceilingFigures(times: readonly number[], ceiling: { max: number; perMs: number }): CeilingFigures {
  const sorted = [...times].sort((a, b) => a - b);
  if (sorted.length === 0)
    return { calls: 0, seconds: 0, callsPerSecond: 0, fractionOfCeiling: null, windows: 0, busiestWindow: 0 };
  const first = sorted[0]!;
  const last = sorted.at(-1)!;
  const windows = Math.floor((last - first) / ceiling.perMs);
  const inWindows = sorted.filter((t) => t < first + windows * ceiling.perMs).length;
  const busiest = busiestWindow(sorted, ceiling.perMs);
  const seconds = (last - first) / 1000;
  return {
    calls: sorted.length,
    seconds: round(seconds, 2),
    callsPerSecond: round(seconds > 0 ? sorted.length / seconds : 0, 1),
    fractionOfCeiling: windows >= 1 ? round(inWindows / (windows * ceiling.max), 3) : null,
    windows,
    busiestWindow: busiest,
  };
}

export const round = (n: number, digits = 1) => Number(n.toFixed(digits));
