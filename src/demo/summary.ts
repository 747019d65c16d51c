/**
 * What reached the portals, read from the stand-ins' own state (not from the daemon): the
 * Zendesk organization's billing fields, its portal_invoice records, tickets and profile
 * events; the Salesforce Account's fields, Portal_Invoice__c, Support_Ticket__c and
 * Portal_Deflection_Event__c records; and, for reference, what Stripe holds.
 */
import { DEFLECTION_FIELDS } from '../connectors/salesforce/target.js';
import type { SalesforceRecord } from './standins/salesforce/index.js';
import type { DemoEnvironment } from './environment.js';
import type { DemoFacts } from './script.js';

type Fields = Record<string, unknown>;

export interface PortalSummary {
  stripe: {
    customer: string;
    subscription: { id: string; status: string };
    invoices: { id: string; number: string | null; status: string | null }[];
  };
  zendesk: {
    organization: { id: number; name: string; fields: Fields };
    invoices: { id: string; number: unknown; status: unknown; total: unknown; hostedUrl: unknown; pdfUrl: unknown }[];
    tickets: { id: number; subject: string; status: string }[];
    profileEvents: { type: string; category: unknown; ticketId: unknown }[];
  };
  salesforce: {
    account: { id: string; name: unknown; fields: Fields };
    invoices: { id: unknown; number: unknown; status: unknown; total: unknown; hostedUrl: unknown }[];
    tickets: { id: unknown; subject: unknown; status: unknown; category: unknown }[];
    deflectionEvents: { type: unknown; category: unknown }[];
  };
  /** Decided portal sessions, as the daemon recorded them. */
  deflection: {
    deflected: number;
    escalated: number;
    sessions: { outcome: string; category: string; ticketId?: string }[];
  };
}

const pick = (rec: Fields | undefined, names: readonly string[]): Fields =>
  Object.fromEntries(names.map((n) => [n, rec?.[n] ?? null]));

function recordsOf(env: DemoEnvironment, sobject: string, accountField: string, accountId: string): SalesforceRecord[] {
  const state = env.salesforce.state;
  return [...state.table(state.object(sobject)).values()].filter((r) => r[accountField] === accountId);
}

export function summarizePortals(env: DemoEnvironment, facts: DemoFacts): PortalSummary {
  const { stripe, zendesk, salesforce, config } = env;
  const zdTargets = config.targets.zendesk;
  const sfTargets = config.targets.salesforce;

  const subscription = stripe.state.subscriptions.get(facts.subscriptionId);
  const org = zendesk.state.organizations.get(facts.organizationId);
  const invoiceRecords = [
    ...(zendesk.state.customObjectRecords.get(zdTargets.invoiceObject.key)?.values() ?? []),
  ].filter(
    (r) => String(r.custom_object_fields[zdTargets.invoiceObject.fields.organization]) === String(facts.organizationId),
  );
  const inv = zdTargets.invoiceObject.fields;
  const account = salesforce.state.get('Account', facts.accountId);
  const sfInv = sfTargets.invoice.fields;
  const sfTicket = sfTargets.ticket.fields;

  return {
    stripe: {
      customer: facts.customerId,
      subscription: { id: facts.subscriptionId, status: subscription?.status ?? 'missing' },
      invoices: facts.invoiceIds.map((id) => {
        const row = stripe.state.invoices.get(id);
        return { id, number: row?.number ?? null, status: row?.status ?? null };
      }),
    },
    zendesk: {
      organization: {
        id: facts.organizationId,
        name: org?.name ?? '',
        fields: pick(org?.organization_fields, Object.values(zdTargets.fields)),
      },
      invoices: invoiceRecords.map((r) => ({
        id: r.external_id ?? r.id,
        number: r.custom_object_fields[inv.number] ?? null,
        status: r.custom_object_fields[inv.status] ?? null,
        total: r.custom_object_fields[inv.total] ?? null,
        hostedUrl: r.custom_object_fields[inv.hostedUrl] ?? null,
        pdfUrl: r.custom_object_fields[inv.pdfUrl] ?? null,
      })),
      tickets: facts.ticketIds.map((id) => {
        const t = zendesk.state.tickets.get(id);
        return { id, subject: t?.subject ?? '', status: t?.status ?? 'missing' };
      }),
      profileEvents: zendesk.state.profileEvents
        .filter((e) => e.profile.source === zdTargets.profileEventSource)
        .map((e) => ({
          type: e.event.type,
          category: e.event.properties['category'] ?? null,
          ticketId: e.event.properties['ticket_id'] ?? null,
        })),
    },
    salesforce: {
      account: {
        id: facts.accountId,
        name: account?.['Name'] ?? null,
        fields: pick(account, Object.values(sfTargets.accountFields)),
      },
      invoices: recordsOf(env, sfTargets.invoice.object, sfInv.account, facts.accountId).map((r) => ({
        id: r[sfTargets.invoice.externalId],
        number: r[sfInv.number] ?? null,
        status: r[sfInv.status] ?? null,
        total: r[sfInv.total] ?? null,
        hostedUrl: r[sfInv.hostedUrl] ?? null,
      })),
      tickets: recordsOf(env, sfTargets.ticket.object, sfTicket.account, facts.accountId).map((r) => ({
        id: r[sfTargets.ticket.externalId],
        subject: r[sfTicket.subject] ?? null,
        status: r[sfTicket.status] ?? null,
        category: r[sfTicket.category] ?? null,
      })),
      deflectionEvents: recordsOf(env, sfTargets.deflection.object, DEFLECTION_FIELDS.account, facts.accountId).map(
        (r) => ({
          type: r[DEFLECTION_FIELDS.type] ?? null,
          category: r[DEFLECTION_FIELDS.category] ?? null,
        }),
      ),
    },
    deflection: {
      deflected: facts.deflections.filter((d) => d.outcome === 'deflected').length,
      escalated: facts.deflections.filter((d) => d.outcome === 'escalated').length,
      sessions: facts.deflections.map((d) => ({
        outcome: d.outcome,
        category: d.category,
        ...(d.ticketId !== undefined && { ticketId: d.ticketId }),
      })),
    },
  };
}
