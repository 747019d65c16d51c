/** Seeding the source stand-ins with linked customers, for resync and reconcile tests. */
import type { SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import type { ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import type { RecordStore } from '../../src/sync/events/store.js';

export interface SeededCustomer {
  i: number;
  accountId: string;
  contactId: string;
  orgId: number;
  userId: number;
  ticketId: number;
  email: string;
}

/** `n` customers, each an Account + Contact in Salesforce and a linked organization, user and ticket in Zendesk. */
export function seedCustomers(
  sf: SalesforceStandIn,
  zd: ZendeskStandIn,
  n: number,
  updatedAt: (i: number) => string,
): SeededCustomer[] {
  const out: SeededCustomer[] = [];
  for (let i = 0; i < n; i++) {
    const email = `buyer${i}@customer${i}.example`;
    const account = sf.state.seedAccount({ Name: `Customer ${i}` });
    const contact = sf.state.seedContact({ AccountId: account.Id, LastName: `Buyer ${i}`, Email: email });
    const at = updatedAt(i);
    const org = zd.seedOrganization({ name: `Customer ${i}`, external_id: account.Id, created_at: at, updated_at: at });
    const user = zd.seedUser({
      name: `Buyer ${i}`,
      email,
      external_id: contact.Id,
      organization_id: org.id,
      created_at: at,
      updated_at: at,
    });
    const ticket = zd.seedTicket({
      subject: `Question ${i}`,
      status: i % 3 === 0 ? 'solved' : 'open',
      requester_id: user.id,
      organization_id: org.id,
      created_at: at,
      updated_at: at,
    });
    out.push({
      i,
      accountId: account.Id,
      contactId: contact.Id,
      orgId: org.id,
      userId: user.id,
      ticketId: ticket.id,
      email,
    });
  }
  return out;
}

/** What a user sees of a customer: the derived views, without stamps or record ids. */
export async function visibleRecord(store: RecordStore, c: SeededCustomer): Promise<unknown> {
  const record = await store.findByKey(`sfacct:${c.accountId}`);
  if (!record) return null;
  const { links, profile, billing, invoices, support } = record.derived;
  return { links, profile, billing, invoices, support };
}
