/** `portal-sync identity conflicts | link REF REF | unlink REF ID` — manual identity fixes, audited. */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { IdentityAdmin } from '../sync/identity-admin.js';
import { parseCustomerRef } from '../sync/refs.js';
import { RecordStore } from '../sync/store.js';
import { printJson, requireConfig, withRedis } from './connect.js';
import { UsageError } from './errors.js';
import { inspectRecord } from './inspect.js';
import { printText } from './terminal.js';

function identityKey(input: string): string {
  if (/^(stripe|sfacct|sfcontact|zdorg|zduser|email):.+/.test(input)) return input;
  const ref = parseCustomerRef(input);
  if ('error' in ref) throw new UsageError(ref.error);
  if (ref.kind === 'id') throw new UsageError(`${input} is a record id; name the identity to unlink (cus_…, 001…, zendesk:org:ID, an email…)`);
  return ref.key;
}

const whoOf = (opts: { by?: string; reason: string }) => ({ by: opts.by ?? process.env.PORTAL_SYNC_ADMIN ?? userInfo().username, reason: opts.reason });

async function withAdmin<T>(work: (store: RecordStore, admin: IdentityAdmin, redis: Redis) => Promise<T>): Promise<T> {
  const config = requireConfig();
  return withRedis(config, (redis) => {
    const store = new RecordStore(redis, config.redis.prefix);
    return work(store, new IdentityAdmin(store, redis), redis);
  });
}

export function registerIdentityCommand(program: Command): void {
  const identity = program.command('identity').description('identity conflicts and manual links, kept in an audit trail');
  identity
    .command('conflicts')
    .description('list identity conflicts: records an event tried to join that carry different ids of one system')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }) => {
      const conflicts = await withAdmin((store) => store.listConflicts());
      if (opts.json) return printJson(conflicts);
      if (conflicts.length === 0) return void printText('no identity conflicts\n');
      for (const c of conflicts) {
        printText(`${c.recordIds.join(' vs ')}: ${c.keys.join(' vs ')} (event ${c.evidence.source} ${c.evidence.eventId} ${c.evidence.type}, via ${c.evidence.via})\n`);
      }
    });
  identity
    .command('link')
    .description('merge two records that are one customer (refused if they hold different ids of one system)')
    .argument('<ref>', 'the record to keep')
    .argument('<other>', 'the record to merge into it')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--by <name>', 'who (default: $PORTAL_SYNC_ADMIN or the OS user)')
    .addHelpText('after', '\nExample:\n  $ portal-sync identity link cus_NffrFeUfNV2Hib 0015e00000AcmeE2EA --reason "same company, metadata missing (TICKET-123)"\n')
    .action(async (ref: string, other: string, opts: { reason: string; by?: string }) => {
      const merged = await withAdmin(async (store, admin) => {
        const [a, b] = [await inspectRecord(store, ref), await inspectRecord(store, other)];
        return admin.link(a.record.id, b.record.id, whoOf(opts));
      });
      printText(`linked: ${ref} and ${other} are now record ${merged.id}\n`);
    });
  identity
    .command('unlink')
    .description('take one identity (and what came with it) out of a record, into a record of its own')
    .argument('<ref>', 'the record')
    .argument('<id>', 'the identity to take out: cus_…, 001…, 003…, zendesk:org:ID, zendesk:user:ID, an email, or a key like stripe:cus_…')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .option('--by <name>', 'who (default: $PORTAL_SYNC_ADMIN or the OS user)')
    .addHelpText('after', '\nExample:\n  $ portal-sync identity unlink 0015e00000AcmeE2EA cus_WrongCustomer --reason "shared billing email, different company"\n')
    .action(async (ref: string, id: string, opts: { reason: string; by?: string }) => {
      const key = identityKey(id);
      const out = await withAdmin(async (store, admin) => admin.unlink((await inspectRecord(store, ref)).record.id, key, whoOf(opts)));
      printText(out.moved ? `unlinked: ${key} is now record ${out.moved.id}; ${out.kept.id} keeps the rest\n` : `unlinked: ${key} no longer points at ${out.kept.id}\n`);
    });
  identity
    .command('forget')
    .description('delete a customer record for good (e.g. gone from every source, or an erasure request); audited')
    .argument('<ref>', 'the record')
    .requiredOption('--reason <text>', 'why (kept in the audit trail)')
    .requiredOption('--yes', 'confirm: the record cannot be brought back except by a resync')
    .option('--by <name>', 'who (default: $PORTAL_SYNC_ADMIN or the OS user)')
    .action(async (ref: string, opts: { reason: string; by?: string }) => {
      const out = await withAdmin(async (store, admin) => {
        const id = (await inspectRecord(store, ref)).record.id;
        return { id, ...(await admin.forget(id, whoOf(opts))) };
      });
      printText(`forgot ${out.id}; released ${out.keys.join(', ') || 'no identity keys'}\n`);
    });
}
