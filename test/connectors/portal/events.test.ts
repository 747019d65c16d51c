import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePortalEvents } from '../../../src/connectors/portal/events.js';
import { PORTAL_ACTIVITY_TYPES, SourceEventSchema } from '../../../src/sync/events/source-event.js';
import type { ParseResult, SourceEvent } from '../../../src/sync/events/source-event.js';

const search = {
  id: 'pe_TestSearch01',
  type: 'search',
  occurred_at: '2026-11-23T10:15:00.250+01:00',
  contact: { email: ' Jane.Doe@Example.com', zendesk_user_id: 8000000000201 },
  session_id: 'ps_TestSession01',
  query: 'reset password',
  result_count: 3,
  properties: { locale: 'en-GB', mobile: false, scroll_depth: 0.5, referrer: null },
};

function eventOf(result: ParseResult | undefined): SourceEvent {
  if (result?.kind !== 'events') throw new Error(`expected events, got ${JSON.stringify(result)}`);
  expect(result.events).toHaveLength(1);
  return result.events[0]!;
}
const reasonOf = (result: ParseResult | undefined): string => (result?.kind === 'invalid' ? result.reason : '');

describe('portal activity events', () => {
  it('a single search event becomes one activity for the contact, versioned by when it happened', () => {
    const results = parsePortalEvents(search);
    expect(results).toHaveLength(1);
    const event = eventOf(results[0]);
    expect(event).toEqual({
      v: 1,
      source: 'portal',
      eventId: 'pe_TestSearch01',
      type: 'search',
      objectId: 'ps_TestSession01',
      version: Date.parse('2026-11-23T09:15:00.250Z'),
      origin: 'webhook',
      deleted: false,
      refs: { email: 'jane.doe@example.com', zendeskUserId: '8000000000201' },
      data: {
        kind: 'portal.activity',
        activity: 'search',
        sessionId: 'ps_TestSession01',
        query: 'reset password',
        resultCount: 3,
        articleId: null,
        invoiceId: null,
        ticketId: null,
        properties: { locale: 'en-GB', mobile: false, scroll_depth: 0.5, referrer: null },
      },
    });
    expect(() => SourceEventSchema.parse(event)).not.toThrow();
  });

  it('a batch yields one result per event, in order, and a bad event does not sink the others', () => {
    const results = parsePortalEvents({
      events: [
        search,
        {
          id: 'pe_TestTicket01',
          type: 'ticket_status_view',
          occurred_at: '2026-11-23T10:16:00Z',
          contact: { salesforce_contact_id: '003TestJane0001IEA' },
          ticket_id: 4711,
        },
        { id: 'pe_TestBad01', type: 'search', occurred_at: 'yesterday', contact: { email: 'jane.doe@example.com' } },
        {
          id: 'pe_TestInvoice01',
          type: 'invoice_download',
          occurred_at: '2026-11-23T10:17:00Z',
          contact: { email: 'jane.doe@example.com' },
          invoice_id: 'in_TestAcme01',
          session_id: null,
        },
      ],
    });
    expect(results.map((r) => r.kind)).toEqual(['events', 'events', 'invalid', 'events']);
    const ticket = eventOf(results[1]);
    // Without a session the event is its own object.
    expect(ticket).toMatchObject({ objectId: 'pe_TestTicket01', refs: { salesforceContactId: '003TestJane0001IEA' } });
    expect(ticket.data).toMatchObject({ ticketId: '4711', sessionId: null, properties: {} });
    expect(results[2]).toMatchObject({ kind: 'invalid', eventId: 'pe_TestBad01' });
    expect(reasonOf(results[2])).toMatch(/^occurred_at: /);
    expect(eventOf(results[3]).data).toMatchObject({ invoiceId: 'in_TestAcme01', sessionId: null });
  });

  it('an event without any way to tell who the contact is, is quarantined', () => {
    for (const contact of [{}, { email: null }, { email: 'not-an-email' }, undefined]) {
      const [result] = parsePortalEvents({ ...search, contact });
      expect(result).toMatchObject({ kind: 'invalid', eventId: 'pe_TestSearch01' });
      expect(reasonOf(result)).toMatch(/^contact/);
    }
  });

  it('takes the Help Center brand as a brand id (number or digits) and quarantines one of another shape, naming brand_id', () => {
    expect(eventOf(parsePortalEvents({ ...search, brand_id: 360000000001 })[0]).data).toMatchObject({
      brandId: '360000000001',
    });
    expect(eventOf(parsePortalEvents({ ...search, brand_id: '360000000002' })[0]).data).toMatchObject({
      brandId: '360000000002',
    });
    expect(eventOf(parsePortalEvents({ ...search, brand_id: null })[0]).data).not.toHaveProperty('brandId');
    for (const brand_id of ['acme', 0, -1, '007', 1.5])
      expect(reasonOf(parsePortalEvents({ ...search, brand_id })[0])).toMatch(/^brand_id/);
  });

  it('an unknown activity type is quarantined with the field named', () => {
    const [result] = parsePortalEvents({ ...search, type: 'page_view' });
    expect(result).toMatchObject({ kind: 'invalid', eventId: 'pe_TestSearch01' });
    expect(reasonOf(result)).toMatch(/^type: /);
  });

  it('a misspelt field or nested properties are rejected rather than silently dropped', () => {
    const { occurred_at, ...rest } = search;
    expect(reasonOf(parsePortalEvents({ ...rest, occured_at: occurred_at })[0])).toMatch(/occured_at/);
    expect(parsePortalEvents({ ...search, properties: { nested: { a: 1 } } })[0]?.kind).toBe('invalid');
  });

  it('accepts every documented activity type', () => {
    for (const type of PORTAL_ACTIVITY_TYPES)
      expect(eventOf(parsePortalEvents({ ...search, type })[0]).type).toBe(type);
  });

  it('more than 100 events in one request is refused as a whole; 100 are accepted', () => {
    const batch = (n: number) => ({
      events: Array.from({ length: n }, (_, i) => ({ ...search, id: `pe_TestBulk${i}` })),
    });
    const refused = parsePortalEvents(batch(101));
    expect(refused).toEqual([{ kind: 'invalid', reason: expect.stringMatching(/101 events, at most 100/) }]);
    expect(parsePortalEvents(batch(100)).every((r) => r.kind === 'events')).toBe(true);
  });

  it('a body that is not an object, or whose events are not a list, is one invalid result', () => {
    for (const body of [null, 'hello', 42, [search], { events: 'nope' }]) {
      expect(parsePortalEvents(body)).toEqual([expect.objectContaining({ kind: 'invalid' })]);
    }
  });

  it('never throws, whatever the JSON, and only emits events the queue accepts', () => {
    // Mostly well-formed fields with the odd junk value, so that both outcomes are exercised.
    const mostly = <T>(valid: fc.Arbitrary<T>) =>
      fc.oneof({ arbitrary: valid, weight: 9 }, { arbitrary: fc.jsonValue(), weight: 1 });
    const anyEvent = fc.record(
      {
        id: mostly(fc.string({ minLength: 1, maxLength: 200 })),
        type: mostly(fc.constantFrom(...PORTAL_ACTIVITY_TYPES)),
        occurred_at: mostly(
          fc
            .date({ noInvalidDate: true, min: new Date(0), max: new Date('2100-01-01T00:00:00Z') })
            .map((d) => d.toISOString()),
        ),
        contact: mostly(
          fc.record(
            {
              email: fc.emailAddress(),
              zendesk_user_id: fc.oneof(fc.nat(), fc.string({ minLength: 1 })),
              salesforce_contact_id: fc.string({ minLength: 1 }),
            },
            { requiredKeys: [] },
          ),
        ),
        session_id: mostly(fc.option(fc.string({ minLength: 1 }))),
        result_count: mostly(fc.nat()),
        ticket_id: mostly(fc.oneof(fc.nat(), fc.string({ minLength: 1 }))),
        properties: mostly(
          fc.dictionary(
            fc.string(),
            fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
          ),
        ),
      },
      { requiredKeys: ['id', 'type', 'occurred_at', 'contact'] },
    );
    const body = fc.oneof(
      fc.jsonValue(),
      anyEvent,
      fc.record({ events: fc.array(fc.oneof(anyEvent, fc.jsonValue()), { maxLength: 5 }) }),
    );
    fc.assert(
      fc.property(body, (value) => {
        const results = parsePortalEvents(value);
        expect(results.length).toBeGreaterThanOrEqual(0);
        for (const r of results) {
          expect(['events', 'invalid']).toContain(r.kind);
          if (r.kind === 'events') for (const e of r.events) SourceEventSchema.parse(e);
        }
      }),
      { numRuns: 500 },
    );
  });
});
