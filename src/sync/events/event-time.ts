/**
 * Bounds on an event's own time (its version: Stripe `created`, Salesforce SystemModstamp, Zendesk
 * updated_at, portal occurred_at). Merge orders by it, so one signed event dated 9999-12-31 would outrank
 * every real change of its object for good (and pin `lastActivityAt`). Pure: the caller passes the clock.
 * An event out of bounds becomes an `invalid` item, which the edge quarantines (202) with the reason.
 */
import type { ParseResult, Source, SourceEvent } from './source-event.js';

export interface EventTimeBounds {
  /** How far ahead of this server's clock each source's event time may be. */
  maxFutureSkewSeconds: Record<Source, number>;
  /** ISO 8601: no source stamps an event before this. */
  oldestEventTime: string;
}

/** Why this event's time is out of bounds, or null when it is not. */
function eventTimeProblem(event: SourceEvent, bounds: EventTimeBounds, nowMs: number, oldestMs: number): string | null {
  const skew = bounds.maxFutureSkewSeconds[event.source];
  if (event.version > nowMs + skew * 1000) {
    return `event time ${new Date(event.version).toISOString()} is more than ${skew} s ahead of this server's clock (webhooks.maxFutureSkewSeconds.${event.source})`;
  }
  if (event.version < oldestMs) {
    return `event time ${new Date(event.version).toISOString()} is before ${bounds.oldestEventTime} (webhooks.oldestEventTime)`;
  }
  return null;
}

/** The same results, with every event whose time is out of bounds turned into an `invalid` item of its own. */
export function boundEventTimes(results: ParseResult[], bounds: EventTimeBounds, nowMs: number): ParseResult[] {
  const oldestMs = Date.parse(bounds.oldestEventTime);
  // The usual request, one item whose events are all in bounds, comes back as it is.
  if (results.every((r) => r.kind !== 'events' || r.events.every((e) => !eventTimeProblem(e, bounds, nowMs, oldestMs))))
    return results;
  return results.flatMap((r): ParseResult[] => {
    if (r.kind !== 'events') return [r];
    const refused: ParseResult[] = [];
    const kept = r.events.filter((e) => {
      const problem = eventTimeProblem(e, bounds, nowMs, oldestMs);
      if (problem) refused.push({ kind: 'invalid', eventId: e.eventId, reason: problem });
      return problem === null;
    });
    return kept.length > 0 ? [...refused, { kind: 'events', events: kept }] : refused;
  });
}
