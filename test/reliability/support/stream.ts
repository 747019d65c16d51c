/**
 * The traffic of many customers across all three sources, as wire payloads:
 * bench/lib/fixtures' realistic stream (Stripe events, Salesforce CDC JSON,
 * Zendesk event webhooks; each customer's records built apart and then
 * merged) plus Salesforce Outbound Messages (SOAP) for a second contact of
 * each customer. Every payload is run through its real parser once here, so
 * we know the job ids it carries.
 */
import { buildOutboundMessage } from '../../../src/connectors/salesforce/outbound-builder.js';
import { parseOutboundMessage } from '../../../src/connectors/salesforce/outbound.js';
import { salesforceId18 } from '../../../src/sync/events/ids.js';
import { jobIdFor } from '../../../src/sync/events/source-event.js';
import { readFileSync } from 'node:fs';
import { seededRandom } from '../../../src/demo/standins/common.js';
import {
  customer,
  mixedStream,
  stripePayload,
  toSourceEvent,
  type Customer,
  type Wire as BenchWire,
} from '../../../bench/lib/fixtures.js';
import { TEST_SECRETS } from '../../support/daemon.js';
import type { Wire } from './wire.js';

export { customer, type Customer } from '../../../bench/lib/fixtures.js';

const ZENDESK_TICKET = readFileSync(
  new URL('../../fixtures/zendesk/ticket.status_changed.json', import.meta.url),
  'utf8',
);

const KIND = { stripe: 'stripe', salesforce: 'salesforce-json', zendesk: 'zendesk' } as const;

function fromBench(w: BenchWire): Wire {
  const e = toSourceEvent(w);
  return { kind: KIND[w.source], body: JSON.stringify(w.body), ids: [jobIdFor(e.source, e.eventId)] };
}

/** The customer's second contact, sent as Salesforce Outbound Messages do: SOAP, a notification id per change. */
export function soapContact(c: Customer, version: number, contactNo?: number): Wire {
  const seven = String(c.n).padStart(7, '0');
  const contactId = salesforceId18(
    contactNo === undefined ? `003SoapX${seven}` : `003S${contactNo.toString(36).padStart(4, '0')}${seven}`,
  );
  const stamp = new Date(version * 1000).toISOString();
  const xml = buildOutboundMessage({
    organizationId: TEST_SECRETS.SALESFORCE_ORG_ID,
    actionId: '04k5e000000RelAAA',
    notifications: [
      {
        id: `04l${(contactNo ?? 0).toString(36).padStart(3, '0')}${seven}${String(version % 100_000).padStart(5, '0')}`.slice(
          0,
          18,
        ),
        sObjectType: 'Contact',
        fields: {
          Id: contactId,
          AccountId: c.salesforceAccountId,
          Email: `ops@customer-${c.n}.example`,
          FirstName: 'Ops',
          LastName: `Team ${c.n}`,
          LastModifiedDate: stamp,
          SystemModstamp: stamp,
        },
      },
    ],
  });
  const parsed = parseOutboundMessage(xml);
  if (!parsed.ok) throw new Error(parsed.reason);
  const ids = parsed.notifications.map((n) => {
    if (n.result.kind !== 'events') throw new Error(`SOAP contact did not parse: ${n.result.kind}`);
    return n.result.events.map((e) => jobIdFor(e.source, e.eventId));
  });
  return { kind: 'salesforce-soap', body: xml, ids: ids.flat() };
}

/**
 * `total` payloads over `customers` customers in the bench's realistic order
 * (rounds over shuffled customers, bursts kept together), with one SOAP
 * contact change per customer every `soapEvery` rounds (0: none).
 */
export function customerTraffic(total: number, customers: number, seed: number, soapEvery = 0): Wire[] {
  const bench = mixedStream(soapEvery > 0 ? total - Math.floor(total / (soapEvery + 1)) : total, customers, { seed });
  const wires = bench.map(fromBench);
  if (soapEvery <= 0) return wires;
  const soapCount = total - wires.length;
  const out: Wire[] = [];
  const gap = Math.max(1, Math.floor(wires.length / Math.max(1, soapCount)));
  let soap = 0;
  wires.forEach((w, i) => {
    out.push(w);
    if (i % gap === gap - 1 && soap < soapCount) {
      const c = customer(soap % customers);
      out.push(soapContact(c, 1_780_000_000 + 600 + Math.floor(soap / customers) * 3600 + c.n));
      soap++;
    }
  });
  while (soap < soapCount) {
    const c = customer(soap % customers);
    out.push(soapContact(c, 1_780_000_000 + 600 + Math.floor(soap / customers) * 3600 + c.n));
    soap++;
  }
  return out;
}

// ---- traffic for the portal scenarios ---------------------------------------------

const TICKET_STATUSES = [
  ['NEW', 'OPEN'],
  ['OPEN', 'PENDING'],
  ['PENDING', 'SOLVED'],
] as const;

/** A Zendesk ticket event of the customer's organization (ticket `t` of the customer, change `step`). */
export function ticketWire(
  c: Customer,
  t: number,
  step: number,
  versionSeconds: number,
  ticketId = String(6_000_000 + c.n * 20 + t),
): Wire {
  const body = JSON.parse(ZENDESK_TICKET) as Record<string, any>;
  const at = new Date(versionSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const [previous, current] = TICKET_STATUSES[step % TICKET_STATUSES.length]!;
  body.id = `rel-ticket-${ticketId}-${step}`;
  body.time = at;
  body.subject = `zen:ticket:${ticketId}`;
  Object.assign(body.detail, {
    id: ticketId,
    organization_id: c.zendeskOrganizationId,
    requester_id: c.zendeskUserId,
    submitter_id: c.zendeskUserId,
    status: current,
    updated_at: at,
    subject: `Ticket ${t} of customer ${c.n}`,
  });
  Object.assign(body.event, { current, previous });
  return { kind: 'zendesk', body: JSON.stringify(body), ids: [jobIdFor('zendesk', body.id)] };
}

function stripeWire(body: Record<string, unknown>): Wire {
  return { kind: 'stripe', body: JSON.stringify(body), ids: [jobIdFor('stripe', String(body['id']))] };
}

/**
 * `perCustomer` events per customer, all three kinds of portal data: the Stripe customer naming its
 * Salesforce Account and Zendesk organization (and a balance unique to it, so a write can be traced
 * back to the customer it came from), invoices finalized and paid, a subscription, and Zendesk tickets
 * of its organization. Interleaved in rounds over the customers, in a seeded order.
 * `crossIds(c)` may name other ids in the Stripe metadata (tenant-isolation scenario).
 */
export function portalTraffic(
  customers: readonly Customer[],
  perCustomer: number,
  seed: number,
  crossIds: (c: Customer) => Partial<Customer> = () => ({}),
): Wire[] {
  const random = seededRandom(seed);
  const lives = customers.map((c) => {
    const linked = { ...c, ...crossIds(c) };
    const base = 1_790_000_000 + c.n;
    const events: Wire[] = [];
    const created = stripePayload('customer.created', linked, 0, `evt_rel_${c.n}_created`, {
      zendeskOrganizationId: linked.zendeskOrganizationId,
    });
    ((created['data'] as Record<string, any>)['object'] as Record<string, unknown>)['balance'] = -100 * (c.n + 1);
    events.push(stripeWire(created));
    for (let step = 1; events.length < perCustomer; step++) {
      const kind = step % 5;
      if (kind === 1 || kind === 3)
        events.push(stripeWire(stripePayload('invoice.finalized', linked, step, `evt_rel_${c.n}_${step}_fin`)));
      else if (kind === 2)
        events.push(
          stripeWire(
            stripePayload('invoice.paid', linked, step - 1, `evt_rel_${c.n}_${step}_paid`, { createdOffset: 3600 + 7 }),
          ),
        );
      else if (kind === 4) events.push(ticketWire(c, step % 20, step, base + step * 3600));
      else
        events.push(
          stripeWire(stripePayload('customer.subscription.updated', linked, step, `evt_rel_${c.n}_${step}_sub`)),
        );
    }
    return events;
  });
  const order = customers.map((_, i) => i);
  const out: Wire[] = [];
  for (let round = 0; round < perCustomer; round++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const i of order) {
      const w = lives[i]![round];
      if (w) out.push(w);
    }
  }
  return out;
}

/**
 * `n` events in which every event writes an object of its own — a Stripe invoice, a Zendesk ticket, a
 * Salesforce contact (Outbound Message) in turn — so that each applied event shows in the records'
 * lineage (records.appliedEventIds). `tag` keeps ids apart between scenarios.
 */
export function distinctTraffic(n: number, customers: number, tag: number): Wire[] {
  return Array.from({ length: n }, (_, i) => {
    const c = customer(i % customers);
    if (i % 3 === 0) {
      // Each invoice is its own object, so its step only has to stay in the past: an event dated ahead of now is quarantined.
      const body = stripePayload('invoice.finalized', c, 1_000 + (i % 3_000), `evt_${tag}_${i}`);
      const object = (body['data'] as Record<string, any>)['object'] as Record<string, unknown>;
      object['id'] = `in_${tag}_${i}`;
      return stripeWire(body);
    }
    if (i % 3 === 1) return ticketWire(c, 0, i, 1_790_000_000 + i, String(tag * 100_000_000 + i));
    return soapContact(c, 1_785_000_000 + i, i);
  });
}
