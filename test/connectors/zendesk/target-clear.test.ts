/**
 * The Zendesk target's clear (`identity forget --portal clear`) against the stand-in, through
 * node-zendesk: what a push wrote for one customer — billing fields on its organization, or on its
 * user when it has none, invoice records and the end-user status record — is emptied or deleted;
 * another customer's, the organization and the user themselves, and fields portal-sync does not
 * write stay; a second clear finds everything already gone. The deflection events portal-sync filed
 * on a contact's profile go with portal-sync's own profile (found by email at forget time, or by the
 * contact's Zendesk user); another source's profile of the same person stays.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.js';
import { createZendeskClient, zendeskRequest } from '../../../src/connectors/zendesk/client.js';
import { createZendeskTarget } from '../../../src/connectors/zendesk/target.js';
import { zendeskStandInSetUp } from '../../support/zendesk-config.js';
import { type ZendeskStandIn } from '../../../src/demo/standins/zendesk/index.js';
import type { PortalClear, PortalPush } from '../../../src/sync/push/portal-target.js';
import type { PortalProjection } from '../../../src/sync/events/project.js';
import type { InvoiceView } from '../../../src/sync/events/record.js';

let standIn: ZendeskStandIn;
let config: Config;

beforeEach(async () => {
  ({ standIn, config } = await zendeskStandInSetUp((c) => (c.targets.zendesk.statusObject.enabled = true)));
  standIn.seedField('organization', { key: 'account_manager', type: 'text' });
});
afterEach(() => standIn.close());

const invoice = (id: string): InvoiceView => ({
  id,
  number: `N-${id}`,
  status: 'open',
  currency: 'usd',
  total: 24_500,
  amountDue: 24_500,
  amountPaid: 0,
  amountRemaining: 24_500,
  amountRefunded: 0,
  dueDate: '2026-12-20T00:00:00.000Z',
  hostedInvoiceUrl: null,
  invoicePdf: null,
  createdAt: '2026-11-20T00:00:00.000Z',
});
const projection = (invoices: InvoiceView[]): PortalProjection => ({
  billing: {
    status: 'active',
    plan: 'Team',
    currency: 'usd',
    mrr: 24_500,
    balance: 0,
    nextInvoiceDate: '2026-12-20T00:00:00.000Z',
    delinquent: false,
  },
  openInvoiceCount: invoices.length,
  invoices,
  support: null,
});
const place = (orgId: number | null, userId: number) => ({
  zendeskOrganizationId: orgId === null ? null : String(orgId),
  salesforceAccountId: null,
  contacts: [{ zendeskUserId: String(userId), salesforceContactId: null }],
});
const pushFor = (orgId: number | null, userId: number, p: PortalProjection): PortalPush => ({
  customerId: `cust_${userId}`,
  links: {
    stripeCustomerId: null,
    ...place(orgId, userId),
    contacts: [{ email: null, name: null, salesforceContactId: null, zendeskUserId: String(userId) }],
  },
  profile: null,
  projection: p,
  previous: null,
});
const records = (key: string) =>
  [...(standIn.state.customObjectRecords.get(key)?.values() ?? [])].map((r) => r.external_id).sort();
const billingKeys = () => Object.values(config.targets.zendesk.fields);

describe("the Zendesk target's clear", () => {
  it("empties the organization's billing fields and deletes its invoice and status records, leaving the organization, other fields and other customers alone", async () => {
    const target = createZendeskTarget(config);
    const acme = standIn.seedOrganization({ name: 'Acme' });
    const ann = standIn.seedUser({ name: 'Ann', organization_id: acme.id });
    const globex = standIn.seedOrganization({ name: 'Globex' });
    const bob = standIn.seedUser({ name: 'Bob', organization_id: globex.id });
    await target.push(pushFor(acme.id, ann.id, projection([invoice('in_Ann1'), invoice('in_Ann2')])));
    await target.push(pushFor(globex.id, bob.id, projection([invoice('in_Bob1')])));
    standIn.state.organizations.get(acme.id)!.organization_fields['account_manager'] = 'Dana';
    const globexBefore = structuredClone(standIn.state.organizations.get(globex.id)!.organization_fields);

    const plan: PortalClear = {
      places: [place(acme.id, ann.id)],
      invoiceIds: ['in_Ann1', 'in_Ann2', 'in_AnnNeverPushed'],
      ticketIds: [],
    };
    const first = await target.clear!(plan);
    const second = await target.clear!(plan);

    expect(first).toEqual({
      calls: 7,
      cleared: [
        `organization_fields:${acme.id}`,
        'invoice:in_Ann1',
        'invoice:in_Ann2',
        `status:organization-${acme.id}`,
      ],
      absent: ['invoice:in_AnnNeverPushed'],
      failed: [],
    });
    expect(second).toMatchObject({
      cleared: [`organization_fields:${acme.id}`],
      absent: ['invoice:in_Ann1', 'invoice:in_Ann2', 'invoice:in_AnnNeverPushed', `status:organization-${acme.id}`],
      failed: [],
    });
    const acmeFields = standIn.state.organizations.get(acme.id)!.organization_fields;
    expect(billingKeys().map((k) => acmeFields[k] ?? null)).toEqual(billingKeys().map(() => null));
    expect(acmeFields['account_manager']).toBe('Dana');
    expect(records('portal_invoice')).toEqual(['in_Bob1']);
    expect(records('portal_account_status')).toEqual([`organization-${globex.id}`]);
    expect(standIn.state.organizations.get(globex.id)!.organization_fields).toEqual(globexBefore);
    expect(standIn.state.users.get(ann.id)).toBeDefined();
  });

  it("deletes portal-sync's deflection profiles (and so their events) found by email or by the contact's user, leaving another source's profile and another customer's alone", async () => {
    const target = createZendeskTarget(config);
    const acme = standIn.seedOrganization({ name: 'Acme' });
    const ann = standIn.seedUser({ name: 'Ann', email: 'ann@acme.example', organization_id: acme.id });
    const bob = standIn.seedUser({ name: 'Bob', email: 'bob@globex.example' });
    const links = (email: string, userId: number | null) => ({
      stripeCustomerId: null,
      zendeskOrganizationId: null,
      salesforceAccountId: null,
      contacts: [
        { email, name: null, salesforceContactId: null, zendeskUserId: userId === null ? null : String(userId) },
      ],
    });
    const session = (id: string, contact: string) => ({
      id,
      customerId: 'cust_1',
      sessionId: id,
      contact,
      outcome: 'deflected' as const,
      category: 'billing' as const,
      sessionStartedAt: '2026-11-20T10:00:00.000Z',
      decidedAt: '2026-11-21T10:00:00.000Z',
      lastActivity: null,
    });
    await target.recordDeflection!(session('defl-1', 'ann@acme.example'), links('ann@acme.example', ann.id));
    // A contact known only from Salesforce: Zendesk creates a user for the profile, which the plan cannot name.
    await target.recordDeflection!(session('defl-2', 'carl@acme.example'), links('carl@acme.example', null));
    await target.recordDeflection!(session('defl-3', 'bob@globex.example'), links('bob@globex.example', bob.id));
    await zendeskRequest(createZendeskClient(config.zendesk), 'POST', ['user_profiles', 'events'], {
      profile: { source: 'shop', type: 'customer', identifiers: [{ type: 'email', value: 'ann@acme.example' }] },
      event: { source: 'shop', type: 'order_placed', properties: {} },
    });
    const profileOf = (email: string, source = 'portal_sync') =>
      [...standIn.state.profiles.values()].find(
        (p) => p.source === source && p.identifiers.some((i) => i.value === email),
      )!;
    const annProfile = profileOf('ann@acme.example');
    const carlProfile = profileOf('carl@acme.example');

    const located = await target.locate!(['ann@acme.example', 'carl@acme.example', 'nobody@acme.example']);
    expect(located).toEqual({
      zendeskProfiles: [
        { id: annProfile.id, userId: String(ann.id) },
        { id: carlProfile.id, userId: String(carlProfile.user_id) },
      ],
      failed: [],
    });
    // The plan names Ann by her user only and Carl by his located profile: both are found.
    const plan: PortalClear = {
      places: [place(acme.id, ann.id)],
      invoiceIds: [],
      ticketIds: [],
      zendeskProfiles: [{ id: carlProfile.id, userId: null }],
    };
    const first = await target.clear!(plan);
    const second = await target.clear!(plan);

    expect(first.cleared).toEqual(
      expect.arrayContaining([`deflection_profile:${annProfile.id}`, `deflection_profile:${carlProfile.id}`]),
    );
    expect(first.failed).toEqual([]);
    expect(second.absent.filter((a) => a.startsWith('deflection'))).toEqual([`deflection_profile:${carlProfile.id}`]);
    expect(second.cleared.filter((c) => c.startsWith('deflection'))).toEqual([]);
    expect(
      standIn.state.profileEvents
        .map((e) => `${e.profile.source}:${String(e.event.properties['deflection_id'] ?? e.event.type)}`)
        .sort(),
    ).toEqual(['portal_sync:defl-3', 'shop:order_placed']);
    expect([...standIn.state.profiles.values()].map((p) => p.source).sort()).toEqual(['portal_sync', 'shop']);
    expect(profileOf('bob@globex.example')).toBeDefined();
    expect(standIn.state.users.get(ann.id)).toBeDefined();
  });

  it('reports a failed profile lookup without naming the email', async () => {
    const target = createZendeskTarget(config);
    standIn.setFaults({ seed: 1, rate: 1, kinds: ['500'] });
    const located = await target.locate!(['ann@acme.example', 'bob@acme.example']);
    standIn.setFaults(null);
    expect(located).toEqual({
      zendeskProfiles: [],
      failed: ['deflection profiles of 2 email(s) not looked up: Zendesk 500: InternalError: Internal Server Error'],
    });
  });

  it('empties the user fields of a customer without an organization, and names what Zendesk refused', async () => {
    const target = createZendeskTarget(config);
    const solo = standIn.seedUser({ name: 'Solo' });
    await target.push(pushFor(null, solo.id, projection([invoice('in_Solo1')])));
    expect(standIn.state.users.get(solo.id)!.user_fields[config.targets.zendesk.fields.status]).toBe('active');

    standIn.failNext(1, 503);
    const refused = await target.clear!({ places: [place(null, solo.id)], invoiceIds: ['in_Solo1'], ticketIds: [] });
    const done = await target.clear!({ places: [place(null, solo.id)], invoiceIds: ['in_Solo1'], ticketIds: [] });

    expect(refused.failed).toEqual([`user_fields:${solo.id}: Zendesk 503: ServiceUnavailable: Service Unavailable`]);
    expect(refused.cleared).toEqual(['invoice:in_Solo1', `status:user-${solo.id}`]);
    expect(done).toMatchObject({
      cleared: [`user_fields:${solo.id}`],
      absent: ['invoice:in_Solo1', `status:user-${solo.id}`],
      failed: [],
    });
    const fields = standIn.state.users.get(solo.id)!.user_fields;
    expect(billingKeys().map((k) => fields[k] ?? null)).toEqual(billingKeys().map(() => null));
  });
});
