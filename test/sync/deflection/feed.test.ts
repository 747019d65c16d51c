import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { parsePortalEvents } from '../../../src/connectors/portal/events.js';
import { createTicketClassifier } from '../../../src/sync/events/ticket-categories.js';
import { besideField, contactIdentityKey, contactOf } from '../../../src/sync/deflection/contact.js';
import { activityHint, activitySummary, createDeflectionFeed } from '../../../src/sync/deflection/feed.js';
import type { ActivityInput, DeflectionTracker, TicketInput } from '../../../src/sync/deflection/tracker.js';
import { emptyRecord } from '../../../src/sync/events/record.js';
import type { EventDataOf, SourceEvent } from '../../../src/sync/events/source-event.js';
import { ORGANIZATION, organization, replay, ticket, user } from '../events/merge-events.js';

const config = (() => {
  const loaded = loadConfig({});
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  return loaded.config;
})();
const opts = {
  classifier: createTicketClassifier(config.ticketCategories),
  activityCategories: config.deflection.activityCategories,
};

function portal(raw: Record<string, unknown>): SourceEvent & { data: EventDataOf<'portal.activity'> } {
  const [result] = parsePortalEvents({
    occurred_at: '2026-11-23T10:15:00Z',
    contact: { email: 'Ann@Example.com' },
    ...raw,
  });
  if (result?.kind !== 'events') throw new Error(JSON.stringify(result));
  return result.events[0] as SourceEvent & { data: EventDataOf<'portal.activity'> };
}

describe('what an activity says about the topic', () => {
  it.each([
    ['an invoice download (configured)', { id: 'h1', type: 'invoice_download', invoice_id: 'in_1' }, 'billing'],
    ['a ticket status view (configured)', { id: 'h2', type: 'ticket_status_view', ticket_id: 5301 }, 'status'],
    [
      'a search, by its words',
      { id: 'h3', type: 'search', query: 'how to reset password', result_count: 0 },
      'account',
    ],
    [
      'an article, by the title the portal sends',
      { id: 'h4', type: 'article_view', article_id: '360001', properties: { title: 'Getting started with the API' } },
      'onboarding',
    ],
    [
      'a category the portal declares',
      { id: 'h5', type: 'article_view', article_id: '360002', properties: { category: 'documents' } },
      'documents',
    ],
    ['a session start', { id: 'h6', type: 'session_start' }, null],
  ])('%s', (_name, raw, expected) => {
    expect(activityHint(portal(raw).data, opts)).toBe(expected);
  });

  it('keeps what the contract shows of an activity', () => {
    expect(activitySummary(portal({ id: 'h7', type: 'search', query: 'vat', result_count: 0 }))).toEqual({
      type: 'search',
      at: '2026-11-23T10:15:00.000Z',
      query: 'vat',
      resultCount: 0,
      articleId: null,
      invoiceId: null,
      ticketId: null,
    });
  });
});

describe('who was active', () => {
  it("is the email when known, else the platform id, resolved to an email through the record's contacts", () => {
    const record = emptyRecord('cust_1');
    record.derived.links.contacts = [
      { email: 'bob@example.com', name: null, salesforceContactId: '0035e00000BoBbAAAV', zendeskUserId: '42' },
    ];
    expect(contactOf({ email: 'ann@example.com', zendeskUserId: '42' }, record)).toBe('ann@example.com');
    expect(contactOf({ zendeskUserId: '42' }, record)).toBe('bob@example.com');
    expect(contactOf({ zendeskUserId: '43' }, record)).toBe('zendesk:user:43');
    expect(contactOf({ salesforceContactId: '0035e00000XxXxAAAV' }, record)).toBe(
      'salesforce:contact:0035e00000XxXxAAAV',
    );
    expect(contactOf({ stripeCustomerId: 'cus_1' }, record)).toBeNull();
    expect(['ann@example.com', 'zendesk:user:43', 'salesforce:contact:003X'].map(contactIdentityKey)).toEqual([
      'email:ann@example.com',
      'zduser:43',
      'sfcontact:003X',
    ]);
  });

  it('is the email of a person kept beside the record (past its first people), while they are live and of this customer', () => {
    const record = replay([organization({ version: 1_000 })], 'cust_2');
    // The entry as the store keeps it beside a record (people.ts): the user's entry of a record holding only them.
    const entry = (organizationId: string | null, deleted = false) => {
      const stored = replay([user('44', 'Cara@Example.com', { version: 2_000, deleted }, 'Cara')], 'scratch').zendesk
        .users['44']!;
      return JSON.stringify({ ...stored, data: { ...stored.data, organizationId } });
    };
    expect(besideField({ zendeskUserId: '44' })).toBe('zduser:44');
    expect(besideField({ zendeskUserId: '44', email: 'cara@example.com' })).toBeNull();
    expect(contactOf({ zendeskUserId: '44' }, record, entry(ORGANIZATION))).toBe('cara@example.com');
    // Out of the organization, deleted, or another person's entry: the platform id, as for anyone unknown.
    expect(contactOf({ zendeskUserId: '44' }, record, entry('999'))).toBe('zendesk:user:44');
    expect(contactOf({ zendeskUserId: '44' }, record, entry(ORGANIZATION, true))).toBe('zendesk:user:44');
    expect(contactOf({ zendeskUserId: '45' }, record, entry(ORGANIZATION))).toBe('zendesk:user:45');
  });
});

describe('feeding the tracker', () => {
  function recording() {
    const calls: Array<['activity', ActivityInput] | ['ticket', TicketInput] | ['merged', string, readonly string[]]> =
      [];
    const tracker = {
      onActivity: async (i: ActivityInput) => void calls.push(['activity', i]),
      onTicket: async (t: TicketInput) => void calls.push(['ticket', t]),
      onMerged: async (id: string, ids: readonly string[]) => void calls.push(['merged', id, ids]),
    } as unknown as DeflectionTracker;
    return { calls, feed: createDeflectionFeed({ tracker, ...opts }) };
  }
  const outcome = (mergedIds: string[] = []) => ({ recordId: 'cust_1', record: emptyRecord('cust_1'), mergedIds });

  it('moves merged sessions first, then files the activity; a no-result search is recorded as such', async () => {
    const { calls, feed } = recording();
    await feed(portal({ id: 'f1', type: 'search', query: '  ', result_count: 0 }), outcome());
    await feed(portal({ id: 'f2', type: 'search', query: 'refund', result_count: 0 }), outcome(['cust_0']));
    expect(calls.map((c) => c[0])).toEqual(['activity', 'merged', 'activity']);
    expect((calls[0]![1] as ActivityInput).noResultQuery).toBeNull();
    expect(calls[2]![1]).toMatchObject({
      customerId: 'cust_1',
      contact: 'ann@example.com',
      noResultQuery: 'refund',
      activity: { eventId: 'f2', hint: 'billing' },
    });
  });

  it('files an activity naming a person kept beside the record by Zendesk user id only under their email, read beside the record once', async () => {
    const calls: ActivityInput[] = [];
    const reads: string[][] = [];
    const tracker = { onActivity: async (i: ActivityInput) => void calls.push(i) } as unknown as DeflectionTracker;
    const stored = replay([user('46', 'Dee@Example.com', { version: 2_000 })], 'scratch').zendesk.users['46']!;
    const people = {
      peopleBeside: async (_id: string, fields: readonly string[]) => (
        reads.push([...fields]),
        new Map(fields.map((f) => [f, f === 'zduser:46' ? JSON.stringify(stored) : null]))
      ),
    };
    const feed = createDeflectionFeed({ tracker, ...opts, people });
    const record = replay([organization({ version: 1_000 })], 'cust_1');
    const byId = (id: string, userId: string) => ({
      ...portal({ id, type: 'session_start' }),
      refs: { zendeskUserId: userId },
    });
    await feed(byId('b1', '46'), { recordId: 'cust_1', record, mergedIds: [] });
    await feed(byId('b2', '47'), { recordId: 'cust_1', record, mergedIds: [] });
    await feed(portal({ id: 'b3', type: 'session_start' }), { recordId: 'cust_1', record, mergedIds: [] });
    expect(calls.map((c) => c.contact)).toEqual(['dee@example.com', 'zendesk:user:47', 'ann@example.com']);
    expect(reads).toEqual([['zduser:46'], ['zduser:47']]);
  });

  it('tells the tracker about tickets with a creation time, with their category, and not about deleted ones', async () => {
    const { calls, feed } = recording();
    await feed(
      {
        ...ticket('5301', 'open', { version: 1_000 }, { createdAt: '2026-11-23T12:00:00.000Z', category: 'documents' }),
      },
      outcome(),
    );
    await feed(ticket('5302', 'open', { version: 1_000 }, { createdAt: null }), outcome());
    await feed(
      ticket('5303', 'deleted', { version: 1_000, deleted: true }, { createdAt: '2026-11-23T12:00:00.000Z' }),
      outcome(),
    );
    await feed(
      ticket(
        '5304',
        'open',
        { version: 1_000 },
        { createdAt: '2026-11-23T12:00:00.000Z', subject: 'Where is my invoice?' },
      ),
      outcome(),
    );
    expect(calls).toEqual([
      [
        'ticket',
        {
          customerId: 'cust_1',
          ticketId: '5301',
          category: 'documents',
          createdAt: Date.parse('2026-11-23T12:00:00.000Z'),
        },
      ],
      [
        'ticket',
        {
          customerId: 'cust_1',
          ticketId: '5304',
          category: 'billing',
          createdAt: Date.parse('2026-11-23T12:00:00.000Z'),
        },
      ],
    ]);
  });

  it('says how much later a ticket whose times go to the minute (the trigger) may have been opened', async () => {
    const { calls, feed } = recording();
    const fromTrigger = {
      ...ticket(
        '5305',
        'new',
        { version: Date.parse('2026-11-23T10:15:00Z') },
        { createdAt: '2026-11-23T10:15:00.000Z' },
      ),
      versionPrecisionMs: 60_000,
    };
    await feed(fromTrigger, outcome());
    expect(calls).toEqual([
      [
        'ticket',
        expect.objectContaining({
          ticketId: '5305',
          createdAt: Date.parse('2026-11-23T10:15:00.000Z'),
          slackMs: 59_999,
        }),
      ],
    ]);
  });
});
