/**
 * `portal-sync` — the command line. Exit codes (docs/commands.md): 0 ok, 1
 * failed, 2 bad usage or configuration, 3 not running or nothing there.
 * Errors are one line (what, and what to do); a stack trace only with --verbose.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Help, type Option } from 'commander';
import { PACKAGE_ROOT } from '../config.js';
import { COMMANDS, invokedCommand, type CommandName } from './commands.js';
import { UsageError } from './errors.js';
import { forTerminal } from './terminal.js';

/** Each top-level command's module, imported when the command runs (commands.ts). */
const LOADERS: Record<CommandName, () => Promise<(program: Command) => void>> = {
  start: async () => (await import('./start.js')).registerStartCommand,
  config: async () => (await import('./config-check.js')).registerConfigCommand,
  inspect: async () => (await import('./inspect.js')).registerInspectCommand,
  status: async () => (await import('./status.js')).registerStatusCommand,
  resync: async () => (await import('./resync.js')).registerResyncCommand,
  reconcile: async () => (await import('./reconcile.js')).registerReconcileCommand,
  migrate: async () => (await import('./migrate.js')).registerMigrateCommand,
  dlq: async () => (await import('./dlq.js')).registerDlqCommand,
  identity: async () => (await import('./identity.js')).registerIdentityCommand,
  report: async () => (await import('./report.js')).registerReportCommand,
  setup: async () => (await import('./setup.js')).registerSetupCommand,
  webhooks: async () => (await import('./webhooks.js')).registerWebhooksCommand,
  demo: async () => (await import('./demo.js')).registerDemoCommand,
};

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The program, with the commands `load` names (all of them when left out) registered from their modules. Every
 * other command stands in with its name and summary alone (commands.ts): enough for the root help, and for
 * commander to name an unknown command's nearest match. `main` loads only the command argv runs.
 */
export async function buildProgram(
  load: readonly CommandName[] = Object.keys(COMMANDS) as CommandName[],
): Promise<Command> {
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
      // A top-level command is named as its module would have commander name it, loaded or not.
      subcommandTerm(this: Help, cmd: Command) {
        const top = cmd.parent?.parent === null && Object.hasOwn(COMMANDS, cmd.name());
        return top ? COMMANDS[cmd.name() as CommandName].term : Help.prototype.subcommandTerm.call(this, cmd);
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
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    if (load.includes(name)) (await LOADERS[name]())(program);
    else program.command(name).description(COMMANDS[name].summary);
  }
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const invoked = invokedCommand(argv);
  const program = await buildProgram(invoked === null ? [] : [invoked]);
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
