/**
 * Today's fixed fields as a mapping (the default mapping), the checks of a configured mapping against
 * them, and which source attributes a mapping makes the record keep. The built-in fields keep their
 * names in `targets.*` (renamed there, as before); a `mapping:` entry adds a field beside them.
 */
import {
  fromPaths,
  SECTIONS,
  SOURCE_PREFIXES,
  STRIPE_TRIAL_END,
  type MappingConfig,
  type MappingEntry,
  type MappingTarget,
  type Section,
} from './schema.js';

type Entries = Record<Section, MappingEntry[]>;
type Names<K extends string> = Record<K, string>;
type Billing = 'status' | 'plan' | 'mrr' | 'balance' | 'nextInvoiceDate' | 'delinquent';
type Invoice =
  'number' | 'status' | 'total' | 'amountDue' | 'amountPaid' | 'currency' | 'dueDate' | 'hostedUrl' | 'pdfUrl';
/** The names `targets.*` gives the fields the targets write (config.ts's TargetsConfig, as far as read here). */
export interface TargetsConfig {
  zendesk: {
    fields: Names<Billing | 'openInvoices'>;
    invoiceObject: { fields: Names<Invoice | 'organization' | 'user'> };
  };
  salesforce: {
    accountFields: Names<Billing | 'openTickets'>;
    invoice: { externalId: string; fields: Names<Invoice | 'account'> };
    ticket: {
      externalId: string;
      fields: Names<'account' | 'subject' | 'status' | 'priority' | 'category' | 'updatedAt'>;
    };
  };
}

/** What portal-sync writes without a `mapping:` section, as mapping entries (the same values: a test holds them equal). */
export function defaultMapping(targets: TargetsConfig): MappingConfig {
  const z = targets.zendesk.fields;
  const zi = targets.zendesk.invoiceObject.fields;
  const s = targets.salesforce.accountFields;
  const si = targets.salesforce.invoice.fields;
  const st = targets.salesforce.ticket.fields;
  const billing: MappingEntry[] = [
    { from: 'billing.status', to: z.status },
    { from: 'billing.plan', to: z.plan },
    { from: 'billing.mrr', to: z.mrr, transform: 'money' },
    { from: 'billing.balance', to: z.balance, transform: 'money' },
    { from: 'billing.nextInvoiceDate', to: z.nextInvoiceDate, transform: 'date' },
    { from: 'billing.delinquent', to: z.delinquent },
    { from: 'openInvoiceCount', to: z.openInvoices },
  ];
  const invoice = (f: typeof zi | typeof si): MappingEntry[] => [
    { from: 'invoice.number', to: f.number },
    { from: 'invoice.status', to: f.status },
    { from: 'invoice.total', to: f.total, transform: 'money' },
    { from: 'invoice.amountDue', to: f.amountDue, transform: 'money' },
    { from: 'invoice.amountPaid', to: f.amountPaid, transform: 'money' },
    { from: 'invoice.currency', to: f.currency },
    { from: 'invoice.dueDate', to: f.dueDate, transform: 'date' },
    { from: 'invoice.hostedInvoiceUrl', to: f.hostedUrl },
    { from: 'invoice.invoicePdf', to: f.pdfUrl },
  ];
  return {
    zendesk: { organizationFields: billing, userFields: billing, invoiceObject: invoice(zi) },
    salesforce: {
      accountFields: [
        { from: 'billing.status', to: s.status },
        { from: 'billing.plan', to: s.plan },
        { from: 'billing.mrr', to: s.mrr, transform: 'money' },
        { from: 'billing.balance', to: s.balance, transform: 'money' },
        { from: 'billing.nextInvoiceDate', to: s.nextInvoiceDate, transform: 'date' },
        { from: 'billing.delinquent', to: s.delinquent, transform: 'boolean' },
        { from: 'support.openTicketCount', to: s.openTickets },
      ],
      invoice: [{ from: 'invoice.id', to: targets.salesforce.invoice.externalId }, ...invoice(si)],
      ticket: [
        { from: 'ticket.id', to: targets.salesforce.ticket.externalId },
        { from: 'ticket.subject', to: st.subject },
        { from: 'ticket.status', to: st.status },
        { from: 'ticket.priority', to: st.priority },
        { from: 'ticket.category', to: st.category },
        { from: 'ticket.updatedAt', to: st.updatedAt },
      ],
    },
  };
}

/** Field names a section's built-in writes take (besides the default mapping's: the lookups to the Account, organization, user). */
function builtInNames(targets: TargetsConfig, section: Section): string[] {
  const own = (
    defaultMapping(targets)[SECTIONS.zendesk.includes(section as never) ? 'zendesk' : 'salesforce'] as Entries
  )[section].map((e) => e.to);
  if (section === 'invoiceObject')
    return [...own, targets.zendesk.invoiceObject.fields.organization, targets.zendesk.invoiceObject.fields.user];
  if (section === 'invoice') return [...own, targets.salesforce.invoice.fields.account];
  if (section === 'ticket') return [...own, targets.salesforce.ticket.fields.account];
  return own;
}

/** The `{from, to}` of each entry of a section that has them, whatever else is wrong with the mapping. */
function looseEntries(
  mapping: unknown,
  target: MappingTarget,
  section: Section,
): Array<{ i: number; to: string; from: string[] }> {
  const list = (mapping as Record<string, Record<string, unknown> | undefined> | undefined)?.[target]?.[section];
  if (!Array.isArray(list)) return [];
  return list.flatMap((e: unknown, i) => {
    const entry = e as { to?: unknown; from?: unknown } | null;
    if (typeof entry?.to !== 'string') return [];
    const from = (Array.isArray(entry.from) ? entry.from : [entry.from])
      .filter((p): p is string => typeof p === 'string')
      .map((p) => p.trim());
    return [{ i, to: entry.to, from }];
  });
}

/**
 * What the schema cannot see alone: a mapped field that a built-in write already fills (renamed in
 * `targets.*` instead), the same field mapped twice, and a Salesforce Account field read and written
 * by the mapping (it would write its own echo back). One problem line per entry, by key path. Reads
 * the mapping as given, so that these are named together with the schema's own problems.
 */
export function mappingProblems(mapping: unknown, targets: TargetsConfig): string[] {
  const problems: string[] = [];
  for (const target of Object.keys(SECTIONS) as MappingTarget[]) {
    for (const section of SECTIONS[target] as readonly Section[]) {
      const builtIn = new Set(builtInNames(targets, section));
      const seen = new Map<string, number>();
      for (const { i, to } of looseEntries(mapping, target, section)) {
        const at = `config mapping.${target}.${section}.${i}.to`;
        if (builtIn.has(to))
          problems.push(
            `${at}: ${to} is one of portal-sync's own fields (rename it under targets.${target} instead, or map to another field)`,
          );
        const first = seen.get(to);
        if (first !== undefined)
          problems.push(`${at}: ${to} is mapped already by mapping.${target}.${section}.${first}`);
        else seen.set(to, i);
      }
    }
  }
  // The same for Zendesk organization fields: those the mapping writes there, and the built-in billing fields.
  const organizationEntries = looseEntries(mapping, 'zendesk', 'organizationFields');
  const ownOnOrganization = new Set([
    ...organizationEntries.map((e) => e.to),
    ...Object.values(targets.zendesk.fields),
  ]);
  for (const target of Object.keys(SECTIONS) as MappingTarget[]) {
    for (const section of SECTIONS[target] as readonly Section[]) {
      for (const { i, from } of looseEntries(mapping, target, section)) {
        for (const p of from) {
          if (
            p.startsWith(SOURCE_PREFIXES.zendeskOrganization) &&
            ownOnOrganization.has(p.slice(SOURCE_PREFIXES.zendeskOrganization.length))
          ) {
            problems.push(
              `config mapping.${target}.${section}.${i}.from: ${p} is an organization field portal-sync writes: it would read back its own writes`,
            );
          }
        }
      }
    }
  }
  const accountEntries = looseEntries(mapping, 'salesforce', 'accountFields');
  const written = new Set(accountEntries.map((e) => e.to));
  for (const { i, from } of accountEntries) {
    for (const p of from) {
      if (
        p.startsWith(SOURCE_PREFIXES.salesforceAccount) &&
        written.has(p.slice(SOURCE_PREFIXES.salesforceAccount.length))
      ) {
        problems.push(
          `config mapping.salesforce.accountFields.${i}.from: ${p} is an Account field this mapping writes: it would read back its own writes`,
        );
      }
    }
  }
  return problems;
}

/** Source attributes the record keeps only because a mapping names them. */
export interface KeptAttributes {
  customerMetadata: string[];
  subscriptionMetadata: string[];
  trialEnd: boolean;
  /** Zendesk organization_fields keys. */
  organizationFields: string[];
}

export function keptAttributes(mapping: MappingConfig): KeptAttributes {
  const paths = (Object.keys(SECTIONS) as MappingTarget[]).flatMap((t) =>
    Object.values(mapping[t] as Entries)
      .flat()
      .flatMap(fromPaths),
  );
  const keys = (prefix: string) =>
    [...new Set(paths.filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length)))].sort();
  return {
    customerMetadata: keys(SOURCE_PREFIXES.stripeCustomerMetadata),
    subscriptionMetadata: keys(SOURCE_PREFIXES.stripeSubscriptionMetadata),
    trialEnd: paths.includes(STRIPE_TRIAL_END),
    organizationFields: keys(SOURCE_PREFIXES.zendeskOrganization),
  };
}
