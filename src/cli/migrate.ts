/**
 * `portal-sync migrate stripe-accounts` — the upgrade of a single-account deployment's Stripe keys
 * (`stripe:cus_…`) to account-scoped ones (`stripe:<acct_…>:cus_…`), resumable, safe beside a running daemon
 * (src/sync/admin/migrate-stripe-keys.ts). The account is --account, else STRIPE_ACCOUNT_ID, else read once
 * from Stripe (`GET /v1/account` with STRIPE_SECRET_KEY).
 */
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import { createStripeClient } from '../connectors/stripe/client.js';
import { readStripeAccountId } from '../connectors/stripe/accounts.js';
import type { Config } from '../config.js';
import { migrateStripeKeys } from '../sync/admin/migrate-stripe-keys.js';
import { RecordStore } from '../sync/events/store.js';
import { UsageError } from './errors.js';
import { printJson, requireConfig, withRedis } from './connect.js';
import { printText } from './terminal.js';

async function accountToMigrateTo(config: Config, given: string | undefined): Promise<{ id: string; from: string }> {
  if (given !== undefined) {
    if (!/^acct_[A-Za-z0-9]{1,64}$/.test(given))
      throw new UsageError(`--account: expected a Stripe account id, acct_…, got ${JSON.stringify(given)}`);
    return { id: given, from: '--account' };
  }
  if (config.stripe.accountsListed)
    throw new UsageError(
      '--account: required with stripe.accounts: name the account the single-account keys were written for',
    );
  const single = config.stripe.accounts[0];
  if (single?.id) return { id: single.id, from: 'STRIPE_ACCOUNT_ID' };
  if (!single?.secretKey)
    throw new UsageError('--account: required (or set STRIPE_ACCOUNT_ID, or STRIPE_SECRET_KEY to read it from Stripe)');
  return {
    id: await readStripeAccountId(createStripeClient({ ...config.stripe, secretKey: single.secretKey })),
    from: 'GET /v1/account',
  };
}

export function registerMigrateCommand(program: Command): void {
  const migrate = program.command('migrate').description(COMMANDS.migrate.summary);
  migrate
    .command('stripe-accounts')
    .description(
      'key Stripe customers by account (stripe:<acct_…>:cus_…) in records written by a single-account deployment',
    )
    .option(
      '--account <acct_…>',
      'the Stripe account the existing records are of (default: STRIPE_ACCOUNT_ID, else read from Stripe with STRIPE_SECRET_KEY)',
    )
    .option('--dry-run', 'count the keys that would move; change nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nResumable: run it again after an interruption and it moves what is left. Safe beside a running\n' +
        'daemon. Links are kept (records hold customer ids; only identity keys move). Then set\n' +
        'STRIPE_ACCOUNT_ID (or list the account in stripe.accounts). See docs/setup-stripe.md.\n' +
        '\nExamples:\n  $ portal-sync migrate stripe-accounts --dry-run\n  $ portal-sync migrate stripe-accounts --account acct_1Example\n',
    )
    .action(async (opts: { account?: string; dryRun?: boolean; json?: boolean }) => {
      const config = requireConfig();
      const account = await accountToMigrateTo(config, opts.account);
      const result = await withRedis(config, async (redis) => {
        const store = new RecordStore(redis, config.redis.prefix);
        try {
          return await migrateStripeKeys(redis, store, config.redis.prefix, account.id, {
            dryRun: opts.dryRun === true,
          });
        } finally {
          store.close();
        }
      });
      if (opts.json) printJson({ ...result, accountFrom: account.from, dryRun: opts.dryRun === true });
      else {
        const verb = opts.dryRun ? 'would move' : 'moved';
        const clashes = result.clashes.map(
          (c) =>
            `\n  left as it was: ${c.key} (record ${c.recordId}); ${account.id}'s key is record ${c.scopedOwner}'s — link or unlink them with portal-sync identity`,
        );
        printText(
          `Stripe keys ${verb} to ${account.id} (from ${account.from}): ${result.moved}${result.done ? ', none left' : ''}${clashes.join('')}\n`,
        );
        if (account.from === 'GET /v1/account' && !opts.dryRun) printText(`Now set STRIPE_ACCOUNT_ID=${account.id}\n`);
      }
      if (result.clashes.length > 0) process.exitCode = 1;
    });
}
