/**
 * `portal-sync` — the command line. Exit codes (docs/commands.md): 0 ok, 1
 * failed, 2 bad usage or configuration, 3 not running or nothing there.
 * Errors are one line (what, and what to do); a stack trace only with --verbose.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Help, type Option } from 'commander';
import { PACKAGE_ROOT } from '../config.js';
import { registerConfigCommand } from './config-check.js';
import { registerDemoCommand } from './demo.js';
import { UsageError } from './errors.js';
import { forTerminal } from './terminal.js';
import { registerDlqCommand } from './dlq.js';
import { registerIdentityCommand } from './identity.js';
import { registerInspectCommand } from './inspect.js';
import { registerMigrateCommand } from './migrate.js';
import { registerReportCommand } from './report.js';
import { registerResyncCommand } from './resync.js';
import { registerReconcileCommand } from './reconcile.js';
import { registerSetupCommand } from './setup.js';
import { registerStartCommand } from './start.js';
import { registerStatusCommand } from './status.js';
import { registerWebhooksCommand } from './webhooks.js';

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command('portal-sync')
    .description(
      'Sync daemon: Stripe, Salesforce and Zendesk webhooks into one normalized customer record,\n' +
        'pushed into a Zendesk Help Center or Salesforce Experience Cloud portal.',
    )
    .version(packageVersion(), '-V, --version', 'print the version of portal-sync')
    .option('--verbose', 'print stack traces of errors')
    // Required options say so in every --help (commander marks them only when they are missing).
    .configureHelp({
      optionDescription(this: Help, option: Option) {
        return `${Help.prototype.optionDescription.call(this, option)}${option.mandatory ? ' (required)' : ''}`;
      },
    })
    // Set before the subcommands are added: commander copies these settings into each of them.
    .exitOverride()
    .configureOutput({ writeErr: (str) => process.stderr.write(str) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nConfiguration: environment variables (see config/example.env; a .env file in the\n' +
        'working directory is read first) and config/default.yaml (override with PORTAL_SYNC_CONFIG).\n' +
        '\nExamples:\n  $ portal-sync demo\n  $ portal-sync start\n  $ portal-sync config check\n  $ portal-sync inspect ann@example.com --explain\n',
    );
  registerStartCommand(program);
  registerConfigCommand(program);
  registerInspectCommand(program);
  registerStatusCommand(program);
  registerResyncCommand(program);
  registerReconcileCommand(program);
  registerMigrateCommand(program);
  registerDlqCommand(program);
  registerIdentityCommand(program);
  registerReportCommand(program);
  registerSetupCommand(program);
  registerWebhooksCommand(program);
  registerDemoCommand(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    const verbose = argv.includes('--verbose');
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`portal-sync: ${forTerminal(message)}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
