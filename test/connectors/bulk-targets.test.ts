/**
 * The targets' pushMany against the Zendesk and Salesforce stand-ins (the
 * real SDKs, the platforms' bulk shapes): customers without an organization
 * go through users/update_many; an item a job or a collection refuses is
 * that customer's error, with the platform's message, and the others are
 * written; a job still running after the last poll is retryable; every
 * Salesforce collection call passes the gate; a malformed id reaches no call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPortals } from '../../bench/lib/resync-seed.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createSalesforceTarget } from '../../src/connectors/salesforce/target.js';
import { createZendeskClient } from '../../src/connectors/zendesk/client.js';
import { createZendeskTarget } from '../../src/connectors/zendesk/target.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { PermanentError, RateLimitedError, RetryableError } from '../../src/sync/errors.js';
import type { PortalPush } from '../../src/sync/push/portal-target.js';
import type { PortalProjection } from '../../src/sync/events/project.js';
import type { InvoiceView } from '../../src/sync/events/record.js';
import { standInTargetsEnv } from '../support/e2e.js';

let zd: ZendeskStandIn;
let sf: SalesforceStandIn;
let config: Config;

const invoice = (id: string): InvoiceView => ({
  id,
  number: `INV-${id}`,
  status: 'open',
  currency: 'usd',
  total: 4_900,
  amountDue: 4_900,
  amountPaid: 0,
  amountRemaining: 4_900,
  amountRefunded: 0,
  dueDate: '2026-04-15T00:00:00.000Z',
  createdAt: '2026-03-15T09:00:00.000Z',
  hostedInvoiceUrl: `https://invoice.example/${id}`,
  invoicePdf: `https://invoice.example/${id}.pdf`,
});
const projection = (n: number, balance = -1_000): PortalProjection => ({
  billing: {
    status: 'active',
    plan: `Plan ${n % 3}`,
    currency: 'usd',
    mrr: 4_900,
    balance,
    nextInvoiceDate: '2026-04-01T00:00:00.000Z',
    delinquent: false,
  },
  openInvoiceCount: 1,
  invoices: [invoice(`in_bulk_${n}`)],
  support: {
    openTicketCount: 1,
    tickets: [
      {
        id: String(7_000 + n),
        subject: `Question ${n}`,
        status: 'open',
        priority: null,
        category: 'billing',
        updatedAt: '2026-03-20T10:00:00.000Z',
      },
    ],
  },
});
const push = (n: number, links: Partial<PortalPush['links']>, p = projection(n)): PortalPush => ({
  customerId: `cust_${n}`,
  links: {
    stripeCustomerId: `cus_${n}`,
    salesforceAccountId: null,
    zendeskOrganizationId: null,
    contacts: [],
    ...links,
  },
  profile: null as unknown as PortalPush['profile'],
  projection: p,
  previous: null,
});

beforeAll(async () => {
  zd = await startZendeskStandIn({ exportLagSeconds: 0 });
  sf = await startSalesforceStandIn({});
  const loaded = loadConfig({
    ...standInTargetsEnv(zd, sf),
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  config = loaded.config;
  provisionPortals(zd, sf, config.targets);
});
afterAll(async () => {
  await Promise.all([zd?.close(), sf?.close()]);
});

describe('Zendesk pushMany', () => {
  const gate = async () => undefined;

  it('writes organizations and users in update_many jobs and invoices in record jobs, polled together; a refused item fails only its customer', async () => {
    const orgs = Array.from(
      { length: 150 },
      (_, i) => zd.seedOrganization({ id: 9_200_000_000 + i, name: `Bulk Org ${i}` }).id,
    );
    const users = Array.from(
      { length: 5 },
      (_, i) => zd.seedUser({ id: 8_200_000_000 + i, name: `Bulk User ${i}`, email: `bulk${i}@user.example` }).id,
    );
    const pushes = [
      ...orgs.map((id, i) => push(i, { zendeskOrganizationId: String(id) })),
      ...users.map((id, i) =>
        push(200 + i, {
          contacts: [{ email: null, name: null, salesforceContactId: null, zendeskUserId: String(id) }],
        }),
      ),
      push(300, {}), // nowhere to write yet
      push(301, { zendeskOrganizationId: '12ab' }),
    ];
    zd.state.organizations.delete(orgs[17]!); // deleted in Zendesk meanwhile
    const before = zd.calls.length;
    const target = createZendeskTarget(config, { jobPolling: { intervalMs: 5, maxPolls: 3 } });
    const result = await target.pushMany!(pushes, { gate });

    const calls = zd.calls.slice(before).map((c) => `${c.method} ${c.path}`);
    expect(calls.filter((c) => c === 'PUT /organizations/update_many')).toHaveLength(2);
    expect(calls.filter((c) => c === 'PUT /users/update_many')).toHaveLength(1);
    expect(calls.filter((c) => c === 'POST /custom_objects/portal_invoice/jobs')).toHaveLength(2);
    expect(calls.filter((c) => c === 'GET /job_statuses/show_many')).toHaveLength(1);
    expect(result.calls).toBe(calls.length);

    const refused = result.items[17]!;
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toBeInstanceOf(PermanentError);
    expect(!refused.ok && refused.error.message).toMatch(new RegExp(`organization ${orgs[17]}: RecordNotFound`));
    expect(result.items.filter((i) => !i.ok)).toHaveLength(2); // and the malformed id
    expect(result.items.at(-2)).toEqual({
      ok: true,
      result: { calls: 0, wrote: [], skipped: 'no Zendesk organization or user for this customer yet' },
    });
    expect(result.items[0]).toEqual({
      ok: true,
      result: { calls: 0, wrote: ['organization_fields', 'invoice:in_bulk_0'] },
    });

    expect(zd.state.organizations.get(orgs[149]!)!.organization_fields).toMatchObject({
      billing_status: 'active',
      billing_balance: -10,
      portal_open_invoices: 1,
    });
    expect(zd.state.users.get(users[2]!)!.user_fields).toMatchObject({
      billing_status: 'active',
      billing_plan: 'Plan 1',
    }); // push 202;
    const records = zd.state.customObjectRecords.get('portal_invoice')!;
    expect(records.get('in_bulk_202')!.custom_object_fields).toMatchObject({ user_id: String(users[2]) });
    expect(records.get('in_bulk_149')!.custom_object_fields).toMatchObject({ organization_id: String(orgs[149]) });
  });

  it('waits out a short refusal of its rate gate in place, and counts only the calls sent', async () => {
    const id = zd.seedOrganization({ id: 9_400_000_000, name: 'Gated Org' }).id;
    let refusals = 0;
    const client = createZendeskClient(config.zendesk, {
      beforeRequest: async () => {
        if (refusals++ < 2) throw new RateLimitedError('configured rate of 1 calls per 1000 ms reached', 30);
      },
    });
    const before = zd.calls.length;
    const result = await createZendeskTarget(config, { client, jobPolling: { intervalMs: 5, maxPolls: 3 } }).pushMany!(
      [push(1, { zendeskOrganizationId: String(id) })],
      { gate },
    );
    expect(result.items[0]!.ok).toBe(true);
    expect(refusals).toBeGreaterThan(2);
    expect(result.calls).toBe(zd.calls.length - before);
    expect(result.calls).toBe(3); // update_many, the invoice job, one poll
  });

  it('makes a customer whose job is still running after the last poll retryable, not written', async () => {
    const slow = await startZendeskStandIn({ exportLagSeconds: 0, jobPollsUntilComplete: 5 });
    try {
      provisionPortals(slow, null, config.targets);
      const id = slow.seedOrganization({ id: 9_300_000_000, name: 'Slow Org' }).id;
      const target = createZendeskTarget(
        { ...config, zendesk: { ...config.zendesk, baseUrl: slow.baseUrl } },
        { jobPolling: { intervalMs: 5, maxPolls: 2 } },
      );
      const result = await target.pushMany!([push(1, { zendeskOrganizationId: String(id) })], { gate });
      expect(result.items[0]!.ok).toBe(false);
      expect(!result.items[0]!.ok && result.items[0]!.error).toBeInstanceOf(RetryableError);
      expect(slow.calls.filter((c) => c.path === '/job_statuses/show_many')).toHaveLength(2);
    } finally {
      await slow.close();
    }
  });
});

describe('Salesforce pushMany', () => {
  it('writes 250 customers in collections of 200, each call through the gate; a refused record fails only its customer', async () => {
    const accounts = Array.from({ length: 250 }, (_, i) => sf.state.seedAccount({ Name: `Bulk Account ${i}` }).Id);
    const gone = accounts[42]!;
    sf.state.remove(sf.state.object('Account'), gone);
    let gated = 0;
    const before = sf.calls.length;
    const target = createSalesforceTarget(config);
    const pushes = [
      ...accounts.map((id, i) => push(i, { salesforceAccountId: id })),
      push(500, {}),
      push(501, { salesforceAccountId: '003NotAnAccountIKA' }),
    ];
    const result = await target.pushMany!(pushes, { gate: async () => void (gated += 1) });

    const writes = sf.calls.slice(before).filter((c) => c.method !== 'GET');
    expect(writes.map((c) => `${c.method} ${c.path.replace(/\/services\/data\/v[\d.]+/, '')} ${c.records}`)).toEqual([
      'PATCH /composite/sobjects 200',
      'PATCH /composite/sobjects 50',
      'PATCH /composite/sobjects/Portal_Invoice__c/Stripe_Invoice_Id__c 200',
      'PATCH /composite/sobjects/Portal_Invoice__c/Stripe_Invoice_Id__c 50',
      'PATCH /composite/sobjects/Support_Ticket__c/Zendesk_Ticket_Id__c 200',
      'PATCH /composite/sobjects/Support_Ticket__c/Zendesk_Ticket_Id__c 50',
    ]);
    expect(gated).toBe(6);
    expect(result.calls).toBe(6);
    expect(writes.every((c) => c.callOptions === 'client=portal-sync')).toBe(true);

    const refused = result.items[42]!;
    expect(!refused.ok && refused.error).toBeInstanceOf(PermanentError);
    expect(!refused.ok && refused.error.message).toMatch(/INVALID_CROSS_REFERENCE_KEY/);
    expect(result.items.filter((i) => !i.ok)).toHaveLength(2);
    expect(result.items.at(-2)).toEqual({
      ok: true,
      result: { calls: 0, wrote: [], skipped: 'no Salesforce Account for this customer yet' },
    });
    expect(result.items[7]).toEqual({
      ok: true,
      result: { calls: 0, wrote: ['account_fields', 'invoice:in_bulk_7', 'ticket:7007'] },
    });
    expect(sf.state.get('Account', accounts[249]!)).toMatchObject({
      Billing_Status__c: 'active',
      Billing_Balance__c: -10,
      Open_Support_Tickets__c: 1,
    });
    expect(sf.state.byExternalId('Support_Ticket__c', 'Zendesk_Ticket_Id__c', '7249')).toMatchObject({
      Account__c: accounts[249],
      Status__c: 'open',
    });
  });
});
