/**
 * Salesforce Outbound Messages: a SOAP 1.1 `notifications` call carrying up
 * to 100 records, each the LATEST state of an Account or Contact. There is
 * no signature, so the edge checks the OrganizationId (organizationIdMatches)
 * and dedupes on each Notification Id. Pure: no HTTP, no SDK.
 */
import { XMLParser } from 'fast-xml-parser';
import { screenRefs, withRefused } from '../../sync/events/ids.js';
import { SourceEventSchema, describeZodError, normalizeEmail } from '../../sync/events/source-event.js';
import type { EventData, ParseResult } from '../../sync/events/source-event.js';

export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';
export const SOBJECT_NS = 'urn:sobject.enterprise.soap.sforce.com';
const MAX_NOTIFICATIONS = 100;

/** The only answer Salesforce counts as delivered; anything else is retried for 24 h. */
export const OUTBOUND_ACK_XML =
  `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP_ENV_NS}">` +
  `<soapenv:Body><notificationsResponse xmlns="${OUTBOUND_NS}"><Ack>true</Ack>` +
  '</notificationsResponse></soapenv:Body></soapenv:Envelope>';

type OutboundNotification = { notificationId: string; result: ParseResult };
export type OutboundParse =
  | { ok: true; organizationId: string; actionId: string | null; notifications: OutboundNotification[] }
  | { ok: false; reason: string };

/** Salesforce API names; anything else (e.g. `__proto__`) is not a field and is dropped. */
export const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Escape text for element content. Characters XML 1.0 cannot carry become
 * U+FFFD, and CR becomes `&#13;` because parsers normalize a literal CR away.
 */
const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
};

export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/[&<>"'\r]/g, (c) => XML_ESCAPES[c] ?? c);
}

export function soapFault(faultcode: 'soapenv:Client' | 'soapenv:Server', message: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="${SOAP_ENV_NS}">` +
    `<soapenv:Body><soapenv:Fault><faultcode>${faultcode}</faultcode>` +
    `<faultstring>${escapeXml(message)}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`
  );
}

const ORG_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/** 15- and 18-character ids name the same org; the 3-character suffix only encodes case. */
export function organizationIdMatches(received: string, configured: string): boolean {
  if (!ORG_ID.test(received) || !ORG_ID.test(configured)) return false;
  return received.slice(0, 15) === configured.slice(0, 15);
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/;

export type RecordChange = {
  entity: 'Account' | 'Contact';
  eventId: string;
  type: string;
  objectId: string;
  deleted: boolean;
  fields: Record<string, string | null>;
  /** Used when the record carries neither SystemModstamp nor LastModifiedDate (CDC commitTimestamp). */
  fallbackVersion?: number;
};

/**
 * One Account/Contact change as a validated SourceEvent. Shared by the
 * Outbound Message and CDC parsers so both channels produce the same shape.
 */
export function recordEvent(change: RecordChange): ParseResult {
  const { entity, eventId, fields } = change;
  const stamp = fields['SystemModstamp'] ?? fields['LastModifiedDate'];
  let version = change.fallbackVersion;
  if (stamp != null) {
    if (!TIMESTAMP.test(stamp)) {
      return { kind: 'invalid', eventId, reason: `version timestamp is not a date: ${stamp.slice(0, 40)}` };
    }
    version = Date.parse(stamp);
  }
  if (version === undefined || Number.isNaN(version)) {
    return { kind: 'invalid', eventId, reason: 'no SystemModstamp or LastModifiedDate: the merge orders by it' };
  }
  let data: EventData;
  let raw: Parameters<typeof screenRefs>[0];
  if (entity === 'Account') {
    data = { kind: 'salesforce.account', fields };
    raw = { salesforceAccountId: change.objectId };
  } else {
    const accountId = nonEmpty(fields['AccountId']);
    const email = normalizeEmail(fields['Email']);
    data = { kind: 'salesforce.contact', accountId, email: email ?? null, name: contactName(fields), fields };
    raw = { salesforceContactId: change.objectId, salesforceAccountId: accountId, email: fields['Email'] };
  }
  // Even a signed message's ids are checked by shape (ids.ts): what fails links nothing.
  const { refs, refused } = screenRefs(raw);
  const parsed = SourceEventSchema.safeParse(
    withRefused(
      {
        v: 1,
        source: 'salesforce',
        eventId,
        type: change.type,
        objectId: change.objectId,
        version,
        origin: 'webhook',
        deleted: change.deleted,
        refs,
        data,
      },
      refused,
    ),
  );
  return parsed.success
    ? { kind: 'events', events: [parsed.data] }
    : { kind: 'invalid', eventId, reason: describeZodError(parsed.error) };
}

function nonEmpty(value: string | null | undefined): string | null {
  const v = value?.trim();
  return v ? v : null;
}

/** `Name` when carried; else First + Last only when both keys are present, so a partial update never invents a name. */
function contactName(fields: Record<string, string | null>): string | null {
  const name = nonEmpty(fields['Name']);
  if (name || !('LastName' in fields) || !('FirstName' in fields)) return name;
  return nonEmpty([fields['FirstName'], fields['LastName']].filter(Boolean).join(' '));
}

// ---- the SOAP envelope ------------------------------------------------------

const NOTIFICATION_PATH = 'Envelope.Body.notifications.Notification';

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false, // xsi:type and xsi:nil arrive as @_type / @_nil
  attributeNamePrefix: '@_',
  parseTagValue: false, // ids like 001… and numbers stay exactly as sent
  parseAttributeValue: false,
  trimValues: false, // field values are data; whitespace-only text nodes are skipped below
  processEntities: true,
  htmlEntities: true, // the only switch that decodes numeric references such as &#13;
  isArray: (_name, path) => String(path) === NOTIFICATION_PATH,
});

type XmlObject = Record<string, unknown>;
const isObject = (v: unknown): v is XmlObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The text of a leaf element: a string, null for xsi:nil, undefined when it is not a single leaf. */
function leaf(node: unknown): string | null | undefined {
  if (typeof node === 'string') return node;
  if (!isObject(node)) return undefined;
  if (node['@_nil'] === 'true') return null;
  const children = Object.keys(node).filter((k) => !k.startsWith('@_'));
  if (children.length === 0) return '';
  const text = node['#text'];
  return children.length === 1 && typeof text === 'string' ? text : undefined;
}

export function parseOutboundMessage(xml: string): OutboundParse {
  if (typeof xml !== 'string' || xml.trim() === '') return { ok: false, reason: 'empty body' };
  // Salesforce never sends a DTD; refusing one rules out entity expansion and external entities.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return { ok: false, reason: 'DOCTYPE/ENTITY declarations are not allowed' };
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (err) {
    return { ok: false, reason: `malformed XML: ${String(err instanceof Error ? err.message : err).slice(0, 200)}` };
  }
  const roots = isObject(doc) ? Object.keys(doc).filter((k) => !k.startsWith('?')) : [];
  const envelope = isObject(doc) ? doc['Envelope'] : undefined;
  const body = isObject(envelope) ? envelope['Body'] : undefined;
  if (roots.length !== 1 || !isObject(body)) return { ok: false, reason: 'not a SOAP envelope' };
  const notifications = body['notifications'];
  if (!isObject(notifications)) return { ok: false, reason: 'no notifications element' };

  const organizationId = nonEmpty(leaf(notifications['OrganizationId']));
  if (!organizationId) return { ok: false, reason: 'missing OrganizationId' };
  const list = notifications['Notification'];
  const items: unknown[] = Array.isArray(list) ? list : [];
  if (items.length > MAX_NOTIFICATIONS) {
    return { ok: false, reason: `${items.length} notifications, at most ${MAX_NOTIFICATIONS} allowed` };
  }
  return {
    ok: true,
    organizationId,
    actionId: nonEmpty(leaf(notifications['ActionId'])),
    notifications: items.map(parseNotification),
  };
}

function parseNotification(item: unknown): OutboundNotification {
  const notificationId = isObject(item) ? nonEmpty(leaf(item['Id'])) : null;
  // Without an Id there is nothing to dedupe on; '' marks it and the result says why.
  if (!notificationId) return { notificationId: '', result: { kind: 'invalid', reason: 'Notification has no Id' } };
  const eventId = notificationId;
  const invalid = (reason: string): OutboundNotification => ({
    notificationId,
    result: { kind: 'invalid', eventId, reason },
  });
  const sObject = isObject(item) ? item['sObject'] : undefined;
  if (!isObject(sObject)) return invalid('Notification has no sObject');
  const xsiType = typeof sObject['@_type'] === 'string' ? sObject['@_type'] : '';
  const sObjectType = xsiType.slice(xsiType.indexOf(':') + 1);
  if (sObjectType !== 'Account' && sObjectType !== 'Contact') {
    const reason = `unsupported sObject type ${sObjectType || '(none)'}`;
    return { notificationId, result: { kind: 'ignored', eventId, reason } };
  }
  const fields: Record<string, string | null> = {};
  for (const [name, node] of Object.entries(sObject)) {
    if (name.startsWith('@_') || name === '#text' || !API_NAME.test(name)) continue;
    const value = leaf(node);
    if (value === undefined) return invalid(`field ${name} is not a single value`);
    fields[name] = value;
  }
  const objectId = nonEmpty(fields['Id']);
  if (!objectId) return invalid(`${sObjectType} has no Id`);
  const result = recordEvent({
    entity: sObjectType,
    eventId,
    type: `outbound.${sObjectType}`,
    objectId,
    deleted: fields['IsDeleted'] === 'true',
    fields,
  });
  return { notificationId, result };
}
