/**
 * Realistic SourceEvents for the merge and projection tests: fixtures run
 * through the real parsers, and small builders whose output the queue's own
 * schema accepts (every builder validates), plus fast-check arbitraries.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseSalesforceJson } from '../../../src/connectors/salesforce/cdc.js';
import { parseOutboundMessage } from '../../../src/connectors/salesforce/outbound.js';
import { parseStripeEvent } from '../../../src/connectors/stripe/events.js';
import { parseZendeskWebhook } from '../../../src/connectors/zendesk/events.js';
import { applyEvent } from '../../../src/sync/events/merge.js';
import { emptyRecord, type CustomerRecord } from '../../../src/sync/events/record.js';
import { SourceEventSchema, normalizeEmail } from '../../../src/sync/events/source-event.js';
import type {
  EventData,
  EventDataOf,
  ParseResult,
  Source,
  SourceEvent,
} from '../../../src/sync/events/source-event.js';

// Fixtures are edited per test to stand for other states; `any` keeps those edits short.
type Json = Record<string, any>;
const FIXTURES = new URL('../../fixtures/', import.meta.url);
export const fixture = (path: string): Json => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8')) as Json;

function only(result: ParseResult): SourceEvent {
  if (result.kind !== 'events') throw new Error(`expected events, got ${result.kind}: ${result.reason}`);
  const [event] = result.events;
  if (!event) throw new Error('no event');
  return event;
}
export const stripe = (raw: Json): SourceEvent => only(parseStripeEvent(raw));
export const stripeFixture = (name: string, edit: (raw: Json) => void = () => {}): SourceEvent => {
  const raw = fixture(`stripe/${name}.json`);
  edit(raw);
  return stripe(raw);
};
export const zendeskFixture = (name: string, edit: (raw: Json) => void = () => {}): SourceEvent => {
  const raw = fixture(`zendesk/${name}.json`);
  edit(raw);
  return only(parseZendeskWebhook(raw, {}));
};
export const salesforceCdc = (raw: unknown): SourceEvent[] =>
  parseSalesforceJson(raw, { clientId: 'portal-sync' }).map(only);
export function salesforceOutbound(name: string): SourceEvent[] {
  const parsed = parseOutboundMessage(readFileSync(new URL(`salesforce/${name}`, FIXTURES), 'utf8'));
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.notifications.map((n) => only(n.result));
}

export function replay(
  events: ReadonlyArray<SourceEvent | Item>,
  id = 'cust-1',
  start: CustomerRecord = emptyRecord(id),
): CustomerRecord {
  return events.reduce<CustomerRecord>((record, e) => {
    const item = 'event' in e ? e : { event: e, rank: 0 as const };
    return applyEvent(record, item.event, { rank: item.rank }).record;
  }, start);
}

// ---- builders --------------------------------------------------------------------

type Opts = { version: number; eventId?: string; type?: string; deleted?: boolean; origin?: 'webhook' | 'snapshot' };
const SOURCE_OF = (data: EventData): Source => data.kind.slice(0, data.kind.indexOf('.')) as Source;

export function event(objectId: string, data: EventData, o: Opts): SourceEvent {
  return SourceEventSchema.parse({
    v: 1,
    source: SOURCE_OF(data),
    objectId,
    version: o.version,
    origin: o.origin ?? 'webhook',
    deleted: o.deleted ?? false,
    eventId: o.eventId ?? `${data.kind}-${objectId}-${o.version}`,
    type: o.type ?? `${data.kind}.updated`,
    refs: {},
    data,
  });
}
const iso = (ms: number) => new Date(ms).toISOString();

export const CUSTOMER = 'cus_1';
export const customer = (o: Opts, d: Partial<EventDataOf<'stripe.customer'>> = {}) =>
  event(
    CUSTOMER,
    {
      kind: 'stripe.customer',
      name: 'Acme',
      email: 'billing@acme.example',
      currency: 'usd',
      balance: 0,
      delinquent: false,
      defaultPaymentMethodId: null,
      metadata: {},
      ...d,
    },
    o,
  );
export const subscription = (
  id: string,
  status: string,
  o: Opts,
  d: Partial<EventDataOf<'stripe.subscription'>> = {},
) =>
  event(
    id,
    {
      kind: 'stripe.subscription',
      id,
      status,
      planName: 'Team',
      priceId: 'price_team',
      currency: 'usd',
      mrr: 4900,
      currentPeriodEnd: iso(o.version + 30 * 86_400_000),
      cancelAtPeriodEnd: false,
      ...d,
    },
    o,
  );
export const invoice = (id: string, status: string | null, o: Opts, d: Partial<EventDataOf<'stripe.invoice'>> = {}) =>
  event(
    id,
    {
      kind: 'stripe.invoice',
      id,
      number: `N-${id}`,
      status,
      currency: 'usd',
      total: 4900,
      amountDue: 4900,
      amountPaid: status === 'paid' ? 4900 : 0,
      amountRemaining: status === 'paid' || status === 'void' ? 0 : 4900,
      dueDate: null,
      createdAt: iso(1_000),
      hostedInvoiceUrl: null,
      invoicePdf: null,
      subscriptionId: null,
      ...d,
    },
    o,
  );
export const paymentMethod = (id: string, attached: boolean, o: Opts) =>
  event(id, { kind: 'stripe.payment_method', id, type: 'card', attached, brand: 'visa', last4: '4242' }, o);
export const charge = (id: string, invoiceId: string | null, amountRefunded: number, o: Opts) =>
  event(
    id,
    {
      kind: 'stripe.charge',
      id,
      invoiceId,
      amount: 4900,
      amountRefunded,
      refunded: amountRefunded === 4900,
      currency: 'usd',
    },
    o,
  );

export const ACCOUNT = '001A';
export const account = (fields: Record<string, string | null>, o: Opts) =>
  event(ACCOUNT, { kind: 'salesforce.account', fields }, o);
/** As the Salesforce parsers build it: the top-level attributes come from whichever fields the change carried. */
export const contact = (id: string, fields: Record<string, string | null>, o: Opts) =>
  event(
    id,
    {
      kind: 'salesforce.contact',
      accountId: fields['AccountId'] ?? null,
      email: normalizeEmail(fields['Email']) ?? null,
      name: fields['Name'] ?? null,
      fields,
    },
    o,
  );

export const ORGANIZATION = '700';
export const organization = (o: Opts, name: string | null = 'Acme') =>
  event(ORGANIZATION, { kind: 'zendesk.organization', id: ORGANIZATION, name, externalId: ACCOUNT, tags: null }, o);
export const user = (id: string, email: string | null, o: Opts, name: string | null = null) =>
  event(
    id,
    { kind: 'zendesk.user', id, name, email, externalId: null, organizationId: ORGANIZATION, role: 'end-user' },
    o,
  );
export const ticket = (id: string, status: string | null, o: Opts, d: Partial<EventDataOf<'zendesk.ticket'>> = {}) =>
  event(
    id,
    {
      kind: 'zendesk.ticket',
      id,
      subject: `Ticket ${id}`,
      description: null,
      status,
      priority: 'normal',
      formId: null,
      tags: [],
      requesterId: '801',
      organizationId: ORGANIZATION,
      createdAt: iso(0),
      updatedAt: iso(o.version),
      ...d,
    },
    o,
  );
export const activity = (eventId: string, version: number) =>
  event(
    'contact-1',
    {
      kind: 'portal.activity',
      activity: 'invoice_view',
      sessionId: null,
      query: null,
      resultCount: null,
      articleId: null,
      invoiceId: null,
      ticketId: null,
      properties: {},
    },
    { version, eventId, type: 'invoice_view' },
  );

// ---- arbitraries ---------------------------------------------------------------------

/** Few versions, so that equal-version writes (ties) are common. */
const version = fc.constantFrom(1_000, 2_000, 3_000);
const deleted = fc.integer({ min: 0, max: 5 }).map((n) => n === 0);
const opts = (v: number, del = false): Opts => ({ version: v, deleted: del });
/** A random subset of some fields, each with a value from a small set. */
const someFields = (choices: Record<string, Array<string | null>>) =>
  fc.record(Object.fromEntries(Object.entries(choices).map(([k, vs]) => [k, fc.constantFrom(...vs)])), {
    requiredKeys: [],
  }) as fc.Arbitrary<Record<string, string | null>>;

const eventArb: fc.Arbitrary<SourceEvent> = fc.oneof(
  fc
    .tuple(version, deleted, fc.constantFrom(0, -500), fc.boolean())
    .map(([v, del, balance, delinquent]) => customer(opts(v, del), { balance, delinquent })),
  fc
    .tuple(
      fc.constantFrom('sub_a', 'sub_b'),
      fc.constantFrom('active', 'past_due', 'trialing', 'canceled'),
      version,
      deleted,
      fc.constantFrom(0, 4900, 9900),
    )
    .map(([id, status, v, del, mrr]) => subscription(id, del ? 'canceled' : status, opts(v, del), { mrr })),
  fc
    .tuple(fc.constantFrom('in_a', 'in_b'), fc.constantFrom('draft', 'open', 'paid', 'void'), version, deleted)
    .map(([id, status, v, del]) => invoice(id, status, opts(v, del), { dueDate: iso(1_500) })),
  fc
    .tuple(fc.constantFrom('pm_a', 'pm_b'), fc.boolean(), version)
    .map(([id, attached, v]) => paymentMethod(id, attached, opts(v))),
  fc.tuple(fc.constantFrom(0, 1000, 4900), version).map(([refunded, v]) => charge('ch_a', 'in_a', refunded, opts(v))),
  fc
    .tuple(
      someFields({ Name: ['Acme', 'Acme Ltd'], OwnerId: ['005A', '005B'], Customer_Tier__c: ['Gold', 'Silver', null] }),
      version,
      deleted,
    )
    .map(([fields, v, del]) => account(fields, opts(v, del))),
  fc
    .tuple(
      fc.constantFrom('003A', '003B'),
      someFields({ Email: ['Ann@acme.example', 'bob@acme.example', null], Name: ['Ann', 'Bob'], AccountId: [ACCOUNT] }),
      version,
      deleted,
    )
    .map(([id, fields, v, del]) => contact(id, fields, opts(v, del))),
  fc.tuple(version, deleted, fc.constantFrom('Acme', null)).map(([v, del, name]) => organization(opts(v, del), name)),
  fc
    .tuple(
      fc.constantFrom('801', '802'),
      fc.constantFrom('ann@acme.example', 'carl@acme.example', null),
      version,
      deleted,
      fc.constantFrom('Ann Z', null),
    )
    .map(([id, email, v, del, name]) => user(id, email, opts(v, del), name)),
  fc
    .tuple(
      fc.constantFrom('5301', '5302'),
      fc.constantFrom('new', 'open', 'pending', 'hold', 'solved', 'closed'),
      version,
      deleted,
      fc.constantFrom('First comment', null),
    )
    .map(([id, status, v, del, description]) => ticket(id, status, opts(v, del), { description })),
  fc.tuple(fc.constantFrom('pa_1', 'pa_2'), version).map(([id, v]) => activity(`${id}-${v}`, v)),
);

/** One write to apply: an event, and rank 1 when it stands for a refetch from the source API. */
export type Item = { event: SourceEvent; rank: 0 | 1 };

/**
 * A stream of deliveries. Each gets its own event id, so identical content
 * also arrives as distinct deliveries (like invoice.paid and
 * invoice.payment_succeeded); portal activity keeps its own ids.
 */
export const streamArb = (maxLength = 40): fc.Arbitrary<Item[]> =>
  fc.array(fc.tuple(eventArb, fc.integer({ min: 0, max: 9 })), { minLength: 1, maxLength }).map((pairs) =>
    pairs.map(([e, r], i) => ({
      event: e.source === 'portal' ? e : { ...e, eventId: `evt_${i}` },
      rank: r === 0 ? 1 : 0,
    })),
  );
