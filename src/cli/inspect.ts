/** `portal-sync inspect REF` — one normalized record, and with --explain where each part came from. */
import { connectRedis } from '../sync/redis/connection.js';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { parseStripeKey } from '../sync/events/identity.js';
import type { CustomerRecord, Stamp } from '../sync/events/record.js';
import { IdentityAdmin, type AuditEntry } from '../sync/admin/identity-admin.js';
import { findCustomer } from '../sync/admin/lookup.js';
import type { IdentityConflict } from '../sync/events/identity.js';
import { refusalsOf, type IdentityRefusal } from '../sync/events/identity-refusals.js';
import { RecordStore } from '../sync/events/store.js';
import { UsageError } from './errors.js';
import { billingLine, invoiceLine } from './money-text.js';
import { printText } from './terminal.js';

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** Every entity's stamp: which event (source, id, type, version) set it. */
export function lineage(record: CustomerRecord): Array<{ entity: string } & Stamp> {
  const rows: Array<{ entity: string } & Stamp> = [];
  const add = (entity: string, e: { stamp: Stamp } | null | undefined) => void (e && rows.push({ entity, ...e.stamp }));
  add('stripe.customer', record.stripe.customer);
  for (const [group, map] of [
    ['stripe.subscription', record.stripe.subscriptions],
    ['stripe.invoice', record.stripe.invoices],
    ['stripe.payment_method', record.stripe.paymentMethods],
    ['stripe.charge', record.stripe.charges],
    ['salesforce.contact', record.salesforce.contacts],
    ['zendesk.user', record.zendesk.users],
    ['zendesk.ticket', record.zendesk.tickets],
  ] as const) {
    for (const [id, e] of Object.entries(map)) add(`${group} ${id}`, e);
  }
  add('salesforce.account', record.salesforce.account);
  add('zendesk.organization', record.zendesk.organization);
  return rows.sort((a, b) => a.entity.localeCompare(b.entity));
}

/** The one record REF names (src/sync/admin/lookup.ts), or an error that says why not and, when several fit, lists them. */
export async function inspectRecord(
  store: RecordStore,
  ref: string,
): Promise<{ record: CustomerRecord; keys: string[] }> {
  const found = await findCustomer(store, ref);
  if (found.kind === 'none') throw new NotFoundError(found.message);
  if (found.kind === 'several') {
    const width = Math.max(...found.candidates.map((c) => c.id.length));
    throw new NotFoundError(
      `${found.message}:\n${found.candidates.map((c) => `  ${c.id.padEnd(width)}  ${c.name ?? '(no name)'}  (${c.via})`).join('\n')}`,
    );
  }
  // The whole customer, people kept beside the record included.
  const record = (await store.getFull(found.record.id)) ?? found.record;
  return { record, keys: await store.ownedKeys(record.id) };
}

/** How the record's identity came about: what links it, what was refused, which conflicts name it. */
export interface IdentityExplanation {
  linkedBy: string[];
  refused: IdentityRefusal[];
  conflicts: IdentityConflict[];
}

export async function explainIdentity(
  store: RecordStore,
  recordId: string,
  keys: string[],
): Promise<IdentityExplanation> {
  const [refused, conflicts] = await Promise.all([store.listRefusals(), store.listConflicts()]);
  return {
    linkedBy: keys,
    refused: refusalsOf(refused, recordId, keys),
    conflicts: conflicts.filter((c) => c.recordIds.includes(recordId)),
  };
}

function identityLines(x: IdentityExplanation): string[] {
  const out = [`  identity: linked by ${x.linkedBy.join(', ') || '(nothing)'}`];
  out.push(x.refused.length ? '  refused ids (linked nothing):' : '  refused ids: none');
  for (const r of x.refused)
    out.push(
      `    ${r.ref} ${JSON.stringify(r.value)}: ${r.reason} (event ${r.evidence.source} ${r.evidence.eventId} ${r.evidence.type})`,
    );
  out.push(
    x.conflicts.length ? '  identity conflicts (kept apart, `identity link` to join):' : '  identity conflicts: none',
  );
  for (const c of x.conflicts)
    out.push(
      `    ${c.recordIds.join(' vs ')}: ${c.keys.join(' vs ')} (via ${c.evidence.via}, event ${c.evidence.source} ${c.evidence.eventId})`,
    );
  return out;
}

/** The record's Stripe customer and the account it is in (its label when the account is listed), from its key. */
export function stripeAccountOf(
  keys: readonly string[],
  accounts: Config['stripe']['accounts'],
): { customerId: string; accountId: string | null; label: string | null } | null {
  const key = keys.map(parseStripeKey).find((k) => k !== null);
  if (!key) return null;
  const listed =
    accounts.find((a) => a.id === key.accountId) ??
    (key.accountId === null && accounts.length === 1 ? accounts[0] : undefined);
  return { ...key, label: listed?.label ?? null };
}

function printHuman(
  record: CustomerRecord,
  keys: string[],
  explain: boolean,
  audit: AuditEntry[],
  identity: IdentityExplanation | null,
  accounts: Config['stripe']['accounts'],
): void {
  const d = record.derived;
  const out: string[] = [`customer ${record.id}`, `  linked ids: ${keys.join(', ') || '(none)'}`];
  const stripe = stripeAccountOf(keys, accounts);
  if (stripe) {
    const where =
      stripe.accountId === null
        ? 'the single Stripe account'
        : `Stripe account ${stripe.accountId}${stripe.label ? ` (${stripe.label})` : ' (a connected account)'}`;
    out.push(`  stripe: ${stripe.customerId} in ${where}`);
  }
  if (d.profile)
    out.push(
      `  profile: ${d.profile.name ?? '(no name)'}, tier ${d.profile.tier ?? '-'}, owner ${d.profile.ownerId ?? '-'}`,
    );
  if (d.billing) out.push(`  ${billingLine(d.billing)}`);
  for (const i of d.invoices) out.push(`  ${invoiceLine(i)}`);
  if (d.support) out.push(`  support: ${d.support.openTicketCount} open ticket(s)`);
  for (const t of d.support?.tickets ?? [])
    out.push(
      `  ticket ${t.id}: ${t.status} (${t.priority ?? '-'}) ${t.subject ?? ''}${t.brandId ? ` [brand ${t.brandId}]` : ''}`,
    );
  const brands = [...new Set([...(d.support?.brandIds ?? []), ...(d.selfService.brandIds ?? [])])];
  if (brands.length > 0)
    out.push(
      `  Zendesk brands: ${brands.join(', ')} (tickets: ${d.support?.brandIds?.join(', ') || 'none'}; Help Center activity: ${d.selfService.brandIds?.join(', ') || 'none'})`,
    );
  if (explain) {
    out.push('  lineage:');
    for (const l of lineage(record))
      out.push(
        `    ${l.entity}: ${l.origin} ${l.type} ${l.eventId} version ${new Date(l.version).toISOString()}${l.deleted ? ' (deleted)' : ''}`,
      );
    out.push(audit.length ? '  manual identity changes:' : '  manual identity changes: none');
    for (const a of audit) out.push(`    ${a.at} ${a.action} ${a.keys.join(', ')} by ${a.by}: ${a.reason}`);
    if (identity) out.push(...identityLines(identity));
  }
  printText(`${out.join('\n')}\n`);
}

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('show one normalized customer record')
    .argument(
      '<ref>',
      'cust_… id, email, Stripe cus_… (acct_…:cus_… names the account)/sub_…/in_… or invoice number, Salesforce 001…/003… id, zendesk:org:ID, zendesk:user:ID, zendesk:ticket:ID, or the start of a name',
    )
    .option('--json', 'print the record as JSON')
    .option(
      '--explain',
      'show which event (source, id, version) set each part of the record, which ids link it and which were refused',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ portal-sync inspect cus_NffrFeUfNV2Hib\n  $ portal-sync inspect "acme"                 # a name, or its start; several matches are listed\n  $ portal-sync inspect in_1MtHbELkdIwHu7ix     # also sub_…, an invoice number, zendesk:ticket:ID\n  $ portal-sync inspect ann@example.com --explain\n  $ portal-sync inspect zendesk:org:360001 --json\n',
    )
    .action(async (ref: string, opts: { json?: boolean; explain?: boolean }) => {
      const loaded = loadConfig(process.env);
      if (!loaded.ok)
        throw new UsageError(
          `configuration has problems (run \`portal-sync config check\`): ${loaded.problems.join('; ')}`,
        );
      const redis = connectRedis(loaded.config.redis, 'admin');
      redis.on('error', () => undefined);
      try {
        const store = new RecordStore(redis, loaded.config.redis.prefix);
        const { record, keys } = await inspectRecord(store, ref);
        const audit = opts.explain ? await new IdentityAdmin(store, redis).audit(record.id) : [];
        const identity = opts.explain ? await explainIdentity(store, record.id, keys) : null;
        if (opts.json) {
          const stripe = stripeAccountOf(keys, loaded.config.stripe.accounts);
          const out = {
            id: record.id,
            keys,
            ...(stripe && { stripeAccount: { id: stripe.accountId, label: stripe.label } }),
            ...record.derived,
            ...(opts.explain ? { lineage: lineage(record), audit, identity } : {}),
          };
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        } else printHuman(record, keys, opts.explain ?? false, audit, identity, loaded.config.stripe.accounts);
      } finally {
        redis.disconnect();
      }
    });
}
