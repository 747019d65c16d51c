/** `portal-sync config check` and `config reference`.
 * `config check` — every problem at once, by variable or key name. */
import type { StripeAccount } from '../config-stripe.js';
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import { loadConfig } from '../config.js';
import { problemEntry } from '../config-problems.js';
import { buildReference, REGENERATE_COMMAND, renderMarkdown, renderText } from '../config-reference.js';
import { printText } from './terminal.js';

/** What config check says of a Stripe account: never its key or secrets, only what it reads and receives. */
function accountSummary(a: StripeAccount): {
  label: string;
  id: string | null;
  mode: 'test' | 'live' | null;
  connect: boolean;
  reads: boolean;
  endpoints: string[];
} {
  const endpoints = [
    ...(a.webhookSecrets.length ? ['account'] : []),
    ...(a.connectWebhookSecrets.length ? ['connect'] : []),
  ];
  return { label: a.label, id: a.id, mode: a.mode, connect: a.connect, reads: a.secretKey !== undefined, endpoints };
}

function describeAccount(a: StripeAccount): string {
  const s = accountSummary(a);
  const parts = [
    s.mode ?? 'test and live',
    ...(s.connect ? ['Connect platform'] : []),
    s.reads ? 'API key' : 'no API key',
    ...(s.endpoints.length
      ? [`${s.endpoints.join(' and ')} endpoint${s.endpoints.length > 1 ? 's' : ''}`.replace('connect', 'Connect')]
      : ['no webhook secret']),
  ];
  return `${s.label} ${s.id ?? '(unnamed)'} (${parts.join(', ')})`;
}

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description(COMMANDS.config.summary);
  config
    .command('check')
    .description('validate environment variables and YAML config; print every problem at once (exit 2 if any)')
    .option('--json', 'print the result as JSON: {ok, problems: [{key, message}], warnings}')
    .addHelpText(
      'after',
      '\nExamples:\n  $ portal-sync config check\n  $ PORTAL_SYNC_CONFIG=./prod.yaml portal-sync config check --json\n',
    )
    .action((opts: { json?: boolean }) => {
      const result = loadConfig(process.env);
      if (opts.json) {
        const out = result.ok
          ? {
              ok: true,
              warnings: result.warnings,
              files: result.config.configFiles,
              stripeAccounts: result.config.stripe.accounts.map(accountSummary),
            }
          : { ok: false, problems: result.problems.map(problemEntry), warnings: result.warnings };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } else if (result.ok) {
        printText(`config ok (${result.config.configFiles.join(', ')})\n`);
        if (result.config.stripe.accountsListed)
          printText(`  Stripe accounts: ${result.config.stripe.accounts.map(describeAccount).join('; ')}\n`);
        for (const w of result.warnings) printText(`  note: ${w}\n`);
      } else {
        process.stderr.write(
          `config has ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}:\n`,
        );
        for (const p of result.problems) process.stderr.write(`  - ${p}\n`);
        for (const w of result.warnings) process.stderr.write(`  note: ${w}\n`);
      }
      process.exitCode = result.ok ? 0 : 2;
    });
  registerConfigReferenceCommand(config);
}

/** `portal-sync config reference` — every env variable and YAML key, generated from the schemas. */
function registerConfigReferenceCommand(config: Command): void {
  config
    .command('reference')
    .description(
      'print the configuration reference generated from the schemas: every env variable and YAML key, with defaults and constraints',
    )
    .option('--markdown', 'print Markdown (the content of docs/configuration.md)')
    .addHelpText('after', `\nExamples:\n  $ portal-sync config reference\n  $ ${REGENERATE_COMMAND}\n`)
    .action((opts: { markdown?: boolean }) => {
      const ref = buildReference();
      printText(opts.markdown ? renderMarkdown(ref) : renderText(ref));
    });
}
