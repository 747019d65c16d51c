/** `portal-sync identity conflicts | refused | link REF REF | unlink REF ID | forget REF | restore ID` — identity problems, manual fixes and erasure, audited. */
import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { COMMANDS } from './commands.js';
import type { Redis } from 'ioredis';
import { createLogger } from '../log.js';
import type { Config } from '../config.js';
import { createPortalTarget } from '../connectors/targets.js';
import type { SweepResult } from '../sync/admin/erasure.js';
import { forgetByRef, restoreForgotten, withForgetDeps, type ForgetOutcome } from '../sync/admin/forget.js';
import { identityKeyOf, linkRefs, unlinkRef } from '../sync/admin/identity-refs.js';
import { DEFAULT_PORTAL_MODE, PORTAL_MODES, type PortalMode } from '../sync/admin/portal-clear.js';
import { IdentityAdmin } from '../sync/admin/identity-admin.js';
import { RecordStore } from '../sync/events/store.js';
import { printJson, requireConfig, withRedis } from './connect.js';
import { UsageError } from './errors.js';
import { portalReport } from './forget-portal.js';
import { printText } from './terminal.js';

/** The identity key an admin means (identityKeyOf), or bad usage. */
function identityKey(input: string): string {
  const found = identityKeyOf(input);
  if ('error' in found) throw new UsageError(found.error);
  return found.key;
}

const portalTargets = (config: Config) => config.portal.targets.map((name) => createPortalTarget(name, config));

const whoOf = (opts: { by?: string; reason: string }) => ({
  by: opts.by ?? process.env.PORTAL_SYNC_ADMIN ?? userInfo().username,
  reason: opts.reason,
});

async function withAdmin<T>(work: (store: RecordStore, admin: IdentityAdmin, redis: Redis) => Promise<T>): Promise<T> {
  const config = requireConfig();
  return withRedis(config, (redis) => {
    const store = new RecordStore(redis, config.redis.prefix);
    return work(store, new IdentityAdmin(store, redis), redis);
  });
}

const BY_HELP = 'who (default: $PORTAL_SYNC_ADMIN or the OS user)';

function registerConflicts(identity: Command): void {
  identity
    .command('conflicts')
    .description('list identity conflicts: records an event tried to join that carry different ids of one system')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const conflicts = await withAdmin((store) => store.listConflicts());
      if (opts.json) return printJson(conflicts);
      if (conflicts.length === 0) return void printText('no identity conflicts\n');
      for (const c of conflicts) {
        printText(
          `${c.recordIds.join(' vs ')}: ${c.keys.join(' vs ')} (event ${c.evidence.source} ${c.evidence.eventId} ${c.evidence.type}, via ${c.evidence.via})\n`,
        );
      }
    });
}

function registerRefused(identity: Command): void {
  identity
    .command('refused')
    .description(
      'list ids that linked nothing: placeholders and malformed cross-ids (N/A, 0, a bad checksum…), portal ids naming another customer',
    )
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const refusals = await withAdmin((store) => store.listRefusals());
      if (opts.json) return printJson(refusals);
      if (refusals.length === 0) return void printText('no refused ids\n');
      for (const r of refusals) {
        const where = r.recordId ? `record ${r.recordId}` : 'no record';
        printText(
          `${r.ref} ${JSON.stringify(r.value)}: ${r.reason}; ${where} (event ${r.evidence.source} ${r.evidence.eventId} ${r.evidence.type}, linked by ${r.keys.join(', ') || 'nothing'})\n`,
        );
      }
    });
}

function registerLink(identity: Command): void {
  identity
    .command('link')
    .description('merge two records that are one customer (refused if they hold different ids of one system)')
    .argument('<ref>', 'the record to keep')
    .argument('<other>', 'the record to merge into it')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--by <name>', BY_HELP)
    .addHelpText(
      'after',
      '\nExample:\n  $ portal-sync identity link cus_NffrFeUfNV2Hib 0015e00000AcmeEAAR --reason "same company, metadata missing (TICKET-123)"\n',
    )
    .action(async (ref: string, other: string, opts: { reason: string; by?: string }) => {
      const merged = await withAdmin((store, admin) => linkRefs(store, admin, ref, other, whoOf(opts)));
      printText(`linked: ${ref} and ${other} are now record ${merged.id}\n`);
    });
}

function registerUnlink(identity: Command): void {
  identity
    .command('unlink')
    .description('take one identity (and what came with it) out of a record, into a record of its own')
    .argument('<ref>', 'the record')
    .argument(
      '<id>',
      'the identity to take out: cus_…, 001…, 003…, zendesk:org:ID, zendesk:user:ID, an email, or a key like stripe:cus_…',
    )
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--by <name>', BY_HELP)
    .addHelpText(
      'after',
      '\nExample:\n  $ portal-sync identity unlink 0015e00000AcmeEAAR cus_WrongCustomer --reason "shared billing email, different company"\n',
    )
    .action(async (ref: string, id: string, opts: { reason: string; by?: string }) => {
      const key = identityKey(id);
      const out = await withAdmin((store, admin) => unlinkRef(store, admin, ref, key, whoOf(opts)));
      printText(
        out.moved
          ? `unlinked: ${key} is now record ${out.moved.id}; ${out.kept.id} keeps the rest\n`
          : `unlinked: ${key} no longer points at ${out.kept.id}\n`,
      );
    });
}

const FORGET_HELP =
  '\nErases, under REDIS_PREFIX: the record, its index and audit trail, deflection sessions, quarantined payloads,\n' +
  "outbound history and lanes, the targets' accepted-push state, and BullMQ jobs in any state that name the\n" +
  'customer (its emails in any case or escaping, its record id, its Stripe customer ids); audit entries keep a\n' +
  'keyed hash instead. Then it checks that no email of the customer is left anywhere under the prefix (exit 1 if\n' +
  'one is). For identity.forgetTombstoneDays (30 days by default) events that name the customer are dropped and\n' +
  'counted, so nothing pushes it again.\n' +
  '\n--portal keep (the default) leaves on the portals what portal-sync pushed there. --portal clear takes it back\n' +
  'on every PORTAL_TARGET: Zendesk: the billing organization fields (user fields, without an organization) set\n' +
  'to null, the portal_invoice records (and status records) deleted, the deflection events deleted with\n' +
  "portal-sync's own profile (found by email before the sweep; other sources' profiles stay); Salesforce: the\n" +
  'billing Account fields cleared, the Portal_Invoice__c, Support_Ticket__c and Portal_Deflection_Event__c\n' +
  'records deleted. The organization, Account and users stay, and nothing portal-sync did not write is touched.\n' +
  "Clearing deletes in the helpdesk and the CRM and cannot be undone, so it is asked for by name. Within the tombstone's days it can follow a keep, or be run again after\n" +
  'a failure (exit 1, naming the target and what failed): `identity forget ID --portal clear` with one identity\n' +
  'of the forgotten customer (an email, cus_…, 001…, zendesk:org:ID); what is already gone is skipped.\n' +
  "Run again with the customer's email (or cus_…), forget also sweeps the prefix for it once more.\n" +
  '\nExample:\n  $ portal-sync identity forget ann@example.com --reason "GDPR erasure request #4711" --yes --portal clear\n';

interface ForgetOptions {
  reason: string;
  by?: string;
  json?: boolean;
  portal: PortalMode;
}

/** What a forget printed: the portal report (its errors for stderr), and the keys that still hold the customer's email. */
interface ForgetPrinted {
  report: { out: string; err: string };
  remaining: string[];
}

/** The forget itself (src/sync/admin/forget.ts: withForgetDeps, forgetByRef). */
async function forgetByRefOf(config: Config, ref: string, opts: ForgetOptions): Promise<ForgetOutcome> {
  const portal = { mode: opts.portal, targets: portalTargets(config) };
  return withRedis(config, (redis) =>
    withForgetDeps(redis, config, portal, createLogger('silent'), (deps) =>
      forgetByRef(deps, ref, whoOf(opts), identityKey),
    ),
  );
}

const removed = (s: SweepResult) =>
  `removed ${s.jobsRemoved} job(s), ${s.keysDeleted} key(s), ${s.itemsRemoved} entr(ies)`;

/** A customer forgotten before: what was run again (sweep, portal clear). */
function printForgottenBefore(
  ref: string,
  again: NonNullable<ForgetOutcome['again']>,
  opts: ForgetOptions,
  rerun: string,
  days: number,
): ForgetPrinted {
  let report = { out: '', err: '' };
  if (again.portal === 'nothing-left') report.out = 'portal: nothing of it is left to clear\n';
  else if (again.portal !== null) report = portalReport(again.portal, rerun, days);
  if (opts.json)
    printJson({ forgottenBefore: true, ...again, portal: again.portal === 'nothing-left' ? null : again.portal });
  else
    printText(
      `${ref} was forgotten before${again.sweep ? `: swept again, ${removed(again.sweep)}` : ''}\n${report.out}`,
    );
  return { report, remaining: again.remaining };
}

/** A customer forgotten now: keys released, the sweep, the tombstone, subscribers told, the portals. */
function printForgotten(
  forgot: NonNullable<ForgetOutcome['forgot']>,
  opts: ForgetOptions,
  rerun: string,
  days: number,
): ForgetPrinted {
  const report = portalReport(forgot.portal, rerun, days);
  if (opts.json) printJson(forgot);
  else {
    const s = forgot.sweep;
    printText(
      `forgot ${forgot.recordId}: released ${forgot.keysReleased} identity key(s); ${removed(s)}; ` +
        `${s.pseudonymized} audit entr(ies) keep a hashed reference; events naming it are dropped for ${forgot.tombstoneDays} days (portal-sync identity restore lifts that)` +
        `${forgot.toldSubscribers ? '; customer.deleted sent to subscribers' : ''}\n` +
        report.out,
    );
  }
  return { report, remaining: forgot.remaining };
}

/** What a forget could not do, on stderr with exit code 1: a portal that failed, the email still found somewhere. */
function reportForgetLeftovers({ report, remaining }: ForgetPrinted): void {
  if (report.err) {
    process.stderr.write(report.err);
    process.exitCode = 1;
  }
  if (remaining.length > 0) {
    process.stderr.write(
      `portal-sync: the customer's email is still found in ${remaining.length} key(s) (a job being processed?): ${remaining.slice(0, 10).join(', ')}; ` +
        `run \`portal-sync identity forget EMAIL --reason … --yes\` again with the customer's email\n`,
    );
    process.exitCode = 1;
  }
}

function registerForget(identity: Command): void {
  identity
    .command('forget')
    .description(
      'erase a customer for good (an erasure request, or gone from every source): every copy in Redis, a tombstone, customer.deleted to subscribers, optionally what was pushed to the portals; audited',
    )
    .argument(
      '<ref>',
      'the record (REF as for inspect), or an identity of a customer forgotten before (run again: a sweep for its email or cus_…, and --portal clear)',
    )
    .requiredOption(
      '--reason <text>',
      'why (kept in the audit trail, which keeps only a hashed reference to the customer)',
    )
    .requiredOption('--yes', 'confirm: the record cannot be brought back except by `identity restore` and a resync')
    .addOption(
      new Option('--portal <mode>', 'what was pushed to the portal targets: clear (take it back) or keep')
        .choices([...PORTAL_MODES])
        .default(DEFAULT_PORTAL_MODE),
    )
    .option('--by <name>', BY_HELP)
    .option('--json', 'print the outcome as JSON')
    .addHelpText('after', FORGET_HELP)
    .action(async (ref: string, opts: ForgetOptions) => {
      const config = requireConfig();
      const rerun = `portal-sync identity forget ${ref} --portal clear --reason … --yes`;
      const out = await forgetByRefOf(config, ref, opts);
      const days = config.identity.forgetTombstoneDays;
      reportForgetLeftovers(
        out.again !== undefined
          ? printForgottenBefore(ref, out.again, opts, rerun, days)
          : printForgotten(out.forgot, opts, rerun, days),
      );
    });
}

function registerRestore(identity: Command): void {
  identity
    .command('restore')
    .description(
      'lift the tombstone of a forgotten customer, so that its events create a record again (resync to read it back)',
    )
    .argument('<id>', 'one identity the customer had: an email, cus_…, 001…, 003…, zendesk:org:ID, zendesk:user:ID')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--by <name>', BY_HELP)
    .addHelpText(
      'after',
      '\nExample:\n  $ portal-sync identity restore ann@example.com --reason "erasure request withdrawn (#4711)"\n',
    )
    .action(async (id: string, opts: { reason: string; by?: string }) => {
      const key = identityKey(id);
      const config = requireConfig();
      const lifted = await withRedis(config, (redis) => restoreForgotten(redis, config.redis.prefix, key, whoOf(opts)));
      if (lifted === 0) {
        process.stderr.write(
          `portal-sync: ${id} carries no tombstone (never forgotten here, or its ${config.identity.forgetTombstoneDays} days are over)\n`,
        );
        process.exitCode = 1;
        return;
      }
      printText(
        `restored: events naming ${id} are applied again (${lifted} identity key(s) lifted); \`portal-sync resync\` reads the customer back\n`,
      );
    });
}

export function registerIdentityCommand(program: Command): void {
  const identity = program.command('identity').description(COMMANDS.identity.summary);
  registerConflicts(identity);
  registerRefused(identity);
  registerLink(identity);
  registerUnlink(identity);
  registerForget(identity);
  registerRestore(identity);
}
