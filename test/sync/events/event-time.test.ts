/** Event times out of bounds: a signed event dated in 9999 (or 1971) must not outrank every real change. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundEventTimes, type EventTimeBounds } from '../../../src/sync/events/event-time.js';
import { SOURCES, type ParseResult, type Source, type SourceEvent } from '../../../src/sync/events/source-event.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const bounds: EventTimeBounds = {
  maxFutureSkewSeconds: { stripe: 300, salesforce: 300, zendesk: 300, portal: 900 },
  oldestEventTime: '2000-01-01T00:00:00Z',
};

function event(source: Source, eventId: string, version: number): SourceEvent {
  return {
    v: 1,
    source,
    eventId,
    type: 'search',
    objectId: eventId,
    version,
    origin: 'webhook',
    deleted: false,
    refs: { email: 'a@example.com' },
    data: {
      kind: 'portal.activity',
      activity: 'search',
      sessionId: null,
      query: null,
      resultCount: null,
      articleId: null,
      invoiceId: null,
      ticketId: null,
      properties: {},
    },
  };
}

describe('boundEventTimes', () => {
  it('an event dated 9999-12-31 becomes an invalid item naming its time and the bound, while its in-bounds neighbour stays', () => {
    const far = event('portal', 'pe-far', Date.parse('9999-12-31T00:00:00Z'));
    const ok = event('portal', 'pe-ok', NOW - 1000);
    const out = boundEventTimes([{ kind: 'events', events: [far, ok] }], bounds, NOW);
    expect(out).toEqual([
      {
        kind: 'invalid',
        eventId: 'pe-far',
        reason: expect.stringMatching(
          /9999-12-31T00:00:00\.000Z is more than 900 s ahead of this server's clock \(webhooks\.maxFutureSkewSeconds\.portal\)/,
        ),
      },
      { kind: 'events', events: [ok] },
    ]);
  });

  it('an event older than the oldest accepted time is refused, naming the setting', () => {
    const out = boundEventTimes(
      [{ kind: 'events', events: [event('stripe', 'evt_old', Date.parse('1971-01-01T00:00:00Z'))] }],
      bounds,
      NOW,
    );
    expect(out).toEqual([
      {
        kind: 'invalid',
        eventId: 'evt_old',
        reason: expect.stringMatching(/before 2000-01-01T00:00:00Z \(webhooks\.oldestEventTime\)/),
      },
    ]);
  });

  it('each source has its own skew: 10 minutes ahead passes for portal activity and not for Stripe', () => {
    const ahead = NOW + 600_000;
    expect(boundEventTimes([{ kind: 'events', events: [event('portal', 'p', ahead)] }], bounds, NOW)[0]!.kind).toBe(
      'events',
    );
    expect(boundEventTimes([{ kind: 'events', events: [event('stripe', 's', ahead)] }], bounds, NOW)[0]!.kind).toBe(
      'invalid',
    );
  });

  it('keeps every in-bounds event and refuses every other one, whatever the mix', () => {
    const oldest = Date.parse(bounds.oldestEventTime);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...SOURCES), fc.integer({ min: 0, max: 253_402_300_799_000 })), {
          maxLength: 20,
        }),
        (rows) => {
          const events = rows.map(([s, v], i) => event(s, `e${i}`, v));
          const out = boundEventTimes([{ kind: 'events', events }], bounds, NOW);
          const kept = out.flatMap((r: ParseResult) => (r.kind === 'events' ? r.events : []));
          const refused = out.filter((r) => r.kind === 'invalid').map((r) => r.eventId);
          const inBounds = (e: SourceEvent) =>
            e.version >= oldest && e.version <= NOW + bounds.maxFutureSkewSeconds[e.source] * 1000;
          expect(kept).toEqual(events.filter(inBounds));
          expect(refused).toEqual(events.filter((e) => !inBounds(e)).map((e) => e.eventId));
        },
      ),
    );
  });
});
