/**
 * The signed-in customer's own view (GET /portal/v1/me), projected from a
 * stored record. Pure and clock-free: which record a viewer may see is decided
 * by resolve.ts; this module only says whether a record holds the viewer as
 * one of its own contacts, and what of the record the viewer is shown.
 * Internal figures (MRR, balance, owner, tier, internal ids) stay out.
 */
import { toMajorUnits } from '../money.js';
import { own, type CustomerRecord, type InvoiceView } from '../events/record.js';
import { checkSalesforceId } from '../events/ids.js';
import { normalizeEmail } from '../events/source-event.js';
import type { ViewTicketScope } from './settings.js';

/** Who is asking, as a verified help center JWT names them (never anything else in the request). */
export interface Viewer {
  zendeskUserId: string;
  externalId: string | null;
  email: string | null;
}

interface ViewInvoice {
  id: string;
  number: string | null;
  status: string | null;
  /** ISO 4217, upper case; amounts below are in its major unit (19.99, not 1999). */
  currency: string;
  total: number;
  amountDue: number;
  amountPaid: number;
  amountRemaining: number;
  dueDate: string | null;
  createdAt: string;
  hostedInvoiceUrl: string | null;
  pdfUrl: string | null;
}

interface ViewTicket {
  id: string;
  subject: string | null;
  status: string | null;
  updatedAt: string | null;
  /** The ticket's Zendesk brand; null when not known (stored before brands were read). */
  brandId: string | null;
}

/** The Help Center brand a view is asked from (its host, or the kit's brand id): its tickets are the ones shown. */
export interface ViewBrand {
  id: string;
  name: string | null;
}

export interface CustomerView {
  v: 1;
  customer: { name: string | null };
  billing: {
    status: string | null;
    /** When a canceled or expired subscription ended (null while it bills), so the customer reads "canceled, ended on …". */
    endedAt: string | null;
    plan: string | null;
    currency: string | null;
    nextInvoiceDate: string | null;
    delinquent: boolean;
    paymentMethodOnFile: boolean;
  } | null;
  invoices: ViewInvoice[];
  tickets: ViewTicket[];
  /** The brand the view was asked for: `tickets` holds that brand's (and those of no known brand); null: every brand's. */
  brand: ViewBrand | null;
  /** The newest source version the record holds (what the view is as current as); null for an empty record. */
  updatedAt: string | null;
}

export interface ViewOptions {
  recentPaidInvoices: number;
  tickets: ViewTicketScope;
}

/** The viewer's external id when it is a real Salesforce Contact id, in the 18-character form the keys hold. */
export function externalContactId(viewer: Pick<Viewer, 'externalId'>): string | null {
  if (viewer.externalId === null) return null;
  const checked = checkSalesforceId(viewer.externalId, '003');
  return checked.ok ? checked.value : null;
}

/** The identity keys a viewer is looked up by, in order: Zendesk user id, then external id (a Salesforce Contact id), then email. */
export function viewerKeys(viewer: Viewer): string[] {
  const keys = [`zduser:${viewer.zendeskUserId}`];
  const contact = externalContactId(viewer);
  if (contact !== null) keys.push(`sfcontact:${contact}`);
  const email = normalizeEmail(viewer.email);
  if (email) keys.push(`email:${email}`);
  return keys;
}

/**
 * Whether the record holds the viewer, by the key it was found under, as one of its own: a live
 * contact that still belongs to this customer's Account or organization (project.ts leaves out
 * the ones that moved), or for an email, the billing contact too. A Zendesk user must be a member
 * of the record's organization, when it has one (a user taken out of it is not its customer any more).
 *
 * `beside`: the JSON entry kept beside the record (people.ts) under the field named like `key`
 * (`zduser:<id>`, `sfcontact:<id>`), or for an email the entry its pointer names, for a person past the
 * record's inline bound; judged by the same rules (for an email: the entry must still have it).
 */
export function holdsViewer(record: CustomerRecord, key: string, beside: string | null = null): boolean {
  const contacts = record.derived.links.contacts;
  const value = key.slice(key.indexOf(':') + 1);
  if (key.startsWith('zduser:')) {
    const org = liveId(record.zendesk.organization);
    const inline = own(record.zendesk.users, value);
    if (inline !== undefined)
      return contacts.some((c) => c.zendeskUserId === value) && (org === null || inline.data.organizationId === org);
    const user = besideEntry<ZendeskUser>(beside, value);
    return user !== null && !user.stamp.deleted && (org === null || user.data.organizationId === org);
  }
  if (key.startsWith('sfcontact:')) {
    if (own(record.salesforce.contacts, value) !== undefined)
      return contacts.some((c) => c.salesforceContactId === value);
    const contact = besideEntry<SalesforceContact>(beside, value);
    const account = liveId(record.salesforce.account);
    return (
      contact !== null &&
      !contact.stamp.deleted &&
      (account === null ||
        contact.data.accountId === null ||
        contact.data.accountId === undefined ||
        contact.data.accountId === account)
    );
  }
  if (key.startsWith('email:')) {
    const customer = record.stripe.customer;
    const billingEmail = customer && !customer.stamp.deleted ? normalizeEmail(customer.data.email) : undefined;
    return (
      contacts.some((c) => normalizeEmail(c.email) === value) ||
      billingEmail === value ||
      besideHasEmail(record, beside, value)
    );
  }
  return false;
}

/** A person kept beside the record with this email, live and still of this customer (project.ts's rule for its contacts). */
function besideHasEmail(record: CustomerRecord, raw: string | null, email: string): boolean {
  if (raw === null) return false;
  const entry = JSON.parse(raw) as ZendeskUser | SalesforceContact;
  if (entry.stamp.deleted || normalizeEmail(entry.data.email) !== email) return false;
  const belongs = (parent: string | null | undefined, own: string | null) =>
    own === null || parent === null || parent === undefined || parent === own;
  if (entry.data.kind === 'zendesk.user') {
    if (own(record.zendesk.users, entry.stamp.objectId) !== undefined) return false;
    return belongs(entry.data.organizationId, liveId(record.zendesk.organization));
  }
  if (own(record.salesforce.contacts, entry.stamp.objectId) !== undefined) return false;
  return belongs(entry.data.accountId, liveId(record.salesforce.account));
}

type ZendeskUser = CustomerRecord['zendesk']['users'][string];
type SalesforceContact = CustomerRecord['salesforce']['contacts'][string];

const liveId = (entry: { stamp: { objectId: string; deleted: boolean } } | null): string | null =>
  entry && !entry.stamp.deleted ? entry.stamp.objectId : null;

/** The entry kept beside the record for this person, when it is theirs (its stamp names the same object). */
function besideEntry<E extends { stamp: { objectId: string } }>(raw: string | null, id: string): E | null {
  if (raw === null) return null;
  const entry = JSON.parse(raw) as E;
  return entry.stamp.objectId === id ? entry : null;
}

function invoiceOf(i: InvoiceView): ViewInvoice {
  const major = (n: number) => toMajorUnits(n, i.currency);
  return {
    id: i.id,
    number: i.number,
    status: i.status,
    currency: i.currency.toUpperCase(),
    total: major(i.total),
    amountDue: major(i.amountDue),
    amountPaid: major(i.amountPaid),
    amountRemaining: major(i.amountRemaining),
    dueDate: i.dueDate,
    createdAt: i.createdAt,
    hostedInvoiceUrl: i.hostedInvoiceUrl,
    pdfUrl: i.invoicePdf,
  };
}

/** Every live entity's source version, newest first taken: what "last updated" means to the customer. */
function newestVersion(record: CustomerRecord): number | null {
  const { stripe, salesforce, zendesk } = record;
  const maps = [
    stripe.subscriptions,
    stripe.invoices,
    stripe.paymentMethods,
    stripe.charges,
    salesforce.contacts,
    zendesk.users,
    zendesk.tickets,
  ];
  const singles = [stripe.customer, salesforce.account, zendesk.organization];
  let newest: number | null = null;
  for (const e of [...singles, ...maps.flatMap((m) => Object.values(m))])
    if (e && (newest === null || e.stamp.version > newest)) newest = e.stamp.version;
  return newest;
}

function ticketsOf(
  record: CustomerRecord,
  viewer: Viewer,
  scope: ViewTicketScope,
  brand: ViewBrand | null,
): ViewTicket[] {
  const tickets = record.derived.support?.tickets ?? [];
  const mine =
    scope === 'organization'
      ? tickets
      : tickets.filter((t) => own(record.zendesk.tickets, t.id)?.data.requesterId === viewer.zendeskUserId);
  // As Zendesk's own request list on a brand's Help Center: that brand's tickets. One of no known brand may be any brand's, and is the customer's own.
  const shown = brand === null ? mine : mine.filter((t) => t.brandId === undefined || t.brandId === brand.id);
  return shown.map((t) => ({
    id: t.id,
    subject: t.subject,
    status: t.status,
    updatedAt: t.updatedAt,
    brandId: t.brandId ?? null,
  }));
}

/** `brand`: the Help Center brand the view is asked from, or null (every brand's tickets). */
export function customerView(
  record: CustomerRecord,
  viewer: Viewer,
  opts: ViewOptions,
  brand: ViewBrand | null = null,
): CustomerView {
  const d = record.derived;
  const b = d.billing;
  // Open invoices all; paid ones, the newest few (derived.invoices is newest first). Drafts and voids are not the customer's business.
  const open = d.invoices.filter((i) => i.status === 'open');
  const paid = d.invoices.filter((i) => i.status === 'paid').slice(0, opts.recentPaidInvoices);
  const version = newestVersion(record);
  return {
    v: 1,
    customer: {
      name:
        d.profile?.name ??
        (record.zendesk.organization && !record.zendesk.organization.stamp.deleted
          ? record.zendesk.organization.data.name
          : null),
    },
    billing: b && {
      status: b.status,
      endedAt: b.endedAt ?? null,
      plan: b.plan,
      currency: b.currency === null ? null : b.currency.toUpperCase(),
      nextInvoiceDate: b.nextInvoiceDate,
      delinquent: b.delinquent,
      paymentMethodOnFile: b.paymentMethodOnFile,
    },
    invoices: [...open, ...paid].map(invoiceOf),
    tickets: ticketsOf(record, viewer, opts.tickets, brand),
    brand,
    updatedAt: version === null ? null : new Date(version).toISOString(),
  };
}
