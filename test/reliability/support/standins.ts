/**
 * The portal platforms' stand-ins, provisioned the way `portal-sync setup`
 * leaves them (organization fields and the invoice custom object on Zendesk;
 * Account fields and the Portal_Invoice__c / Support_Ticket__c objects on
 * Salesforce), with the customers' organizations, users and Accounts seeded.
 */
import {
  startSalesforceStandIn,
  type SalesforceStandIn,
  type SalesforceStandInOptions,
} from '../../../src/demo/standins/salesforce/index.js';
import {
  startZendeskStandIn,
  type ZendeskStandIn,
  type ZendeskStandInOptions,
} from '../../../src/demo/standins/zendesk/index.js';
import { testConfig } from '../../support/daemon.js';
import { seedBillingOrgFields, seedBillingUserFields, seedInvoiceObject } from '../../support/zendesk-setup.js';
import type { Customer } from './stream.js';

/**
 * When the seeded objects last changed on the platform: long before any event of the suite, as for real
 * customers. The reconciler reads them back; were they stamped "now", that read would outrank the webhooks'
 * data and make a run's result depend on when a pass happened to run.
 */
const SEEDED_AT = '2020-01-01T00:00:00Z';
const SEEDED_AT_SALESFORCE = '2020-01-01T00:00:00.000+0000';

export async function startZendesk(
  customers: readonly Customer[],
  opts: ZendeskStandInOptions = {},
): Promise<ZendeskStandIn> {
  const zd = await startZendeskStandIn(opts);
  seedBillingOrgFields(zd);
  seedBillingUserFields(zd);
  seedInvoiceObject(zd);
  for (const c of customers) {
    const org = zd.seedOrganization({
      id: Number(c.zendeskOrganizationId),
      name: c.name,
      external_id: c.salesforceAccountId,
      created_at: SEEDED_AT,
      updated_at: SEEDED_AT,
    });
    zd.seedUser({
      id: Number(c.zendeskUserId),
      name: `Billing ${c.n}`,
      email: c.email,
      organization_id: org.id,
      created_at: SEEDED_AT,
      updated_at: SEEDED_AT,
    });
  }
  return zd;
}

/** Starts the Salesforce stand-in and seeds one Account per customer; returns the customers with their Account ids. */
export async function startSalesforce(
  customers: readonly Customer[],
  opts: SalesforceStandInOptions = {},
): Promise<{ sf: SalesforceStandIn; customers: Customer[] }> {
  const d = testConfig().targets.salesforce;
  const sf = await startSalesforceStandIn({
    ...opts,
    fields: {
      Account: [
        d.accountFields.status,
        d.accountFields.plan,
        { name: d.accountFields.mrr, type: 'currency' },
        { name: d.accountFields.balance, type: 'currency' },
        { name: d.accountFields.nextInvoiceDate, type: 'date' },
        { name: d.accountFields.delinquent, type: 'boolean' },
        { name: d.accountFields.openTickets, type: 'double' },
      ],
      // What `setup salesforce` deploys: unique, case-sensitive external ids.
      [d.invoice.object]: [
        { name: d.invoice.externalId, externalId: true, unique: true, caseSensitive: true },
        ...Object.values(d.invoice.fields),
      ],
      [d.ticket.object]: [
        { name: d.ticket.externalId, externalId: true, unique: true, caseSensitive: true },
        ...Object.values(d.ticket.fields),
      ],
      ...opts.fields,
    },
  });
  const at = {
    CreatedDate: SEEDED_AT_SALESFORCE,
    LastModifiedDate: SEEDED_AT_SALESFORCE,
    SystemModstamp: SEEDED_AT_SALESFORCE,
  };
  const seeded = customers.map((c) => ({
    ...c,
    salesforceAccountId: sf.state.seedAccount({ Name: c.name, ...at }).Id,
  }));
  return { sf, customers: seeded };
}
