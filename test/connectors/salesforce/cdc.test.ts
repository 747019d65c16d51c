import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEchoOfOurOwnWrite, parseSalesforceJson } from '../../../src/connectors/salesforce/cdc.js';
import { SourceEventSchema } from '../../../src/sync/events/source-event.js';
import type { ParseResult, SourceEvent } from '../../../src/sync/events/source-event.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/salesforce/${name}`, import.meta.url), 'utf8'));

const opts = { clientId: 'portal-sync' };

function eventsOf(results: ParseResult[]): SourceEvent[] {
  return results.map((r) => {
    if (r.kind !== 'events') throw new Error(`expected events, got ${JSON.stringify(r)}`);
    expect(r.events).toHaveLength(1);
    return SourceEventSchema.parse(r.events[0]);
  });
}

function header(overrides: Record<string, unknown> = {}) {
  return {
    entityName: 'Contact',
    recordIds: ['0038d00000Rk2LmAAJ'],
    changeType: 'UPDATE',
    changeOrigin: 'com/salesforce/api/rest/62.0;client=dataloader',
    transactionKey: '000a1b2c-3d4e-5f60-7182-93a4b5c6d7e8',
    sequenceNumber: 2,
    commitTimestamp: 1733131533000,
    commitNumber: 11520937490,
    commitUser: '0058d000003Hn1KAAS',
    changedFields: [],
    nulledFields: [],
    diffFields: [],
    ...overrides,
  };
}

describe('Salesforce CDC-shaped JSON', () => {
  it('fans one account UPDATE out into one SourceEvent per record id', () => {
    const events = eventsOf(parseSalesforceJson(fixture('account-cdc-update.json'), opts));
    expect(events.map((e) => [e.eventId, e.objectId])).toEqual([
      ['0003c6f1-8a2e-4b1e-9d7a-5f2b6c1e4a90-1-0018d00000QxZ7pAAF', '0018d00000QxZ7pAAF'],
      ['0003c6f1-8a2e-4b1e-9d7a-5f2b6c1e4a90-1-0018d00000QxZ9aAAF', '0018d00000QxZ9aAAF'],
    ]);
    expect(events[1]).toEqual({
      v: 1,
      source: 'salesforce',
      eventId: '0003c6f1-8a2e-4b1e-9d7a-5f2b6c1e4a90-1-0018d00000QxZ9aAAF',
      type: 'cdc.Account.UPDATE',
      objectId: '0018d00000QxZ9aAAF',
      version: Date.parse('2024-12-02T09:25:33.000Z'),
      origin: 'webhook',
      deleted: false,
      refs: { salesforceAccountId: '0018d00000QxZ9aAAF' },
      data: {
        kind: 'salesforce.account',
        // Only the changed fields: compound BillingAddress.City lands under its API name.
        fields: {
          Customer_Tier__c: 'Gold',
          Industry: null,
          BillingCity: 'Rotterdam',
          NumberOfEmployees: '240',
          LastModifiedDate: '2024-12-02T09:25:33.000Z',
        },
      },
    });
  });

  it('reads a CometD contact CREATE: replayId-based ids, flattened Name, normalized email', () => {
    const [event] = eventsOf(parseSalesforceJson(fixture('contact-cdc-create.json'), opts));
    expect(event?.eventId).toBe('Contact-48211-0038d00000Rk2LpAAJ');
    expect(event?.type).toBe('cdc.Contact.CREATE');
    expect(event?.refs).toEqual({
      salesforceContactId: '0038d00000Rk2LpAAJ',
      salesforceAccountId: '0018d00000QxZ7pAAF',
      email: 'priya.raman@acme-logistics.example',
    });
    expect(event?.data).toMatchObject({
      kind: 'salesforce.contact',
      accountId: '0018d00000QxZ7pAAF',
      email: 'priya.raman@acme-logistics.example',
      name: 'Priya Raman',
      fields: {
        Salutation: 'Ms.',
        FirstName: 'Priya',
        LastName: 'Raman',
        MailingCity: 'Rotterdam',
        MailingLatitude: null,
        HasOptedOutOfEmail: 'false',
      },
    });
  });

  it('ignores a gap event and names every record that needs a resync', () => {
    const results = parseSalesforceJson(fixture('account-cdc-gap.json'), opts);
    expect(results).toEqual([
      {
        kind: 'ignored',
        eventId: '0007a913-2f4d-4c8e-a61b-93d05e7f2c14-1',
        reason: 'gap event: needs a resync of Account 0018d00000QxZ7pAAF, 0018d00000QxZ9aAAF (GAP_UPDATE)',
      },
    ]);
  });

  it('treats a wildcard record id like a gap: every record with that prefix needs a resync', () => {
    const wildcard = { ChangeEventHeader: header({ entityName: 'Account', recordIds: ['001*'] }) };
    const [result] = parseSalesforceJson(wildcard, opts);
    expect(result).toMatchObject({ kind: 'ignored', reason: 'gap event: needs a resync of Account 001* (UPDATE)' });
  });

  it('ignores echoes of our own writes but not other clients’ writes', () => {
    const origin = (client: string) => header({ changeOrigin: `com/salesforce/api/rest/62.0;client=${client}` });
    const ours = { ChangeEventHeader: origin('portal-sync'), Email: 'a@b.example' };
    expect(parseSalesforceJson(ours, opts)).toEqual([
      { kind: 'ignored', eventId: '000a1b2c-3d4e-5f60-7182-93a4b5c6d7e8-2', reason: 'echo of portal-sync write' },
    ]);
    const theirs = { ...ours, ChangeEventHeader: origin('portal-sync-staging') };
    expect(parseSalesforceJson(theirs, opts)[0]?.kind).toBe('events');
  });

  it('recognises our client id only as the whole client= value', () => {
    expect(isEchoOfOurOwnWrite('com/salesforce/api/rest/62.0;client=portal-sync', 'portal-sync')).toBe(true);
    expect(isEchoOfOurOwnWrite('com/salesforce/api/soap/62.0;client=portal-sync/', 'portal-sync')).toBe(true);
    expect(isEchoOfOurOwnWrite('com/salesforce/api/rest/62.0;client=portal-sync-2', 'portal-sync')).toBe(false);
    expect(isEchoOfOurOwnWrite('com/salesforce/api/rest/62.0', 'portal-sync')).toBe(false);
    expect(isEchoOfOurOwnWrite('', 'portal-sync')).toBe(false);
    expect(isEchoOfOurOwnWrite(undefined, 'portal-sync')).toBe(false);
    expect(isEchoOfOurOwnWrite('com/salesforce/api/rest/62.0;client=', '')).toBe(false);
  });

  it('marks a DELETE deleted and versions it by commitTimestamp, having no fields', () => {
    const [event] = eventsOf(parseSalesforceJson({ ChangeEventHeader: header({ changeType: 'DELETE' }) }, opts));
    expect(event).toMatchObject({
      deleted: true,
      version: 1733131533000,
      data: { fields: {}, name: null, email: null },
    });
  });

  it('does not invent a contact name from a partial update', () => {
    const [event] = eventsOf(
      parseSalesforceJson({ ChangeEventHeader: header(), Name: { LastName: 'Lee-Park' } }, opts),
    );
    expect(event?.data).toMatchObject({ name: null, fields: { LastName: 'Lee-Park' } });
  });

  it('drops diffFields, whose values are diffs rather than field values', () => {
    const diffHeader = header({ diffFields: ['Description'] });
    const body = { ChangeEventHeader: diffHeader, Description: '@@ -1,3 +1,4 @@', Title: 'CFO' };
    const [event] = eventsOf(parseSalesforceJson(body, opts));
    expect(event?.data).toMatchObject({ fields: { Title: 'CFO' } });
    expect(event?.data.kind === 'salesforce.contact' && 'Description' in event.data.fields).toBe(false);
  });

  it('parses each event of an events batch and refuses batches over 100', () => {
    const batch = {
      events: ['account-cdc-update.json', 'contact-cdc-create.json', 'account-cdc-gap.json'].map(fixture),
    };
    expect(parseSalesforceJson(batch, opts).map((r) => r.kind)).toEqual(['events', 'events', 'events', 'ignored']);
    const tooMany = { events: Array.from({ length: 101 }, () => fixture('account-cdc-gap.json')) };
    expect(parseSalesforceJson(tooMany, opts)).toEqual([
      { kind: 'invalid', reason: '101 events, at most 100 allowed' },
    ]);
  });

  it('ignores entities it does not sync and flags malformed headers as invalid', () => {
    const lead = { ChangeEventHeader: header({ entityName: 'Lead', recordIds: ['00Q8d00000Fj4WcEAJ'] }) };
    expect(parseSalesforceJson(lead, opts)).toEqual([
      { kind: 'ignored', eventId: '000a1b2c-3d4e-5f60-7182-93a4b5c6d7e8-2', reason: 'unsupported entity Lead' },
    ]);
    const [bad] = parseSalesforceJson({ ChangeEventHeader: header({ commitTimestamp: 'yesterday' }) }, opts);
    expect(bad).toMatchObject({ kind: 'invalid', reason: expect.stringContaining('commitTimestamp') });
    expect(parseSalesforceJson('hello', opts)).toEqual([{ kind: 'invalid', reason: 'not a change event object' }]);
  });

  it('never throws, whatever the JSON', () => {
    const headerish = fc.record({
      ChangeEventHeader: fc.record(
        {
          entityName: fc.constantFrom('Account', 'Contact', 'Lead', ''),
          recordIds: fc.array(fc.oneof(fc.string(), fc.constant('001*'), fc.constant('__proto__'))),
          changeType: fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_OVERFLOW', 'SNAPSHOT'),
          commitTimestamp: fc.oneof(fc.nat(), fc.double(), fc.string()),
          transactionKey: fc.string(),
          sequenceNumber: fc.integer(),
          nulledFields: fc.array(fc.string()),
          diffFields: fc.array(fc.string()),
          changeOrigin: fc.option(fc.string()),
        },
        { requiredKeys: [] },
      ),
      LastModifiedDate: fc.oneof(
        fc.string(),
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      ),
      Name: fc.jsonValue(),
      Email: fc.jsonValue(),
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), headerish, fc.anything()), (body) => {
        const results = parseSalesforceJson(body, opts);
        expect(Array.isArray(results)).toBe(true);
        for (const r of results) if (r.kind === 'events') r.events.forEach((e) => SourceEventSchema.parse(e));
      }),
      { numRuns: 500 },
    );
  });
});
