/**
 * The `mapping:` section of the YAML config: for each place a portal target writes (Zendesk organization
 * and user fields, the Zendesk invoice object, Salesforce Account fields and custom objects) a list of
 * `{ from, to, transform? }` — what to read (a path into the normalized record, or a source attribute such
 * as a Stripe metadata key), which field to write, and how to convert it. Only the grammar lives here:
 * which paths and transforms exist, checked by zod with messages that name the offending key path.
 */
import { z } from 'zod';
import { didYouMean } from '../did-you-mean.js';

/** Paths into the record as the portal sees it (the derived views and the portal projection). */
const RECORD_PATHS = [
  'billing.status',
  'billing.plan',
  'billing.currency',
  'billing.mrr',
  'billing.balance',
  'billing.nextInvoiceDate',
  'billing.delinquent',
  'billing.endedAt',
  'billing.paymentMethodOnFile',
  'openInvoiceCount',
  'support.openTicketCount',
  'profile.name',
  'profile.primaryEmail',
  'profile.ownerId',
  'profile.tier',
  'links.stripeCustomerId',
  'links.salesforceAccountId',
  'links.zendeskOrganizationId',
  'selfService.lastActivityAt',
] as const;
/** The invoice a record of an invoice section is about. */
const INVOICE_PATHS = [
  'invoice.id',
  'invoice.number',
  'invoice.status',
  'invoice.currency',
  'invoice.total',
  'invoice.amountDue',
  'invoice.amountPaid',
  'invoice.amountRemaining',
  'invoice.amountRefunded',
  'invoice.dueDate',
  'invoice.createdAt',
  'invoice.hostedInvoiceUrl',
  'invoice.invoicePdf',
] as const;
/** The ticket a record of the Salesforce ticket section is about. */
const TICKET_PATHS = [
  'ticket.id',
  'ticket.subject',
  'ticket.status',
  'ticket.priority',
  'ticket.category',
  'ticket.updatedAt',
] as const;

/** Source attributes: read from the sources' objects, and kept on the record only while a mapping names them. */
export const SOURCE_PREFIXES = {
  stripeCustomerMetadata: 'stripe.customer.metadata.',
  stripeSubscriptionMetadata: 'stripe.subscription.metadata.',
  salesforceAccount: 'salesforce.account.',
  zendeskOrganization: 'zendesk.organization.fields.',
} as const;
export const STRIPE_TRIAL_END = 'stripe.subscription.trial_end';

/** Stripe metadata keys: up to 40 characters, no square brackets. */
const METADATA_KEY = /^[^[\]]{1,40}$/;
const SALESFORCE_API_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

export const SECTIONS = {
  zendesk: ['organizationFields', 'userFields', 'invoiceObject'],
  salesforce: ['accountFields', 'invoice', 'ticket'],
} as const;
export type MappingTarget = keyof typeof SECTIONS;
type ZendeskSection = (typeof SECTIONS.zendesk)[number];
type SalesforceSection = (typeof SECTIONS.salesforce)[number];
export type Section = ZendeskSection | SalesforceSection;

/** Which item paths a section's records may read (an invoice section reads its invoice). */
const ITEM_PATHS: Record<Section, readonly string[]> = {
  organizationFields: [],
  userFields: [],
  accountFields: [],
  invoiceObject: INVOICE_PATHS,
  invoice: INVOICE_PATHS,
  ticket: TICKET_PATHS,
};

/** Why a path is not one portal-sync can read in this section, or null when it is. */
export function pathProblem(path: string, section: Section): string | null {
  if (
    (RECORD_PATHS as readonly string[]).includes(path) ||
    ITEM_PATHS[section].includes(path) ||
    path === STRIPE_TRIAL_END
  )
    return null;
  if (
    path.startsWith(SOURCE_PREFIXES.stripeCustomerMetadata) ||
    path.startsWith(SOURCE_PREFIXES.stripeSubscriptionMetadata)
  ) {
    const key = path.startsWith(SOURCE_PREFIXES.stripeCustomerMetadata)
      ? path.slice(SOURCE_PREFIXES.stripeCustomerMetadata.length)
      : path.slice(SOURCE_PREFIXES.stripeSubscriptionMetadata.length);
    return METADATA_KEY.test(key)
      ? null
      : `a Stripe metadata key has 1 to 40 characters and no square brackets, got ${JSON.stringify(key)}`;
  }
  if (path.startsWith(SOURCE_PREFIXES.zendeskOrganization)) {
    const key = path.slice(SOURCE_PREFIXES.zendeskOrganization.length);
    return /^[A-Za-z0-9_]{1,64}$/.test(key)
      ? null
      : `expected a Zendesk organization field key after zendesk.organization.fields., got ${JSON.stringify(key)}`;
  }
  if (path.startsWith(SOURCE_PREFIXES.salesforceAccount)) {
    const field = path.slice(SOURCE_PREFIXES.salesforceAccount.length);
    return SALESFORCE_API_NAME.test(field)
      ? null
      : `expected a Salesforce API name after salesforce.account., got ${JSON.stringify(field)}`;
  }
  if ((INVOICE_PATHS as readonly string[]).includes(path))
    return `${path} is a value of each invoice: only the invoice sections (zendesk.invoiceObject, salesforce.invoice) read it`;
  if ((TICKET_PATHS as readonly string[]).includes(path))
    return `${path} is a value of each ticket: only the salesforce.ticket section reads it`;
  const known = [...RECORD_PATHS, ...ITEM_PATHS[section], STRIPE_TRIAL_END];
  const guess = didYouMean(path, known);
  return `unknown path ${JSON.stringify(path)}${guess ? `; did you mean ${guess}?` : ''} (see docs/mapping.md for every path)`;
}

/** The transforms: date, money (major units), boolean, join, and an enum map. */
const SIMPLE_TRANSFORMS = ['date', 'money', 'boolean', 'join'] as const;
const enumValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const TransformSchema = z.union(
  [
    z.enum(SIMPLE_TRANSFORMS),
    z.strictObject({
      enum: z
        .record(z.string(), enumValue)
        .refine((m) => Object.keys(m).length > 0, 'an enum map needs at least one value'),
      default: enumValue.optional(),
    }),
    z.strictObject({ join: z.string().max(20) }),
  ],
  {
    error: (issue) =>
      `expected date, money, boolean, join, {join: "<separator>"} or {enum: {<value>: <shown>}, default: <shown>}, got ${JSON.stringify(issue.input) ?? 'nothing'}`,
  },
);
export type Transform = z.infer<typeof TransformSchema>;

const toPattern = { zendesk: /^[A-Za-z0-9_]{1,64}$/, salesforce: SALESFORCE_API_NAME } as const;
const toMessage = {
  zendesk: 'expected a Zendesk field key (letters, digits, underscores), e.g. plan_tier',
  salesforce: 'expected a Salesforce API name, e.g. Plan_Tier__c',
} as const;

function entrySchema(target: MappingTarget, section: Section) {
  const path = z.string().superRefine((p, ctx) => {
    const problem = pathProblem(p.trim(), section);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
  return z
    .strictObject({
      from: z.union([path, z.array(path).min(2).max(10)]),
      to: z.string().regex(toPattern[target], toMessage[target]),
      transform: TransformSchema.optional(),
    })
    .superRefine((e, ctx) => {
      const joined = e.transform === 'join' || (typeof e.transform === 'object' && 'join' in e.transform);
      if (Array.isArray(e.from) && !joined)
        ctx.addIssue({ code: 'custom', path: ['transform'], message: 'several `from` paths need the join transform' });
    });
}
export type MappingEntry = { from: string | string[]; to: string; transform?: Transform | undefined };

const list = (target: MappingTarget, section: Section) => z.array(entrySchema(target, section)).max(100).default([]);

export const MappingSchema = z
  .strictObject({
    zendesk: z
      .strictObject({
        organizationFields: list('zendesk', 'organizationFields'),
        userFields: list('zendesk', 'userFields'),
        invoiceObject: list('zendesk', 'invoiceObject'),
      })
      .default({ organizationFields: [], userFields: [], invoiceObject: [] }),
    salesforce: z
      .strictObject({
        accountFields: list('salesforce', 'accountFields'),
        invoice: list('salesforce', 'invoice'),
        ticket: list('salesforce', 'ticket'),
      })
      .default({ accountFields: [], invoice: [], ticket: [] }),
  })
  .default({
    zendesk: { organizationFields: [], userFields: [], invoiceObject: [] },
    salesforce: { accountFields: [], invoice: [], ticket: [] },
  });
export type MappingConfig = z.infer<typeof MappingSchema>;

/** No mapping: what a deployment without a `mapping:` section has. */
export const EMPTY_MAPPING: MappingConfig = {
  zendesk: { organizationFields: [], userFields: [], invoiceObject: [] },
  salesforce: { accountFields: [], invoice: [], ticket: [] },
};

/** The `from` paths of an entry, one or several. */
export const fromPaths = (e: MappingEntry): string[] =>
  (Array.isArray(e.from) ? e.from : [e.from]).map((p) => p.trim());
