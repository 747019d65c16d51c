import { describe, expect, it } from 'vitest';
import {
  decide,
  decided,
  dueAt,
  inferCategory,
  planActivity,
  type SessionState,
  type TrackedActivity,
} from '../../../src/sync/deflection/session.js';
import type { TicketCategory } from '../../../src/sync/events/source-event.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const settings = { sessionIdleMs: 30 * MIN, windowMs: 24 * HOUR, lateTicketGraceMs: 5 * MIN };
const T0 = Date.parse('2026-11-23T10:00:00Z');
const who = { customerId: 'cust_a', contact: 'jane@example.com' };

let n = 0;
function act(
  atMs: number,
  type = 'search',
  hint: TicketCategory | null = null,
  extra: Record<string, unknown> = {},
): TrackedActivity {
  return { eventId: `pe-${n++}`, atMs, summary: { type, at: new Date(atMs).toISOString(), ...extra }, hint };
}

function open(...activities: TrackedActivity[]): SessionState {
  let s: SessionState | null = null;
  for (const a of activities) {
    const plan = planActivity(s, a, who, settings);
    if (plan.kind === 'late') throw new Error('unexpected late activity');
    s = plan.session;
  }
  return s!;
}

describe('sessions', () => {
  it('joins activity within the idle gap and starts a new session after it', () => {
    const s = open(act(T0), act(T0 + 20 * MIN));
    expect(s.activities).toHaveLength(2);
    expect(planActivity(s, act(T0 + 20 * MIN + 29 * MIN), who, settings).kind).toBe('joined');
    const next = planActivity(s, act(T0 + 20 * MIN + 31 * MIN), who, settings);
    expect(next.kind).toBe('started');
  });

  it('places out-of-order activity by its time: earlier within the gap moves the start back', () => {
    const s = open(act(T0));
    const plan = planActivity(s, act(T0 - 10 * MIN), who, settings);
    expect(plan.kind).toBe('joined');
    if (plan.kind !== 'joined') return;
    expect(plan.session.startedAt).toBe(T0 - 10 * MIN);
    expect(plan.session.activities.map((a) => a.atMs)).toEqual([T0 - 10 * MIN, T0]);
    expect(planActivity(s, act(T0 - 2 * HOUR), who, settings).kind).toBe('late');
  });

  it('names a session after its contact and first event, so a retried step names it the same', () => {
    const a = act(T0);
    const first = planActivity(null, a, who, settings);
    const again = planActivity(null, a, who, settings);
    expect(first.kind === 'started' && again.kind === 'started' && first.session.id === again.session.id).toBe(true);
  });

  it("ignores activity from before the decision of the contact's last session", () => {
    const s = open(act(T0));
    const closed = decided(
      s,
      { outcome: 'escalated', ticket: { ticketId: '1', category: 'billing', createdAt: T0 + HOUR } },
      settings,
    );
    expect(planActivity(closed, act(T0 + 30 * MIN), who, settings).kind).toBe('late');
    expect(planActivity(closed, act(T0 + 2 * HOUR), who, settings).kind).toBe('started');
  });
});

describe('decisions', () => {
  it('deflects only once the window and the grace period are over', () => {
    const s = open(act(T0));
    expect(decide(s, [], T0 + 24 * HOUR, settings)).toBeNull();
    expect(dueAt(s, settings)).toBe(T0 + 24 * HOUR + 5 * MIN);
    expect(decide(s, [], dueAt(s, settings), settings)).toEqual({ outcome: 'deflected' });
  });

  it('escalates with the first ticket inside the window, whenever it is looked at', () => {
    const s = open(act(T0), act(T0 + 10 * MIN));
    const tickets = [
      { ticketId: 'late', category: 'status' as const, createdAt: T0 + 25 * HOUR },
      { ticketId: 'second', category: 'account' as const, createdAt: T0 + 3 * HOUR },
      { ticketId: 'first', category: 'billing' as const, createdAt: T0 + 2 * HOUR },
      { ticketId: 'before', category: 'other' as const, createdAt: T0 - MIN },
    ];
    expect(decide(s, tickets, T0 + 30 * 24 * HOUR, settings)).toMatchObject({
      outcome: 'escalated',
      ticket: { ticketId: 'first' },
    });
  });

  it('counts a ticket whose time goes to the minute (the trigger) as possibly opened at any moment of that minute', () => {
    // The session starts at 10:15:20; the ticket, opened at 10:15:50, arrives from the trigger as "10:15".
    const s = open(act(T0 + 15 * MIN + 20_000));
    const minuteOnly = { ticketId: '5305', category: 'billing' as const, createdAt: T0 + 15 * MIN };
    expect(decide(s, [{ ...minuteOnly, slackMs: MIN - 1 }], T0 + 15 * MIN + 30_000, settings)).toMatchObject({
      outcome: 'escalated',
      ticket: { ticketId: '5305' },
    });
    // Precise times: a ticket opened before the session started does not escalate it.
    expect(decide(s, [minuteOnly], T0 + 15 * MIN + 30_000, settings)).toBeNull();
  });

  it("an escalation carries the ticket's category and the last activity before the ticket", () => {
    const search = act(T0 + 5 * MIN, 'search', 'billing', { query: 'vat invoice', resultCount: 0 });
    const s = open(act(T0, 'session_start'), search, act(T0 + 30 * MIN, 'article_view'));
    const closed = decided(
      s,
      { outcome: 'escalated', ticket: { ticketId: '5301', category: 'documents', createdAt: T0 + 20 * MIN } },
      settings,
    );
    expect(closed.state).toBe('escalated');
    expect(closed.event).toEqual({
      id: `defl-${s.id}`,
      customerId: 'cust_a',
      sessionId: s.id,
      contact: 'jane@example.com',
      outcome: 'escalated',
      category: 'documents',
      sessionStartedAt: '2026-11-23T10:00:00.000Z',
      decidedAt: '2026-11-23T10:20:00.000Z',
      lastActivity: search.summary,
      ticketId: '5301',
    });
  });

  it("a deflection is decided at the window's end, with the category of what was viewed", () => {
    const s = open(
      act(T0, 'search', 'billing'),
      act(T0 + MIN, 'invoice_view', 'billing'),
      act(T0 + 2 * MIN, 'article_view', 'documents'),
    );
    const closed = decided(s, { outcome: 'deflected' }, settings);
    expect(closed.event).toMatchObject({
      outcome: 'deflected',
      category: 'billing',
      decidedAt: '2026-11-24T10:02:00.000Z',
      lastActivity: { type: 'article_view' },
    });
    expect(closed.event).not.toHaveProperty('ticketId');
  });
});

describe('inferring a category', () => {
  it.each<[string, Array<TicketCategory | null>, TicketCategory]>([
    ['nothing hinted', [null, null], 'other'],
    ['most hinted wins', ['billing', 'account', 'billing'], 'billing'],
    ['a tie goes to the later hint', ['billing', 'account'], 'account'],
    ['unhinted activity does not vote', [null, 'status', null], 'status'],
  ])('%s', (_name, hints, expected) => {
    expect(inferCategory(hints.map((h, i) => act(T0 + i * MIN, 'x', h)))).toBe(expected);
  });
});
