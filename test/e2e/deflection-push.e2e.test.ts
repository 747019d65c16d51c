/**
 * Decided sessions reach the portal platforms through the real SDKs and the
 * local stand-ins: a Zendesk profile event on the contact (matched by email),
 * and a Portal_Deflection_Event__c on the Salesforce Account, upserted by its
 * Event_Id__c so that a replay changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { testConfig } from '../support/daemon.js';
import { sendZendesk, until, standInTargetsEnv } from '../support/e2e.js';
import {
  iso,
  sendActivity,
  sendTicket,
  startDeflectionPipeline,
  type DeflectionPipeline,
} from './deflection-support.js';
import { seedBillingOrgFields } from '../support/zendesk-setup.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const EMAIL = 'ivy@push.example';
let clock = T0;
let zd: ZendeskStandIn;
let sf: SalesforceStandIn;
let p: DeflectionPipeline;
let accountId: string;

beforeAll(async () => {
  const defaults = testConfig().targets.salesforce;
  zd = await startZendeskStandIn();
  seedBillingOrgFields(zd);
  sf = await startSalesforceStandIn({
    fields: {
      Account: [
        ...Object.values(defaults.accountFields).map((name) => ({
          name,
          type: name === defaults.accountFields.delinquent ? ('boolean' as const) : ('string' as const),
        })),
      ],
      Support_Ticket__c: [
        { name: defaults.ticket.externalId, externalId: true, unique: true },
        ...Object.values(defaults.ticket.fields),
      ],
      // What `setup salesforce` deploys for deflection events.
      Portal_Deflection_Event__c: [
        { name: defaults.deflection.externalId, externalId: true, unique: true, caseSensitive: true },
        'Account__c',
        'Event_Type__c',
        'Category__c',
        { name: 'Occurred_At__c', type: 'datetime' },
      ],
    },
  });
  accountId = sf.state.seedAccount({ Name: 'Ivy Logistics' }).Id;
  const org = zd.seedOrganization({ name: 'Ivy Logistics', external_id: accountId });
  const user = zd.seedUser({ name: 'Ivy', email: EMAIL, organization_id: org.id });
  p = await startDeflectionPipeline({
    env: {
      ...standInTargetsEnv(zd, sf),
    },
    tweak: (c) => (c.push.debounceMs = 50),
    targets: createPortalTarget,
    now: () => clock,
  });
  // Zendesk tells us about the organization (its external id is the Account) and its user.
  await sendZendesk(p.daemon, 'organization.created.json', (e) => {
    e.detail.id = String(org.id);
    e.detail.external_id = accountId;
  });
  await sendZendesk(p.daemon, 'user.created.json', (e) => {
    e.detail.id = String(user.id);
    e.detail.email = EMAIL;
    e.detail.organization_id = String(org.id);
  });
  await p.drain({ pushes: true });
});

afterAll(async () => {
  await p?.stop();
  await zd?.close();
  await sf?.close();
});

describe('deflection events on the portal platforms', () => {
  it('a deflected session becomes a Zendesk profile event and a Portal_Deflection_Event__c on the Account', async () => {
    await sendActivity(p.daemon, {
      id: 'pp-1',
      type: 'invoice_view',
      occurred_at: iso(T0),
      contact: { email: EMAIL },
      invoice_id: 'in_9',
    });
    await p.drain();
    clock = T0 + 25 * HOUR;
    await p.worker.tracker.sweep();
    const [event] = await p.data.events(new Date(T0), new Date(T0 + 48 * HOUR));
    expect(event).toMatchObject({ outcome: 'deflected', category: 'billing' });

    const profile = await until('the Zendesk profile event', () =>
      zd.state.profileEvents.find((e) => e.event.properties['deflection_id'] === event!.id),
    );
    expect(profile.profile).toMatchObject({
      source: 'portal_sync',
      type: 'customer',
      identifiers: [{ type: 'email', value: EMAIL }],
    });
    expect(profile.event).toMatchObject({
      type: 'self_service_deflected',
      created_at: event!.decidedAt,
      properties: { category: 'billing', session_id: event!.sessionId, last_activity: 'invoice_view' },
    });

    const record = await until('Portal_Deflection_Event__c', () =>
      sf.state.byExternalId('Portal_Deflection_Event__c', 'Event_Id__c', event!.id),
    );
    expect(record).toMatchObject({ Account__c: accountId, Event_Type__c: 'deflected', Category__c: 'billing' });
    expect(Date.parse(String(record.Occurred_At__c))).toBe(Date.parse(event!.decidedAt));
  });

  it('an escalated session names its ticket, and handing the event over again writes nothing new', async () => {
    clock = T0 + 3 * 24 * HOUR;
    await sendActivity(p.daemon, {
      id: 'pp-2',
      type: 'search',
      occurred_at: iso(clock),
      contact: { email: EMAIL },
      query: 'reset password',
      result_count: 0,
    });
    await p.drain();
    await sendTicket(p.daemon, {
      id: '6201',
      email: EMAIL,
      createdAt: iso(clock + HOUR),
      subject: 'Locked out after a password reset',
    });
    await p.drain({ pushes: true });
    const event = (await p.data.events(new Date(clock), new Date(clock + 2 * HOUR)))[0]!;
    expect(event).toMatchObject({ outcome: 'escalated', category: 'account', ticketId: '6201' });
    const profile = await until('the escalation profile event', () =>
      zd.state.profileEvents.find((e) => e.event.properties['deflection_id'] === event.id),
    );
    expect(profile.event).toMatchObject({
      type: 'self_service_escalated',
      properties: { ticket_id: '6201', last_query: 'reset password' },
    });
    await until('the escalation on the Account', () =>
      sf.state.byExternalId('Portal_Deflection_Event__c', 'Event_Id__c', event.id),
    );

    const profileEvents = zd.state.profileEvents.length;
    const sfRecords = sf.state.findByExternalId('Portal_Deflection_Event__c', 'Event_Id__c', event.id).length;
    await p.worker.planner.planDeflection(event);
    await p.drain({ pushes: true });
    expect(zd.state.profileEvents.length).toBe(profileEvents);
    expect(sf.state.findByExternalId('Portal_Deflection_Event__c', 'Event_Id__c', event.id)).toHaveLength(sfRecords);
  });
});
