/**
 * `portal-sync inspect REF` — one normalized record, and with --explain where each part came from; the
 * reading is src/sync/admin/inspect.ts, this file parses the flags and prints.
 */
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import { inspectCustomer, type IdentityExplanation, type Inspection } from '../sync/admin/inspect.js';
import { connectRedis } from '../sync/redis/connection.js';
import { RecordStore } from '../sync/events/store.js';
import { printJson, requireConfig } from './connect.js';
import { billingLine, invoiceLine } from './money-text.js';
import { printText } from './terminal.js';

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

function printHuman({ record, keys, stripe, explained }: Inspection): void {
  const d = record.derived;
  const out: string[] = [`customer ${record.id}`, `  linked ids: ${keys.join(', ') || '(none)'}`];
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
  if (explained) {
    const { audit, identity } = explained;
    out.push('  lineage:');
    for (const l of explained.lineage)
      out.push(
        `    ${l.entity}: ${l.origin} ${l.type} ${l.eventId} version ${new Date(l.version).toISOString()}${l.deleted ? ' (deleted)' : ''}`,
      );
    out.push(audit.length ? '  manual identity changes:' : '  manual identity changes: none');
    for (const a of audit) out.push(`    ${a.at} ${a.action} ${a.keys.join(', ')} by ${a.by}: ${a.reason}`);
    out.push(...identityLines(identity));
  }
  printText(`${out.join('\n')}\n`);
}

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description(COMMANDS.inspect.summary)
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
      const config = requireConfig();
      const redis = connectRedis(config.redis, 'admin');
      redis.on('error', () => undefined);
      try {
        const store = new RecordStore(redis, config.redis.prefix);
        const inspection = await inspectCustomer(redis, store, ref, {
          explain: opts.explain === true,
          stripeAccounts: config.stripe.accounts,
        });
        if (opts.json) {
          const { record, keys, stripe, explained } = inspection;
          printJson({
            id: record.id,
            keys,
            ...(stripe && { stripeAccount: { id: stripe.accountId, label: stripe.label } }),
            ...record.derived,
            ...explained,
          });
        } else printHuman(inspection);
      } finally {
        redis.disconnect();
      }
    });
}
