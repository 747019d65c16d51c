/**
 * Experience Cloud's case-deflection signals, relayed as Portal_Case_Deflection__e
 * platform event messages to the Salesforce JSON endpoint (cdc.ts hands them to
 * case-deflection.ts), become portal activity of type case_deflection.
 */
import { describe, expect, it } from 'vitest';
import { parseSalesforceJson } from '../../../src/connectors/salesforce/cdc.js';
import { SourceEventSchema, type ParseResult } from '../../../src/sync/events/source-event.js';

const opts = { clientId: 'portal-sync' };

/** As CometD delivers a platform event (and the Apex relay of docs/deflection.md posts it). */
function signal(
  payload: Record<string, unknown> = {},
  event: Record<string, unknown> | null = { EventUuid: '5d0a3c2e-8a41-4f6b-9d7e-2c1b0a9f8e71', replayId: 1207 },
) {
  return {
    channel: '/event/Portal_Case_Deflection__e',
    data: {
      schema: 'kQdv5tBWyTNrSWXmBYpWnA',
      payload: {
        CreatedDate: '2026-11-23T10:15:02.417Z',
        CreatedById: '0055e000001AbCdAAK',
        Contact_Id__c: '0035e00000QxR2mAAF',
        Contact_Email__c: ' Jane.Doe@Example.com ',
        Source_Type__c: 'caseCreateDeflectionModal',
        Source__c: 'Invoice PDF shows the wrong VAT number',
        Destination__c: 'ka05e000000AbCdAAK',
        Deflection_Answer__c: 'YES',
        Confirmation_Answer__c: 'YES',
        State__c: 'ConfirmationMessageState',
        Case_Created__c: false,
        ...payload,
      },
      ...(event ? { event } : {}),
    },
  };
}

const only = (results: ParseResult[]): ParseResult => {
  expect(results).toHaveLength(1);
  return results[0]!;
};

describe('relayed case-deflection signals', () => {
  it("become portal activity of type case_deflection for the member's contact", () => {
    const result = only(parseSalesforceJson(signal(), opts));
    if (result.kind !== 'events') throw new Error(JSON.stringify(result));
    const [event] = result.events;
    expect(SourceEventSchema.parse(event)).toEqual(event);
    expect(event).toEqual({
      v: 1,
      source: 'portal',
      eventId: 'Portal_Case_Deflection__e-5d0a3c2e-8a41-4f6b-9d7e-2c1b0a9f8e71',
      type: 'case_deflection',
      objectId: 'Portal_Case_Deflection__e-5d0a3c2e-8a41-4f6b-9d7e-2c1b0a9f8e71',
      version: Date.parse('2026-11-23T10:15:02.417Z'),
      origin: 'webhook',
      deleted: false,
      refs: { salesforceContactId: '0035e00000QxR2mAAF', email: 'jane.doe@example.com' },
      data: {
        kind: 'portal.activity',
        activity: 'case_deflection',
        sessionId: null,
        query: 'Invoice PDF shows the wrong VAT number',
        resultCount: null,
        articleId: 'ka05e000000AbCdAAK',
        invoiceId: null,
        ticketId: null,
        properties: {
          sourceType: 'caseCreateDeflectionModal',
          deflectionAnswer: 'YES',
          confirmationAnswer: 'YES',
          state: 'ConfirmationMessageState',
          caseCreated: false,
        },
      },
    });
  });

  it("sit in a batch beside change events, and a Pub/Sub relay's epoch CreatedDate works too", () => {
    const results = parseSalesforceJson(
      { events: [signal({ CreatedDate: 1763892902417, EventUuid: 'u-2' }, null)] },
      opts,
    );
    const result = only(results);
    expect(result.kind === 'events' && result.events[0]).toMatchObject({
      eventId: 'Portal_Case_Deflection__e-u-2',
      version: 1763892902417,
    });
  });

  it('falls back to the replay id to tell redeliveries apart', () => {
    const result = only(parseSalesforceJson(signal({}, { replayId: 88 }), opts));
    expect(result.kind === 'events' && result.events[0]?.eventId).toBe('Portal_Case_Deflection__e-88');
  });

  it.each([
    {
      name: 'no Contact (an unauthenticated visitor)',
      message: signal({ Contact_Id__c: null }),
      reason: /Contact_Id__c/,
    },
    {
      name: 'an id that is not a Contact',
      message: signal({ Contact_Id__c: '0015e00000QxR2mAAF' }),
      reason: /expected a Contact id/,
    },
    {
      name: 'an answer outside YES/NO',
      message: signal({ Deflection_Answer__c: 'MAYBE' }),
      reason: /Deflection_Answer__c/,
    },
    {
      name: 'nothing to tell redeliveries apart',
      message: signal({}, null),
      reason: /EventUuid or data\.event\.replayId/,
    },
  ])('quarantines a signal with $name', ({ message, reason }) => {
    const result = only(parseSalesforceJson(message, opts));
    expect(result.kind).toBe('invalid');
    expect(result.kind === 'invalid' && result.reason).toMatch(reason);
  });

  it('ignores source types Salesforce does not report deflections for', () => {
    const result = only(parseSalesforceJson(signal({ Source_Type__c: 'chatterQuestionDeflection' }), opts));
    expect(result).toEqual({
      kind: 'ignored',
      eventId: 'Portal_Case_Deflection__e-5d0a3c2e-8a41-4f6b-9d7e-2c1b0a9f8e71',
      reason: 'unsupported deflection sourceType chatterQuestionDeflection',
    });
  });

  it('leaves other platform events to the change-event parser, which refuses them as before', () => {
    const result = only(
      parseSalesforceJson(
        {
          channel: '/event/Low_Ink__e',
          data: { payload: { CreatedDate: '2026-11-23T10:15:02Z' }, event: { replayId: 2 } },
        },
        opts,
      ),
    );
    expect(result.kind).toBe('invalid');
  });
});
