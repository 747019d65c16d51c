/**
 * Self-service sessions, as pure functions over plain state; the tracker
 * makes each step one Redis transaction.
 *
 * A session is the activity of one contact until it pauses longer than the
 * idle gap. Its window runs until `window` after its last activity. The
 * first ticket the same CUSTOMER opens (by the ticket's creation time)
 * between the session's start and its window's end escalates it; once the
 * window has ended (plus a grace period for late ticket webhooks) without
 * one, it is deflected. Times are the events' own times, never arrival.
 *
 * Activity that arrives out of order is placed by its time: within the idle
 * gap of the open session it joins it (possibly moving its start earlier);
 * later than that it starts a new session; earlier than an open session by
 * more than the gap, or earlier than the decision of the contact's last
 * session, it is too late to change an outcome and opens nothing.
 */
import { createHash } from 'node:crypto';
import type { TicketCategory } from '../events/source-event.js';
import type { ActivitySummary, DeflectionEvent, DeflectionOutcome } from './types.js';

export interface DeflectionSettings {
  sessionIdleMs: number;
  windowMs: number;
  /** How long after a window's end a session waits for a late ticket webhook before it is deflected. */
  lateTicketGraceMs: number;
}

/** An activity as a session keeps it: the summary the contract shows, plus what it hints about the topic. */
export interface TrackedActivity {
  eventId: string;
  /** The Help Center brand it happened on, when it named one. */
  brandId?: string;
  atMs: number;
  summary: ActivitySummary;
  hint: TicketCategory | null;
}

export interface SessionState {
  v: 1;
  id: string;
  customerId: string;
  contact: string;
  /** The brand whose Help Center the session is on (one session per contact and brand); absent when unknown. */
  brandId?: string;
  startedAt: number;
  lastAt: number;
  state: 'open' | DeflectionOutcome;
  /** Oldest first, at most MAX_ACTIVITIES (the newest). */
  activities: TrackedActivity[];
  /** Set once decided. */
  event?: DeflectionEvent;
}

/** A ticket of the session's customer, as the decision needs it. */
export interface TicketRef {
  ticketId: string;
  category: TicketCategory;
  createdAt: number;
  /** The ticket's brand: a ticket of another brand does not escalate a session on this brand's Help Center. */
  brandId?: string;
  /**
   * How much later than `createdAt` the ticket may really have been opened (the ticket trigger's times go to
   * the minute): a ticket "opened at 10:15" escalates a session that started at 10:15:20.
   */
  slackMs?: number;
}

const MAX_ACTIVITIES = 50;

export const windowEnd = (s: SessionState, settings: DeflectionSettings): number => s.lastAt + settings.windowMs;
/** When a session without a ticket may be deflected. */
export const dueAt = (s: SessionState, settings: DeflectionSettings): number =>
  windowEnd(s, settings) + settings.lateTicketGraceMs;
const decidedAtMs = (s: SessionState): number => Date.parse(s.event?.decidedAt ?? '') || s.lastAt;
const iso = (ms: number): string => new Date(ms).toISOString();

/** Stable, so that a retried step that starts a session names it the same way. */
function sessionIdFor(contact: string, firstEventId: string): string {
  return createHash('sha256').update(`${contact}\n${firstEventId}`).digest('hex').slice(0, 24);
}

export type ActivityPlan =
  | { kind: 'started'; session: SessionState }
  | { kind: 'joined'; session: SessionState; previous: SessionState }
  | { kind: 'late' };

function withActivity(s: SessionState, a: TrackedActivity): SessionState {
  const activities = [...s.activities, a]
    .sort((x, y) => x.atMs - y.atMs || (x.eventId < y.eventId ? -1 : 1))
    .slice(-MAX_ACTIVITIES);
  return { ...s, startedAt: Math.min(s.startedAt, a.atMs), lastAt: Math.max(s.lastAt, a.atMs), activities };
}

/** Where one activity of `contact` (of customer `customerId`) goes, given the contact's latest session. */
export function planActivity(
  current: SessionState | null,
  a: TrackedActivity,
  who: { customerId: string; contact: string },
  settings: DeflectionSettings,
): ActivityPlan {
  const start = (): ActivityPlan => ({
    kind: 'started',
    session: {
      v: 1,
      id: sessionIdFor(who.contact, a.eventId),
      customerId: who.customerId,
      contact: who.contact,
      ...(a.brandId ? { brandId: a.brandId } : {}),
      startedAt: a.atMs,
      lastAt: a.atMs,
      state: 'open',
      activities: [a],
    },
  });
  if (current === null) return start();
  if (current.state !== 'open') return a.atMs < decidedAtMs(current) ? { kind: 'late' } : start();
  if (a.atMs > current.lastAt + settings.sessionIdleMs) return start();
  if (a.atMs < current.startedAt - settings.sessionIdleMs) return { kind: 'late' };
  // The contact now belongs to another customer (an admin unlinked it): its activity is that customer's.
  if (current.customerId !== who.customerId) return start();
  return { kind: 'joined', session: withActivity(current, a), previous: current };
}

export type Decision = { outcome: 'escalated'; ticket: TicketRef } | { outcome: 'deflected' } | null;

/** The outcome of an open session now, given its customer's tickets (any order); null while undecided. */
export function decide(
  s: SessionState,
  tickets: readonly TicketRef[],
  now: number,
  settings: DeflectionSettings,
): Decision {
  if (s.state !== 'open') return null;
  const end = windowEnd(s, settings);
  // A ticket of another brand is not this Help Center's failure; either brand unknown, it counts.
  const first = tickets
    .filter((t) => !s.brandId || !t.brandId || t.brandId === s.brandId)
    .filter((t) => t.createdAt + (t.slackMs ?? 0) >= s.startedAt && t.createdAt <= end)
    .sort((x, y) => x.createdAt - y.createdAt || (x.ticketId < y.ticketId ? -1 : 1))[0];
  if (first) return { outcome: 'escalated', ticket: first };
  return now >= dueAt(s, settings) ? { outcome: 'deflected' } : null;
}

/** Most hinted category; a tie goes to the one hinted last. Nothing hinted: other. */
export function inferCategory(activities: readonly TrackedActivity[]): TicketCategory {
  const votes = new Map<TicketCategory, { n: number; last: number }>();
  activities.forEach((a, i) => {
    if (a.hint === null) return;
    const v = votes.get(a.hint) ?? { n: 0, last: -1 };
    votes.set(a.hint, { n: v.n + 1, last: i });
  });
  let best: [TicketCategory, { n: number; last: number }] | undefined;
  for (const entry of votes)
    if (!best || entry[1].n > best[1].n || (entry[1].n === best[1].n && entry[1].last > best[1].last)) best = entry;
  return best?.[0] ?? 'other';
}

/** The contract's event for a decision, and the session as it is stored from then on. */
export function decided(
  s: SessionState,
  d: NonNullable<Decision>,
  settings: DeflectionSettings,
): SessionState & { event: DeflectionEvent } {
  const before =
    d.outcome === 'escalated'
      ? s.activities.filter((a) => a.atMs <= d.ticket.createdAt + (d.ticket.slackMs ?? 0))
      : s.activities;
  const last = before.at(-1);
  const event: DeflectionEvent = {
    id: `defl-${s.id}`,
    customerId: s.customerId,
    sessionId: s.id,
    contact: s.contact,
    outcome: d.outcome,
    category: d.outcome === 'escalated' ? d.ticket.category : inferCategory(s.activities),
    sessionStartedAt: iso(s.startedAt),
    decidedAt: iso(d.outcome === 'escalated' ? d.ticket.createdAt : windowEnd(s, settings)),
    lastActivity: last ? last.summary : null,
    ...(d.outcome === 'escalated' ? { ticketId: d.ticket.ticketId } : {}),
    ...(s.brandId ? { brandId: s.brandId } : {}),
  };
  return { ...s, state: d.outcome, event };
}
