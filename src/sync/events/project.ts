/**
 * The views the portal shows, derived from a record's entities. Pure and
 * clock-free: the result depends on the entities alone, so a record rebuilt
 * from the same events projects to the same bytes. Every list is sorted by
 * plain code-unit comparison (never locale) for the same reason, and every
 * object is built with its keys in code-unit order and shares nothing with the
 * record: the views are stored as built, with no canonical copy on each event
 * (project.test checks both over generated records).
 */
import { normalizeEmail } from './source-event.js';
import { own, sha256Hex, stableStringify } from './record.js';
import type { MappedSections } from './mapped-values.js';
import type { BillingView, ContactLink, CustomerRecord, Derived, Entry, InvoiceView, TicketView } from './record.js';

export { type Derived } from './record.js';

/** Salesforce API names the profile reads. TODO(config): move into the field mapping in config/default.yaml. */
const PROFILE_FIELDS = { name: 'Name', ownerId: 'OwnerId', tier: 'Customer_Tier__c' } as const;

/** Best first: the subscription that says most about the customer's standing decides billing.status. */
const STATUS_PRIORITY = [
  'active',
  'past_due',
  'unpaid',
  'trialing',
  'incomplete',
  'paused',
  'canceled',
  'incomplete_expired',
];
const MRR_STATUSES = new Set(['active', 'past_due', 'trialing']);
/** A subscription in these states will not bill again, so it has no next invoice. */
const ENDED_STATUSES = new Set(['canceled', 'incomplete_expired']);
const OPEN_TICKET_STATUSES = new Set(['new', 'open', 'pending', 'hold']);

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** Nulls sort last, so rows with data come first. */
const cmpNullable = (a: string | null, b: string | null): number =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : cmp(a, b);
const time = (iso: string | null): number => (iso === null ? Number.NEGATIVE_INFINITY : Date.parse(iso));

/** Entities not tombstoned, with their ids, in id order. */
function live<T>(map: Record<string, Entry<T>>): Array<[string, T]> {
  return Object.entries(map)
    .filter(([, e]) => !e.stamp.deleted)
    .map(([id, e]): [string, T] => [id, e.data])
    .sort(([a], [b]) => cmp(a, b));
}
const liveOne = <T>(entry: Entry<T> | null): Entry<T> | null => (entry && !entry.stamp.deleted ? entry : null);

/**
 * Salesforce contacts and Zendesk users joined on normalized email. Several
 * of one side with the same email are paired in id order, so nobody drops out.
 */
/** An object that names a parent belongs to the record's own one, when the record has one. */
const belongs = (parent: string | null | undefined, own: string | null): boolean =>
  own === null || parent === null || parent === undefined || parent === own;

function joinContacts(record: CustomerRecord): ContactLink[] {
  type Side = Array<[id: string, name: string | null]>;
  const byEmail = new Map<string | null, { sf: Side; zd: Side }>();
  const group = (email: string | null): { sf: Side; zd: Side } => {
    const found = byEmail.get(email);
    if (found) return found;
    const created = { sf: [], zd: [] };
    byEmail.set(email, created);
    return created;
  };
  // A contact or user that now belongs to another Account or organization stays in this record (an event only
  // writes where it lands) but is no longer this customer's: never a place to write this customer's data.
  const accountId = liveOne(record.salesforce.account)?.stamp.objectId ?? null;
  const orgId = liveOne(record.zendesk.organization)?.stamp.objectId ?? null;
  for (const [id, c] of live(record.salesforce.contacts))
    if (belongs(c.accountId, accountId)) group(normalizeEmail(c.email) ?? null).sf.push([id, c.name]);
  for (const [id, u] of live(record.zendesk.users))
    if (belongs(u.organizationId, orgId)) group(normalizeEmail(u.email) ?? null).zd.push([id, u.name]);
  const rows: ContactLink[] = [];
  for (const [email, { sf, zd }] of byEmail) {
    if (email === null) {
      // Nothing to join on: each one stands alone.
      for (const [id, name] of sf) rows.push({ email, name, salesforceContactId: id, zendeskUserId: null });
      for (const [id, name] of zd) rows.push({ email, name, salesforceContactId: null, zendeskUserId: id });
      continue;
    }
    for (let i = 0; i < Math.max(sf.length, zd.length); i++) {
      const s = sf[i];
      const z = zd[i];
      rows.push({
        email,
        name: s?.[1] ?? z?.[1] ?? null,
        salesforceContactId: s?.[0] ?? null,
        zendeskUserId: z?.[0] ?? null,
      });
    }
  }
  return rows.sort(
    (a, b) =>
      cmpNullable(a.email, b.email) ||
      cmpNullable(a.salesforceContactId, b.salesforceContactId) ||
      cmpNullable(a.zendeskUserId, b.zendeskUserId),
  );
}

function profileOf(record: CustomerRecord, contacts: ContactLink[]): Derived['profile'] {
  const account = liveOne(record.salesforce.account);
  if (!account) return null;
  const field = (name: string): string | null =>
    Object.hasOwn(account.data.fields, name) ? (account.data.fields[name] ?? null) : null;
  const crmEmail = contacts.find((c) => c.salesforceContactId !== null && c.email !== null)?.email;
  const customer = liveOne(record.stripe.customer);
  return {
    name: field(PROFILE_FIELDS.name),
    ownerId: field(PROFILE_FIELDS.ownerId),
    primaryEmail: crmEmail ?? normalizeEmail(customer?.data.email) ?? null,
    tier: field(PROFILE_FIELDS.tier),
  };
}

const statusRank = (status: string): number => {
  const i = STATUS_PRIORITY.indexOf(status);
  return i < 0 ? STATUS_PRIORITY.length : i;
};

type SubscriptionData = CustomerRecord['stripe']['subscriptions'][string]['data'];

/**
 * Which subscription billing shows: one that bills or may still (active, past_due, unpaid, trialing,
 * incomplete, paused, in that order) over any that ended; among ended ones (canceled, incomplete_expired)
 * the one that ended last; then by id, so that the order of events never matters.
 */
function bySubscriptionRelevance(a: SubscriptionData, b: SubscriptionData): number {
  const ended = (s: SubscriptionData) => (ENDED_STATUSES.has(s.status) ? 1 : 0);
  return (
    ended(a) - ended(b) ||
    (ended(a) ? time(b.endedAt ?? null) - time(a.endedAt ?? null) : 0) ||
    statusRank(a.status) - statusRank(b.status) ||
    cmp(a.id, b.id)
  );
}

/** The subscription billing shows (see bySubscriptionRelevance); field mappings read its metadata and trial end. */
export function primarySubscription(record: CustomerRecord): SubscriptionData | undefined {
  return Object.values(record.stripe.subscriptions)
    .map((e) => e.data)
    .sort(bySubscriptionRelevance)[0];
}

/** The newest Stripe version the record holds: "now" as far as billing data can tell. */
function stripeAsOf(record: CustomerRecord): number {
  const { customer, subscriptions, invoices, paymentMethods, charges } = record.stripe;
  const all = [
    customer,
    ...Object.values(subscriptions),
    ...Object.values(invoices),
    ...Object.values(paymentMethods),
    ...Object.values(charges),
  ];
  return all.reduce((max, e) => Math.max(max, e?.stamp.version ?? max), Number.NEGATIVE_INFINITY);
}

function billingOf(record: CustomerRecord, invoices: InvoiceView[]): BillingView | null {
  const { customer, subscriptions, invoices: invoiceMap, paymentMethods, charges } = record.stripe;
  const any =
    customer !== null || [subscriptions, invoiceMap, paymentMethods, charges].some((m) => Object.keys(m).length > 0);
  if (!any) return null;
  // Ended subscriptions stay (Stripe's customer.subscription.deleted is a cancellation, not an erasure): a
  // canceled customer reads as canceled, not as one with no subscription.
  const subs = Object.values(subscriptions).map((e) => e.data);
  const primary = primarySubscription(record);
  const cust = liveOne(customer)?.data;
  // Past due as of the newest Stripe event, not the wall clock: a stored record must not depend on when it was built.
  const asOf = stripeAsOf(record);
  const overdue = invoices.some(
    (i) => i.status === 'open' && i.amountRemaining > 0 && i.dueDate !== null && time(i.dueDate) < asOf,
  );
  const pms = live(paymentMethods).map(([, p]) => p);
  // A default set before we listened counts too, unless we saw that method go.
  const defaultPm = cust?.defaultPaymentMethodId;
  const defaultGone =
    defaultPm != null &&
    own(paymentMethods, defaultPm) !== undefined &&
    !pms.some((p) => p.id === defaultPm && p.attached);
  const nextInvoice =
    primary && !primary.cancelAtPeriodEnd && !ENDED_STATUSES.has(primary.status) ? primary.currentPeriodEnd : null;
  return {
    balance: cust?.balance ?? null,
    currency: primary?.currency ?? cust?.currency ?? null,
    customerDeleted: customer?.stamp.deleted === true,
    delinquent: cust?.delinquent === true || overdue,
    endedAt: primary && ENDED_STATUSES.has(primary.status) ? (primary.endedAt ?? null) : null,
    mrr: subs.filter((s) => MRR_STATUSES.has(s.status)).reduce((sum, s) => sum + s.mrr, 0),
    nextInvoiceDate: nextInvoice,
    paymentMethodOnFile: pms.some((p) => p.attached) || (defaultPm != null && !defaultGone),
    plan: primary?.planName ?? null,
    status: primary?.status ?? null,
  };
}

function invoicesOf(record: CustomerRecord): InvoiceView[] {
  const refunded = new Map<string, number>();
  for (const [, c] of live(record.stripe.charges)) {
    if (c.invoiceId !== null) refunded.set(c.invoiceId, (refunded.get(c.invoiceId) ?? 0) + c.amountRefunded);
  }
  // invoice.deleted removes a draft; a voided invoice stays, with status 'void'.
  return live(record.stripe.invoices)
    .map(([, i]): InvoiceView => ({
      amountDue: i.amountDue,
      amountPaid: i.amountPaid,
      amountRefunded: refunded.get(i.id) ?? i.amountRefunded ?? 0,
      amountRemaining: i.amountRemaining,
      createdAt: i.createdAt,
      currency: i.currency,
      dueDate: i.dueDate,
      hostedInvoiceUrl: i.hostedInvoiceUrl,
      id: i.id,
      invoicePdf: i.invoicePdf,
      number: i.number,
      status: i.status,
      total: i.total,
    }))
    .sort((a, b) => time(b.createdAt) - time(a.createdAt) || cmp(a.id, b.id));
}

function supportOf(record: CustomerRecord): Derived['support'] {
  const { organization, users, tickets } = record.zendesk;
  if (organization === null && Object.keys(users).length === 0 && Object.keys(tickets).length === 0) return null;
  const orgId = liveOne(organization)?.stamp.objectId ?? null;
  const views = live(tickets)
    // A ticket moved to another organization is that customer's now (see joinContacts).
    .filter(([, t]) => belongs(t.organizationId, orgId))
    .map(([, t]): TicketView => ({
      // Left out when unknown, so that records without brands project (and hash) as they did before.
      ...(t.brandId ? { brandId: t.brandId } : {}),
      category: t.category ?? null,
      id: t.id,
      priority: t.priority,
      status: t.status,
      subject: t.subject,
      updatedAt: t.updatedAt,
    }))
    .sort((a, b) => time(b.updatedAt) - time(a.updatedAt) || cmp(a.id, b.id));
  const openTicketCount = views.filter((t) => t.status !== null && OPEN_TICKET_STATUSES.has(t.status)).length;
  const brandIds = [...new Set(views.flatMap((t) => (t.brandId ? [t.brandId] : [])))].sort(
    (a, b) => a.length - b.length || cmp(a, b),
  );
  return { ...(brandIds.length > 0 ? { brandIds } : {}), openTicketCount, tickets: views };
}

export function project(record: CustomerRecord): Derived {
  const contacts = joinContacts(record);
  const invoices = invoicesOf(record);
  return {
    billing: billingOf(record, invoices),
    invoices,
    links: {
      contacts,
      salesforceAccountId: liveOne(record.salesforce.account)?.stamp.objectId ?? null,
      stripeCustomerId: liveOne(record.stripe.customer)?.stamp.objectId ?? null,
      zendeskOrganizationId: liveOne(record.zendesk.organization)?.stamp.objectId ?? null,
    },
    profile: profileOf(record, contacts),
    selfService: {
      ...(record.portal.brandIds?.length ? { brandIds: [...record.portal.brandIds] } : {}),
      lastActivityAt: record.portal.lastActivityAt,
    },
    support: supportOf(record),
  };
}

/** What a portal target shows; the push planner compares its hash to push only what changed. */
export type PortalProjection = {
  billing: Pick<
    BillingView,
    'status' | 'plan' | 'currency' | 'mrr' | 'balance' | 'nextInvoiceDate' | 'delinquent'
  > | null;
  openInvoiceCount: number;
  invoices: InvoiceView[];
  support: { openTicketCount: number; tickets: TicketView[] } | null;
  /** The values of the target's own field mapping (mapping/apply.ts), set by the push worker; absent without one. */
  mapped?: MappedSections;
};

export function portalProjection(derived: Derived): PortalProjection {
  const b = derived.billing;
  return {
    billing: b && {
      status: b.endedAt ? `${b.status} (ended on ${b.endedAt.slice(0, 10)})` : b.status,
      plan: b.plan,
      currency: b.currency,
      mrr: b.mrr,
      balance: b.balance,
      nextInvoiceDate: b.nextInvoiceDate,
      delinquent: b.delinquent,
    },
    openInvoiceCount: derived.invoices.filter((i) => i.status === 'open').length,
    invoices: derived.invoices,
    support: derived.support && { openTicketCount: derived.support.openTicketCount, tickets: derived.support.tickets },
  };
}

export function projectionHash(p: PortalProjection): string {
  return sha256Hex(stableStringify(p));
}
