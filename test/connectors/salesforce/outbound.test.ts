import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { buildOutboundMessage } from '../../../src/connectors/salesforce/outbound-builder.js';
import type { OutboundNotificationSpec } from '../../../src/connectors/salesforce/outbound-builder.js';
import {
  OUTBOUND_ACK_XML,
  organizationIdMatches,
  parseOutboundMessage,
  soapFault,
} from '../../../src/connectors/salesforce/outbound.js';
import { SourceEventSchema } from '../../../src/sync/events/source-event.js';
import type { ParseResult, SourceEvent } from '../../../src/sync/events/source-event.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/salesforce/${name}`, import.meta.url), 'utf8');

const ORG = '00D8d000004PqRsEAK';
const ACTION = '04k8d000000TzWvAAK';

const message = (notifications: OutboundNotificationSpec[], sessionId: string | null = null): string =>
  buildOutboundMessage({ organizationId: ORG, actionId: ACTION, sessionId, notifications });

function accepted(xml: string) {
  const parsed = parseOutboundMessage(xml);
  if (!parsed.ok) throw new Error(`refused: ${parsed.reason}`);
  return parsed;
}

/** The single SourceEvent of a result, checked against the queue contract. */
function eventOf(result: ParseResult | undefined): SourceEvent {
  if (result?.kind !== 'events') throw new Error(`expected events, got ${JSON.stringify(result)}`);
  expect(result.events).toHaveLength(1);
  return SourceEventSchema.parse(result.events[0]);
}

function account(id: string, fields: Record<string, string | null> = {}): OutboundNotificationSpec {
  return {
    id,
    sObjectType: 'Account',
    fields: { Id: '0018d00000QxZ7pAAF', Name: 'Acme', SystemModstamp: '2024-12-02T09:25:34.000Z', ...fields },
  };
}

describe('Salesforce Outbound Messages', () => {
  it('turns an account notification into a salesforce.account event keyed by the Notification Id', () => {
    const parsed = accepted(fixture('account-outbound.xml'));
    expect(parsed.organizationId).toBe(ORG);
    expect(parsed.actionId).toBe(ACTION);
    expect(parsed.notifications.map((n) => n.notificationId)).toEqual(['04l8d00001bHx2QAAS']);
    expect(eventOf(parsed.notifications[0]?.result)).toEqual({
      v: 1,
      source: 'salesforce',
      eventId: '04l8d00001bHx2QAAS',
      type: 'outbound.Account',
      objectId: '0018d00000QxZ7pAAF',
      version: Date.parse('2024-12-02T09:25:34.000Z'), // SystemModstamp wins over LastModifiedDate
      origin: 'webhook',
      deleted: false,
      refs: { salesforceAccountId: '0018d00000QxZ7pAAF' },
      data: {
        kind: 'salesforce.account',
        fields: {
          Id: '0018d00000QxZ7pAAF',
          AccountNumber: 'CUST-004817',
          AnnualRevenue: '2500000.0',
          BillingCity: 'Rotterdam',
          BillingCountry: 'Netherlands',
          CreatedDate: '2023-03-14T08:02:11.000Z',
          Customer_Tier__c: 'Gold',
          IsDeleted: 'false',
          LastModifiedDate: '2024-12-02T09:25:33.000Z',
          Name: 'Acme Logistics & Freight B.V.',
          OwnerId: '0058d000003Hn1KAAS',
          Stripe_Customer_Id__c: 'cus_Q8xLm2VbN4rT7a',
          SystemModstamp: '2024-12-02T09:25:34.000Z',
        },
      },
    });
  });

  it('turns a contacts batch into one event per notification, nil fields becoming null', () => {
    const parsed = accepted(fixture('contacts-outbound-batch.xml'));
    const events = parsed.notifications.map((n) => eventOf(n.result));
    expect(events.map((e) => [e.eventId, e.objectId, e.type])).toEqual([
      ['04l8d00001bHx2RAAS', '0038d00000Rk2LmAAJ', 'outbound.Contact'],
      ['04l8d00001bHx2SAAS', '0038d00000Rk2LnAAJ', 'outbound.Contact'],
      ['04l8d00001bHx2TAAS', '0038d00000Rk2LoAAJ', 'outbound.Contact'],
    ]);
    const [dana, ruben] = events;
    expect(dana?.data).toMatchObject({
      kind: 'salesforce.contact',
      accountId: '0018d00000QxZ7pAAF',
      email: 'dana.lee@acme-logistics.example',
      name: 'Dana Lee',
    });
    expect(dana?.refs).toEqual({
      salesforceContactId: '0038d00000Rk2LmAAJ',
      salesforceAccountId: '0018d00000QxZ7pAAF',
      email: 'dana.lee@acme-logistics.example',
    });
    expect(ruben?.data).toMatchObject({ name: 'Ruben de Vries', fields: { Phone: null, Title: null } });
  });

  it('still yields an array when the message holds a single notification', () => {
    const parsed = accepted(message([account('04l8d00001bHx2QAAS')]));
    expect(Array.isArray(parsed.notifications)).toBe(true);
    expect(parsed.notifications).toHaveLength(1);
  });

  it('ignores sObject types it does not sync, such as Lead', () => {
    const parsed = accepted(fixture('lead-outbound.xml'));
    expect(parsed.notifications).toEqual([
      {
        notificationId: '04l8d00001bHx2UAAS',
        result: { kind: 'ignored', eventId: '04l8d00001bHx2UAAS', reason: 'unsupported sObject type Lead' },
      },
    ]);
  });

  it('accepts 100 notifications and refuses 101', () => {
    const build = (n: number) =>
      message(Array.from({ length: n }, (_, i) => account(`04l8d00001bH${String(i).padStart(3, '0')}AAA`)));
    expect(accepted(build(100)).notifications).toHaveLength(100);
    expect(parseOutboundMessage(build(101))).toEqual({ ok: false, reason: '101 notifications, at most 100 allowed' });
  });

  it('refuses DOCTYPE and entity declarations instead of expanding them', () => {
    const laughs =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>' +
      '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>' +
      '<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>&lol2;</OrganizationId>' +
      '</notifications></soapenv:Body></soapenv:Envelope>';
    const external = fixture('account-outbound.xml').replace(
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    );
    for (const xml of [laughs, external]) {
      expect(parseOutboundMessage(xml)).toEqual({ ok: false, reason: 'DOCTYPE/ENTITY declarations are not allowed' });
    }
  });

  it('refuses what is not a well-formed notifications envelope, saying why', () => {
    const reason = (xml: string) => {
      const parsed = parseOutboundMessage(xml);
      return parsed.ok ? 'accepted' : parsed.reason;
    };
    expect(reason('')).toBe('empty body');
    expect(reason('<soapenv:Envelope><soapenv:Body>')).toMatch(/^malformed XML/);
    expect(reason('{"not":"xml"}')).toMatch(/^malformed XML/);
    expect(reason('<html><body>hi</body></html>')).toBe('not a SOAP envelope');
    expect(reason('<s:Envelope xmlns:s="x"><s:Body><other/></s:Body></s:Envelope>')).toBe('no notifications element');
    const noOrg = fixture('account-outbound.xml').replace(/<OrganizationId>.*<\/OrganizationId>/, '');
    expect(reason(noOrg)).toBe('missing OrganizationId');
  });

  it('marks a record without SystemModstamp or LastModifiedDate invalid, because the merge needs a version', () => {
    const unversioned = { id: '04l8d00001bHx2QAAS', sObjectType: 'Account', fields: { Id: '0018d00000QxZ7pAAF' } };
    const result = accepted(message([unversioned])).notifications[0]?.result;
    expect(result).toMatchObject({ kind: 'invalid', eventId: '04l8d00001bHx2QAAS' });
    expect(result?.kind === 'invalid' && result.reason).toMatch(
      /SystemModstamp or LastModifiedDate.*version|orders by it/,
    );
  });

  it('falls back to LastModifiedDate for the version and reads IsDeleted', () => {
    const spec = account('04l8d00001bHx2QAAS', { IsDeleted: 'true', LastModifiedDate: '2024-12-01T00:00:00.000Z' });
    delete spec.fields['SystemModstamp'];
    const event = eventOf(accepted(message([spec])).notifications[0]?.result);
    expect(event.version).toBe(Date.parse('2024-12-01T00:00:00.000Z'));
    expect(event.deleted).toBe(true);
  });

  it('round-trips builder output, escaping and nils included', () => {
    const xmlSafe = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
    const value = fc.oneof(
      fc.string({
        unit: fc.constantFrom('&', '<', '>', '"', "'", '\r', '\n', '\t', ' ', ';', '#', ']]>', '&amp;', 'é', '😀'),
      }),
      fc.string({ unit: 'binary' }).filter((s) => xmlSafe.test(s)),
    );
    const fields = fc.dictionary(fc.stringMatching(/^X[A-Za-z0-9_]{0,12}$/), fc.option(value), { maxKeys: 8 });
    fc.assert(
      fc.property(
        fc.constantFrom('Account', 'Contact'),
        fields,
        fc.option(fc.string()),
        (sObjectType, extra, sessionId) => {
          const fields = { Id: '0038d00000Rk2LmAAJ', SystemModstamp: '2024-12-02T09:25:34.000Z', ...extra };
          const parsed = accepted(message([{ id: '04l8d00001bHx2QAAS', sObjectType, fields }], sessionId));
          expect(parsed.organizationId).toBe(ORG);
          const data = eventOf(parsed.notifications[0]?.result).data;
          expect(data.kind).toBe(`salesforce.${sObjectType.toLowerCase()}`);
          expect('fields' in data && data.fields).toEqual(fields);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('matches org ids on their first 15 characters, case-sensitively', () => {
    expect(organizationIdMatches('00D8d000004PqRsEAK', '00D8d000004PqRs')).toBe(true);
    expect(organizationIdMatches('00D8d000004PqRs', '00D8d000004PqRsEAK')).toBe(true);
    expect(organizationIdMatches('00D8d000004PqRsEAK', '00D8d000004PqRsEAK')).toBe(true);
    expect(organizationIdMatches('00D8d000004PQRSEAK', '00D8d000004PqRs')).toBe(false);
    expect(organizationIdMatches('00D8d000004PqRtEAK', '00D8d000004PqRs')).toBe(false);
    expect(organizationIdMatches('', '')).toBe(false);
    expect(organizationIdMatches('00D8d000004PqRsEA', '00D8d000004PqRs')).toBe(false);
  });

  it('acknowledges with the exact envelope Salesforce expects and faults with an escaped message', () => {
    expect(OUTBOUND_ACK_XML).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>',
    );
    const fault = soapFault('soapenv:Client', 'org <00D…> & "friends"');
    const doc: unknown = new XMLParser({ removeNSPrefix: true }).parse(fault, true);
    expect(doc).toMatchObject({
      Envelope: { Body: { Fault: { faultcode: 'soapenv:Client', faultstring: 'org <00D…> & "friends"' } } },
    });
  });

  it('never throws, whatever the body', () => {
    const base = fixture('contacts-outbound-batch.xml');
    const corrupted = fc
      .tuple(fc.nat(base.length), fc.nat(200), fc.string({ unit: 'binary', maxLength: 40 }))
      .map(([at, cut, insert]) => base.slice(0, at) + insert + base.slice(at + cut));
    const tagSoup = fc.string({ unit: fc.constantFrom('<', '>', '/', 'a', ':', '"', '=', '&', ';', ' ', '!', '?') });
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), tagSoup, corrupted), (xml) => {
        const parsed = parseOutboundMessage(xml);
        expect(typeof parsed.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});
