import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ZENDESK_TICKET_TRIGGER_TEMPLATE,
  ZENDESK_TRIGGER_EVENT_TYPE,
  parseZendeskWebhook,
} from '../../../src/connectors/zendesk/events.js';
import { SourceEventSchema, type ParseResult, type SourceEvent } from '../../../src/sync/events/source-event.js';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../fixtures/zendesk/${name}.json`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** The one event a result must carry, checked against the queue contract. */
function onlyEvent(result: ParseResult): SourceEvent {
  if (result.kind !== 'events') throw new Error(`expected events, got ${JSON.stringify(result)}`);
  expect(result.events).toHaveLength(1);
  const event = result.events[0]!;
  expect(SourceEventSchema.parse(event)).toEqual(event);
  return event;
}

function withTicket(patch: Record<string, unknown>): Record<string, unknown> {
  const body = fixture('trigger.ticket');
  return { ...body, ticket: { ...(body.ticket as object), ...patch } };
}

/**
 * Renders the template the way Zendesk's Liquid would for the two standard
 * filters it uses (replace, strip_newlines), to check the JSON it produces.
 */
function render(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([\w.]+)((?:\s*\|[^|}]*)*)\}\}/g, (_all, name: string, filters: string) => {
    let out = values[name] ?? '';
    for (const filter of filters
      .split('|')
      .map((f) => f.trim())
      .filter(Boolean)) {
      const replace = /^replace:\s*'([^']*)',\s*'([^']*)'$/.exec(filter);
      if (replace) out = out.split(replace[1]!).join(replace[2]!);
      else if (filter === 'strip_newlines') out = out.replace(/[\r\n]/g, '');
      else throw new Error(`unexpected filter ${filter}`);
    }
    return out;
  });
}

describe('parseZendeskWebhook: event-subscribed webhooks', () => {
  it('turns organization.created into an organization linked to its Salesforce Account', () => {
    expect(onlyEvent(parseZendeskWebhook(fixture('organization.created'), {}))).toEqual({
      v: 1,
      source: 'zendesk',
      eventId: '0b6d4a1e-3f2c-4c8e-9a51-5d7e2f1a9c01',
      type: 'zen:event-type:organization.created',
      objectId: '7000000000101',
      version: Date.parse('2026-03-02T09:15:04Z'),
      origin: 'webhook',
      deleted: false,
      refs: { zendeskOrganizationId: '7000000000101', salesforceAccountId: '001000000000101AAA' },
      data: {
        kind: 'zendesk.organization',
        id: '7000000000101',
        name: 'Example Industries',
        externalId: '001000000000101AAA',
        tags: null,
      },
    });
  });

  it('picks up a new external id as the Salesforce Account ref, versioned by updated_at', () => {
    const event = onlyEvent(parseZendeskWebhook(fixture('organization.external_id_changed'), {}));
    expect(event.refs).toEqual({ zendeskOrganizationId: '7000000000102', salesforceAccountId: '001000000000102AAA' });
    expect(event.version).toBe(Date.parse('2026-03-02T10:01:29Z'));
    expect(event.data).toMatchObject({
      kind: 'zendesk.organization',
      externalId: '001000000000102AAA',
      name: 'Sample Widgets Ltd',
    });
  });

  it('turns user.created into a user with a normalized email and its organization', () => {
    expect(onlyEvent(parseZendeskWebhook(fixture('user.created'), {}))).toEqual({
      v: 1,
      source: 'zendesk',
      eventId: '9a3e7c10-6b2d-4f58-8e1a-7c4d2b9f0e03',
      type: 'zen:event-type:user.created',
      objectId: '8000000000201',
      version: Date.parse('2026-03-02T11:20:45Z'),
      origin: 'webhook',
      deleted: false,
      refs: { zendeskUserId: '8000000000201', zendeskOrganizationId: '7000000000101', email: 'jane.doe@example.com' },
      data: {
        kind: 'zendesk.user',
        id: '8000000000201',
        name: null,
        email: 'jane.doe@example.com',
        externalId: null,
        organizationId: '7000000000101',
        role: 'end-user',
      },
    });
  });

  it('marks user.deleted as a deletion and reads organization_id "0" as no organization', () => {
    const event = onlyEvent(parseZendeskWebhook(fixture('user.deleted'), {}));
    expect(event.deleted).toBe(true);
    expect(event.refs).toEqual({ zendeskUserId: '8000000000202', email: 'former.customer@example.com' });
    expect(event.data).toMatchObject({ kind: 'zendesk.user', organizationId: null, externalId: null });
  });

  it('treats a user deactivation as a deletion and a reactivation as none', () => {
    const base = { ...fixture('user.created'), type: 'zen:event-type:user.active_changed' };
    expect(onlyEvent(parseZendeskWebhook({ ...base, event: { current: false, previous: true } }, {})).deleted).toBe(
      true,
    );
    expect(onlyEvent(parseZendeskWebhook({ ...base, event: { current: true, previous: false } }, {})).deleted).toBe(
      false,
    );
  });

  it('takes a user name only from a name change', () => {
    const body = {
      ...fixture('user.created'),
      type: 'zen:event-type:user.name_changed',
      event: { current: 'Jane Roe', previous: 'Jane Doe' },
    };
    expect(onlyEvent(parseZendeskWebhook(body, {})).data).toMatchObject({ kind: 'zendesk.user', name: 'Jane Roe' });
  });

  it('turns ticket.status_changed into a ticket with lower-case status, versioned by updated_at not delivery time', () => {
    expect(onlyEvent(parseZendeskWebhook(fixture('ticket.status_changed'), {}))).toEqual({
      v: 1,
      source: 'zendesk',
      eventId: 'e7b2a9c4-5d1f-4a8e-b3c6-0f9d8e7a6b05',
      type: 'zen:event-type:ticket.status_changed',
      objectId: '5301',
      version: Date.parse('2026-03-03T12:45:20Z'),
      origin: 'webhook',
      deleted: false,
      refs: { zendeskOrganizationId: '7000000000101', zendeskUserId: '8000000000201' },
      data: {
        kind: 'zendesk.ticket',
        id: '5301',
        subject: 'Cannot download invoice',
        description: 'The invoice PDF for March won\'t download.\nIt says "not found".',
        status: 'solved',
        priority: 'high',
        formId: '360000000501',
        tags: ['billing', 'invoice_pdf'],
        requesterId: '8000000000201',
        organizationId: '7000000000101',
        createdAt: '2026-03-01T07:12:07.000Z',
        updatedAt: '2026-03-03T12:45:20.000Z',
        brandId: '360000000001',
      },
    });
  });

  it('reads a ticket moved to another brand (ticket.brand_changed) as the ticket with its new brand', () => {
    const base = fixture('ticket.status_changed');
    const moved = {
      ...base,
      type: 'zen:event-type:ticket.brand_changed',
      id: 'c1d2e3f4-0000-4000-8000-000000000001',
      detail: { ...(base.detail as object), brand_id: '360000000002' },
      event: { current: '360000000002', previous: '360000000001' },
    };
    const event = onlyEvent(parseZendeskWebhook(moved, {}));
    expect(event.data).toMatchObject({ kind: 'zendesk.ticket', id: '5301', brandId: '360000000002' });
    expect(event.deleted).toBe(false);
  });

  it('marks soft-deleted, permanently deleted and spam tickets as deletions', () => {
    for (const action of ['soft_deleted', 'permanently_deleted', 'marked_as_spam']) {
      const body = { ...fixture('ticket.status_changed'), type: `zen:event-type:ticket.${action}` };
      expect(onlyEvent(parseZendeskWebhook(body, {})).deleted).toBe(true);
    }
  });

  it('falls back to the envelope time when the detail has no updated_at', () => {
    const body = fixture('organization.created');
    const detail = { ...(body.detail as Record<string, unknown>) };
    delete detail.updated_at;
    expect(onlyEvent(parseZendeskWebhook({ ...body, detail }, {})).version).toBe(Date.parse('2026-03-02T09:15:04Z'));
  });

  it('ignores an event type it does not use, keeping its id for the counters', () => {
    expect(parseZendeskWebhook(fixture('unhandled.article.published'), {})).toEqual({
      kind: 'ignored',
      reason: 'unhandled Zendesk event type zen:event-type:article.published',
      eventId: '2d8c6f4a-9e1b-4c7d-a5f3-8b0e1c2d3e06',
    });
    const comment = { ...fixture('ticket.status_changed'), type: 'zen:event-type:ticket.comment_added' };
    expect(parseZendeskWebhook(comment, {}).kind).toBe('ignored');
  });

  it('quarantines a known event whose detail does not fit, with its event id', () => {
    const body = { ...fixture('user.created'), detail: { email: 'x@example.com' } };
    expect(parseZendeskWebhook(body, {})).toMatchObject({
      kind: 'invalid',
      eventId: '9a3e7c10-6b2d-4f58-8e1a-7c4d2b9f0e03',
    });
    const badTime = { ...fixture('organization.created'), detail: { id: '7000000000101', updated_at: 'yesterday' } };
    expect(parseZendeskWebhook(badTime, {})).toMatchObject({
      kind: 'invalid',
      eventId: '0b6d4a1e-3f2c-4c8e-9a51-5d7e2f1a9c01',
    });
  });
});

describe('parseZendeskWebhook: ticket trigger body', () => {
  it('turns a rendered trigger body into a ticket keyed by what its signature covers', () => {
    expect(onlyEvent(parseZendeskWebhook(fixture('trigger.ticket'), { signedAt: '2026-03-04T09:41:10Z' }))).toEqual({
      v: 1,
      source: 'zendesk',
      eventId: expect.stringMatching(/^ticket-5302-[0-9a-f]{16}$/),
      type: ZENDESK_TRIGGER_EVENT_TYPE,
      objectId: '5302',
      version: Date.parse('2026-03-04T09:41:00Z'),
      // The placeholder's minute resolution travels with the version: a write within that minute is a tie.
      versionPrecisionMs: 60_000,
      origin: 'webhook',
      deleted: false,
      refs: {
        zendeskOrganizationId: '7000000000101',
        zendeskUserId: '8000000000201',
        email: 'jane.doe@example.com',
        salesforceAccountId: '001000000000101AAA',
      },
      data: {
        kind: 'zendesk.ticket',
        id: '5302',
        subject: 'Upgrade to the "Team" plan',
        description: null,
        status: 'open',
        priority: 'normal',
        formId: '360000000501',
        tags: ['billing', 'upgrade', 'plan_team'],
        requesterId: '8000000000201',
        organizationId: '7000000000101',
        createdAt: '2026-03-04T09:30:00.000Z',
        updatedAt: '2026-03-04T09:41:00.000Z',
        brandId: '360000000002',
      },
    });
  });

  it('names a delivery by its signed timestamp and content: same both same id, either changed a new id', () => {
    const at = (signedAt: string, body = fixture('trigger.ticket')) =>
      onlyEvent(parseZendeskWebhook(body, { signedAt })).eventId;
    expect(at('2026-03-04T09:41:10Z')).toBe(at('2026-03-04T09:41:10Z'));
    expect(at('2026-03-04T09:41:11Z')).not.toBe(at('2026-03-04T09:41:10Z'));
    expect(at('2026-03-04T09:41:10Z', withTicket({ status: 'Pending' }))).not.toBe(at('2026-03-04T09:41:10Z'));
  });

  it('without a signed timestamp (an old quarantine entry), names a delivery by its content', () => {
    const first = onlyEvent(parseZendeskWebhook(fixture('trigger.ticket'), {}));
    expect(first.eventId).toMatch(/^ticket-5302-[0-9a-f]{16}$/);
    expect(onlyEvent(parseZendeskWebhook(fixture('trigger.ticket'), {})).eventId).toBe(first.eventId);
    expect(onlyEvent(parseZendeskWebhook(withTicket({ status: 'Pending' }), {})).eventId).not.toBe(first.eventId);
  });

  it('leaves organization refs out when the ticket has no organization', () => {
    const event = onlyEvent(parseZendeskWebhook(withTicket({ organization_id: '', organization_external_id: '' }), {}));
    expect(event.refs).toEqual({ zendeskUserId: '8000000000201', email: 'jane.doe@example.com' });
    expect(event.data).toMatchObject({ kind: 'zendesk.ticket', organizationId: null });
  });

  it('reads empty placeholders as null and the "On-hold" title as hold', () => {
    const event = onlyEvent(
      parseZendeskWebhook(withTicket({ status: 'On-hold', priority: '', form_id: '', tags: '', subject: '' }), {}),
    );
    expect(event.data).toMatchObject({ status: 'hold', priority: null, formId: null, tags: [], subject: null });
  });

  it('reads a body of the template before brands (no brand_id), or an empty brand placeholder, as a ticket of unknown brand', () => {
    const { brand_id: _gone, ...older } = fixture('trigger.ticket').ticket as Record<string, unknown>;
    expect(onlyEvent(parseZendeskWebhook({ ...fixture('trigger.ticket'), ticket: older }, {})).data).toMatchObject({
      id: '5302',
      brandId: null,
    });
    expect(onlyEvent(parseZendeskWebhook(withTicket({ brand_id: '' }), {})).data).toMatchObject({ brandId: null });
    // Never guessed: a brand id that is not a positive integer is no brand.
    expect(onlyEvent(parseZendeskWebhook(withTicket({ brand_id: 'acme' }), {})).data).toMatchObject({ brandId: null });
    expect(onlyEvent(parseZendeskWebhook(withTicket({ brand_id: '-3' }), {})).data).toMatchObject({ brandId: null });
  });

  it('quarantines a body whose updated_at is not an ISO time', () => {
    expect(
      parseZendeskWebhook(withTicket({ updated_at: 'March 4, 2026' }), { signedAt: '2026-03-04T09:41:10Z' }),
    ).toMatchObject({ kind: 'invalid', eventId: expect.stringMatching(/^ticket-5302-/) });
    expect(parseZendeskWebhook(withTicket({ updated_at: '' }), {}).kind).toBe('invalid');
  });

  it('quarantines a body from another template revision', () => {
    expect(parseZendeskWebhook({ ...fixture('trigger.ticket'), portal_sync: 'ticket.v0' }, {}).kind).toBe('invalid');
  });

  it('has a template that renders valid JSON whatever the subject holds', () => {
    const subject = 'Quote " and backslash \\ and \\" both';
    const rendered = render(ZENDESK_TICKET_TRIGGER_TEMPLATE, {
      'ticket.id': '5303',
      'ticket.title': `${subject}\r\n`,
      'ticket.status': 'New',
      'ticket.tags': 'a b',
      'ticket.updated_at_with_timestamp': '2026-03-04T10:00Z',
      'ticket.brand.id': '360000000002',
    });
    const event = onlyEvent(parseZendeskWebhook(JSON.parse(rendered), {}));
    expect(event.data).toMatchObject({
      id: '5303',
      subject,
      status: 'new',
      tags: ['a', 'b'],
      organizationId: null,
      formId: null,
      brandId: '360000000002',
    });
  });
});

describe('parseZendeskWebhook: anything else', () => {
  it('rejects bodies that are neither kind as invalid', () => {
    for (const body of [null, 'text', 42, [], {}, { type: 'customer.updated' }, { type: 'zen:event-type' }]) {
      expect(parseZendeskWebhook(body, {}).kind).not.toBe('events');
    }
    expect(parseZendeskWebhook({ hello: 'world' }, {}).kind).toBe('invalid');
  });

  it('never throws, and every event it returns satisfies the queue contract', () => {
    const known = [
      'organization.created',
      'user.deleted',
      'user.active_changed',
      'ticket.status_changed',
      'article.published',
    ];
    const envelope = fc.record({
      type: fc.oneof(fc.constantFrom(...known.map((t) => `zen:event-type:${t}`)), fc.string()),
      id: fc.oneof(fc.uuid(), fc.string(), fc.anything()),
      time: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string(),
      ),
      detail: fc.oneof(
        fc.anything(),
        fc.record({
          id: fc.oneof(fc.nat().map(String), fc.anything()),
          updated_at: fc.oneof(fc.string(), fc.constant('2026-01-01T00:00:00Z')),
        }),
      ),
      event: fc.anything(),
    });
    const trigger = fc.record({
      portal_sync: fc.constantFrom('ticket.v1', 'x'),
      ticket: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.anything())),
    });
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), envelope, trigger),
        fc.option(fc.string(), { nil: undefined }),
        (body, signedAt) => {
          const result = parseZendeskWebhook(body, signedAt === undefined ? {} : { signedAt });
          if (result.kind === 'events') for (const event of result.events) SourceEventSchema.parse(event);
        },
      ),
    );
  });
});

describe('user cross-ids', () => {
  it('links a Zendesk user to the Salesforce Contact named by its external_id, and ignores other external ids', () => {
    const raw = JSON.parse(readFileSync(new URL('../../fixtures/zendesk/user.created.json', import.meta.url), 'utf8'));
    raw.detail.external_id = '0035e00000AbCdEAAV';
    const linked = parseZendeskWebhook(raw, {});
    expect(linked.kind === 'events' && linked.events[0]!.refs.salesforceContactId).toBe('0035e00000AbCdEAAV');
    raw.detail.external_id = 'crm-42';
    const other = parseZendeskWebhook(raw, {});
    expect(other.kind === 'events' && other.events[0]!.refs.salesforceContactId).toBeUndefined();
  });
});
