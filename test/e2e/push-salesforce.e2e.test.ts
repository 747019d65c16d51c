/**
 * End to end over HTTP on the real Redis, with the real jsforce SDK against
 * the local Salesforce stand-in: an Experience Cloud portal gets the Account's
 * billing status, its invoices and its Zendesk tickets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { freePort, sendStripe, sendZendesk, until } from '../support/e2e.js';
import { metricValue } from '../support/http.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';

const ORG = '7000000000555';
let sf: SalesforceStandIn;
let p: TestPipeline;
let accountId: string;

const stripe = (file: string, edit: (e: any) => void = () => undefined) =>
  sendStripe(p.daemon, file, (e) => {
    if (e.data.object.metadata) e.data.object.metadata = { salesforce_account_id: accountId };
    edit(e);
  });
const zendesk = (file: string, edit: (e: any) => void) => sendZendesk(p.daemon, file, edit);

const cfgFields = (names: Record<string, string>) => Object.values(names);

beforeAll(async () => {
  const port = await freePort();
  const defaults = (await import('../support/daemon.js')).testConfig().targets.salesforce;
  sf = await startSalesforceStandIn({
    orgId: TEST_SECRETS.SALESFORCE_ORG_ID,
    outbound: {
      url: `http://127.0.0.1:${port}/webhooks/salesforce?token=${TEST_SECRETS.SALESFORCE_OUTBOUND_TOKEN}`,
      orgId: TEST_SECRETS.SALESFORCE_ORG_ID,
    },
    fields: {
      Account: [
        defaults.accountFields.status,
        defaults.accountFields.plan,
        { name: defaults.accountFields.mrr, type: 'currency' },
        { name: defaults.accountFields.balance, type: 'currency' },
        { name: defaults.accountFields.nextInvoiceDate, type: 'date' },
        { name: defaults.accountFields.delinquent, type: 'boolean' },
        { name: defaults.accountFields.openTickets, type: 'double' },
      ],
      // What `setup salesforce` deploys: unique, case-sensitive external ids (Stripe ids differ only in case).
      Portal_Invoice__c: [
        { name: defaults.invoice.externalId, externalId: true, unique: true, caseSensitive: true },
        ...cfgFields(defaults.invoice.fields),
      ],
      Support_Ticket__c: [
        { name: defaults.ticket.externalId, externalId: true, unique: true, caseSensitive: true },
        ...cfgFields(defaults.ticket.fields),
      ],
    },
  });
  accountId = sf.state.seedAccount({ Name: 'Acme Experience' }).Id;
  p = await startTestPipeline(
    {
      PORT: String(port),
      PORTAL_TARGET: 'salesforce',
      SALESFORCE_INSTANCE_URL: sf.instanceUrl,
      SALESFORCE_ACCESS_TOKEN: sf.accessToken,
    },
    (c) => {
      c.push.debounceMs = 50;
    },
    createPortalTarget,
  );
  await stripe('customer.created.json');
  await p.drain();
});

afterAll(async () => {
  await p?.stop();
  await sf?.close();
});

describe('pushing to a Salesforce Experience Cloud portal', () => {
  it('puts a paid invoice with its links and the billing status on the Account', async () => {
    const invoice = await stripe('invoice.paid.json');
    const record = await until('Portal_Invoice__c', () =>
      sf.state.byExternalId('Portal_Invoice__c', 'Stripe_Invoice_Id__c', invoice.data.object.id),
    );
    expect(record).toMatchObject({
      Account__c: accountId,
      Hosted_Url__c: invoice.data.object.hosted_invoice_url,
      Pdf_Url__c: invoice.data.object.invoice_pdf,
      Status__c: 'paid',
    });
    await stripe('customer.subscription.updated.json');
    const account = await until('Billing_Status__c', () =>
      sf.state.get('Account', accountId)?.Billing_Status__c ? sf.state.get('Account', accountId) : undefined,
    );
    expect(account).toMatchObject({ Billing_Status__c: 'active', Billing_Delinquent__c: false, Billing_MRR__c: 345 });
    // Our writes are marked, so that Change Data Capture echoes of them can be told apart.
    expect(sf.calls.filter((c) => c.method !== 'GET').every((c) => c.callOptions === 'client=portal-sync')).toBe(true);
    // The org's API usage, as Salesforce reported it on the last answer (Sforce-Limit-Info), is a metric to alert on.
    const usage = await metricValue(p.daemon, 'portal_sync_salesforce_api_usage_ratio', {});
    expect(usage).toBeGreaterThan(0);
    expect(usage).toBeLessThanOrEqual(sf.state.apiUsage / 100_000);
  });

  it('mirrors a Zendesk ticket update as Support_Ticket__c on the same Account', async () => {
    await zendesk('organization.created.json', (e) => {
      e.detail.id = ORG;
      e.detail.external_id = accountId;
    });
    await zendesk('ticket.status_changed.json', (e) => (e.detail.organization_id = ORG));
    const ticket = await until('Support_Ticket__c', () =>
      sf.state.byExternalId('Support_Ticket__c', 'Zendesk_Ticket_Id__c', '5301'),
    );
    expect(ticket).toMatchObject({ Account__c: accountId, Status__c: 'solved', Subject__c: 'Cannot download invoice' });
    expect(await until('Open_Support_Tickets__c', () => sf.state.get('Account', accountId))).toMatchObject({
      Open_Support_Tickets__c: 0,
    });
  });

  it('does not answer the Outbound Messages Salesforce sends for its own writes', async () => {
    await sf.flushOutbound();
    expect(sf.outbound.length).toBeGreaterThan(0);
    expect(sf.outbound.every((o) => o.status === 200 && o.response?.includes('<Ack>true</Ack>'))).toBe(true);
    await p.drain();
    await new Promise((r) => setTimeout(r, 300));
    const writes = sf.calls.filter((c) => c.method !== 'GET').length;
    await sf.flushOutbound();
    await p.drain();
    await new Promise((r) => setTimeout(r, 300));
    expect(sf.calls.filter((c) => c.method !== 'GET').length).toBe(writes);
  });
});
