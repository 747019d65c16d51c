/**
 * Experience Cloud's own case-deflection signals, relayed to us as a
 * platform event message. Pure.
 *
 * In an Aura site the Case Deflection component (with the Contact Support
 * Form) fires `lightningcommunity:deflectionSignal` when a signed-in member
 * who started a case views a suggested article or discussion; Salesforce
 * documents its attributes: `sourceType` (only `caseCreateDeflectionModal`
 * is reported on), `source` (what the member typed as the case subject or
 * description), `destination` (the article or discussion id) and a payload of
 * `deflectionAnswer`, `confirmationAnswer` (YES, NO or null), `state` and
 * `caseCreated`. That event lives in the browser; the relay in docs/deflection.md
 * publishes it as the platform event `Portal_Case_Deflection__e`, one field
 * per attribute, and an Apex trigger posts each one here in the documented
 * CometD message shape:
 *
 *   { "channel": "/event/Portal_Case_Deflection__e",
 *     "data": { "schema": "…",
 *               "payload": { "CreatedDate": "2026-11-23T10:15:00.000Z", "CreatedById": "005…",
 *                            "Contact_Id__c": "003…", "Contact_Email__c": "jane@example.com",
 *                            "Source_Type__c": "caseCreateDeflectionModal", "Source__c": "invoice pdf",
 *                            "Destination__c": "ka0…", "Deflection_Answer__c": "YES",
 *                            "Confirmation_Answer__c": "YES", "State__c": "ConfirmationMessageState",
 *                            "Case_Created__c": false },
 *               "event": { "EventUuid": "…", "replayId": 42 } } }
 *
 * It becomes portal activity of type `case_deflection` for the member's
 * contact: part of their self-service session like any other activity.
 */
import { z } from 'zod';
import { screenRefs, withRefused } from '../../sync/events/ids.js';
import { describeZodError, SourceEventSchema } from '../../sync/events/source-event.js';
import type { ParseResult } from '../../sync/events/source-event.js';

const CASE_DEFLECTION_EVENT = 'Portal_Case_Deflection__e';
const CASE_DEFLECTION_CHANNEL = `/event/${CASE_DEFLECTION_EVENT}`;
/** The only source type Salesforce reports deflections for. */
const CASE_CREATE_SOURCE_TYPE = 'caseCreateDeflectionModal';

const answer = z.enum(['YES', 'NO']).nullish();
const text = z.string().trim().min(1).nullish();

const PayloadSchema = z.object({
  // CometD renders it as ISO 8601; a Pub/Sub relay as epoch milliseconds.
  CreatedDate: z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]),
  EventUuid: text,
  Contact_Id__c: z.string().regex(/^003[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$/, 'expected a Contact id (003…)'),
  Contact_Email__c: text,
  Session_Id__c: text,
  Source_Type__c: z.string().min(1),
  Source__c: z.string().nullish(),
  Destination__c: text,
  Deflection_Answer__c: answer,
  Confirmation_Answer__c: answer,
  State__c: text,
  Case_Created__c: z.boolean().nullish(),
});

const MessageSchema = z.object({
  channel: z.literal(CASE_DEFLECTION_CHANNEL),
  data: z.object({
    payload: PayloadSchema,
    event: z
      .object({
        EventUuid: text,
        replayId: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).nullish(),
      })
      .nullish(),
  }),
});

/** Whether a JSON event posted to the Salesforce endpoint is a relayed case-deflection signal. */
export function isCaseDeflectionMessage(item: unknown): boolean {
  return (
    typeof item === 'object' && item !== null && (item as { channel?: unknown }).channel === CASE_DEFLECTION_CHANNEL
  );
}

export function parseCaseDeflectionMessage(item: unknown): ParseResult {
  const parsed = MessageSchema.safeParse(item);
  if (!parsed.success)
    return { kind: 'invalid', reason: `${CASE_DEFLECTION_EVENT}: ${describeZodError(parsed.error)}` };
  const { payload: p, event: meta } = parsed.data.data;
  const uuid = meta?.EventUuid ?? p.EventUuid;
  const replay = meta?.replayId;
  if (!uuid && replay == null)
    return {
      kind: 'invalid',
      reason: `${CASE_DEFLECTION_EVENT}: needs data.event.EventUuid or data.event.replayId to be told apart from a redelivery`,
    };
  const eventId = `${CASE_DEFLECTION_EVENT}-${uuid ?? replay}`;
  if (p.Source_Type__c !== CASE_CREATE_SOURCE_TYPE)
    return { kind: 'ignored', eventId, reason: `unsupported deflection sourceType ${p.Source_Type__c}` };
  const { refs, refused } = screenRefs({ salesforceContactId: p.Contact_Id__c, email: p.Contact_Email__c });
  const checked = SourceEventSchema.safeParse(
    withRefused(
      {
        v: 1,
        source: 'portal',
        eventId,
        type: 'case_deflection',
        objectId: p.Session_Id__c ?? eventId,
        version: typeof p.CreatedDate === 'number' ? p.CreatedDate : Date.parse(p.CreatedDate),
        origin: 'webhook',
        deleted: false,
        refs,
        data: {
          kind: 'portal.activity',
          activity: 'case_deflection',
          sessionId: p.Session_Id__c ?? null,
          query: p.Source__c ?? null,
          resultCount: null,
          articleId: p.Destination__c ?? null,
          invoiceId: null,
          ticketId: null,
          properties: {
            sourceType: p.Source_Type__c,
            deflectionAnswer: p.Deflection_Answer__c ?? null,
            confirmationAnswer: p.Confirmation_Answer__c ?? null,
            state: p.State__c ?? null,
            caseCreated: p.Case_Created__c ?? null,
          },
        },
      },
      refused,
    ),
  );
  if (!checked.success)
    return { kind: 'invalid', eventId, reason: `${CASE_DEFLECTION_EVENT}: ${describeZodError(checked.error)}` };
  return { kind: 'events', events: [checked.data] };
}
