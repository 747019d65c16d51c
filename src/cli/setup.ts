/**
 * `portal-sync setup zendesk|salesforce` — provisions the portal side: the
 * fields and objects the targets write to, under the names in
 * `targets.zendesk` / `targets.salesforce`.
 */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import type { Config } from '../config.js';
import { createSalesforceConnection } from '../connectors/salesforce/client.js';
import {
  SALESFORCE_PROJECT_DIR,
  SALESFORCE_SOURCE_DIR,
  packageGaps,
  readSalesforcePackage,
  salesforceSchema,
  verificationPassed,
  verifySalesforceSchema,
} from '../connectors/salesforce/setup.js';
import { createZendeskClient } from '../connectors/zendesk/client.js';
import { applyZendeskSetup, describeZendeskStep, planZendeskSetup } from '../connectors/zendesk/setup.js';
import { endUserObjects, ownRecordsRule } from '../connectors/zendesk/setup-access.js';
import { checkZendeskBrands, type ZendeskBrandCheck } from '../connectors/zendesk/brands.js';
import { printJson, requireConfig } from './connect.js';
import { UsageError } from './errors.js';
import { printText } from './terminal.js';

function zendeskClientOf(config: Config) {
  try {
    return createZendeskClient(config.zendesk);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

interface ZendeskSetupCliOptions {
  dryRun?: boolean;
  json?: boolean;
  endUserAccess?: boolean;
}

/** The access rule as it will be sent, for an admin to compare with Admin Center (its condition value is not in Zendesk's docs). */
function ruleNote(config: Config): string {
  const rules = endUserObjects(config.targets.zendesk).map(
    (o) => `  ${o.key}: ${JSON.stringify(ownRecordsRule(o.lookups).conditions)}`,
  );
  const off = config.targets.zendesk.statusObject.enabled
    ? ''
    : `\nnote: targets.zendesk.statusObject.enabled is false: set it to true so the status records are written (${config.targets.zendesk.statusObject.key})`;
  return `access rule conditions:\n${rules.join('\n')}${off}\n`;
}

async function setupZendesk(opts: ZendeskSetupCliOptions): Promise<void> {
  const config = requireConfig();
  const client = zendeskClientOf(config);
  const plan = await planZendeskSetup(client, config.targets.zendesk, {
    endUserAccess: opts.endUserAccess === true,
    mapping: config.mapping,
  });
  const missing = plan.filter((s) => s.state === 'missing');
  const steps =
    opts.dryRun || missing.length === 0
      ? plan
      : await applyZendeskSetup(client, config.targets.zendesk, plan, { mapping: config.mapping });
  const mismatched = steps.filter((s) => s.actualType !== undefined);
  // The brands zendesk.brands lists, as the account has them (read-only).
  const brands = await checkZendeskBrands(client, config.zendesk.brands ?? []);
  const wrongBrands = brands.filter((b) => b.problems.length > 0);
  if (mismatched.length > 0 || wrongBrands.length > 0) process.exitCode = 1;
  if (opts.json)
    return printJson({
      dryRun: opts.dryRun === true,
      steps,
      created: steps.filter((s) => s.state === 'created').length,
      brands,
    });

  const mark = { exists: 'exists ', missing: opts.dryRun ? 'create ' : 'missing', created: 'created' } as const;
  const lines = steps.map((s) => `  ${mark[s.state]}  ${describeZendeskStep(s)}`);
  const summary =
    missing.length === 0
      ? 'nothing to do: everything exists'
      : opts.dryRun
        ? `dry run: would create ${missing.length}; nothing was created`
        : `created ${missing.length}`;
  printText(
    `Zendesk at ${config.zendesk.baseUrl}:\n${lines.join('\n')}\n${summary}\n${opts.endUserAccess ? ruleNote(config) : ''}${brandLines(brands)}`,
  );
  if (mismatched.length > 0)
    process.stderr.write(`portal-sync: ${mismatched.length} field(s) have another type than the target writes\n`);
  if (wrongBrands.length > 0)
    process.stderr.write(
      `portal-sync: ${wrongBrands.length} brand(s) in zendesk.brands do not match the account: ${wrongBrands.map((b) => b.id).join(', ')}\n`,
    );
}

/** The brands zendesk.brands lists, each as the account has it; nothing when none is listed. */
function brandLines(brands: ZendeskBrandCheck[]): string {
  if (brands.length === 0) return '';
  const lines = brands.map((b) =>
    b.problems.length === 0
      ? `  ok       brand ${b.id} ${b.name ?? ''} (Help Center: ${b.hosts.join(', ') || 'none'})`
      : `  problem  brand ${b.id}${b.name ? ` ${b.name}` : ''}: ${b.problems.join('; ')}`,
  );
  return `Brands (zendesk.brands):\n${lines.join('\n')}\n`;
}

/** The source dir as the deploy command should name it: relative when run from inside the package. */
const shown = (dir: string) => {
  const rel = relative(process.cwd(), dir);
  return rel === '' || rel.startsWith('..') ? dir : rel;
};

function describePackage(config: Config, json: boolean | undefined): void {
  const pkg = readSalesforcePackage();
  const gaps = packageGaps(salesforceSchema(config.targets.salesforce, config.mapping), pkg);
  // `sf project deploy start` must run inside the project (the folder with sfdx-project.json).
  const deploy = `cd ${shown(SALESFORCE_PROJECT_DIR)} && sf project deploy start --source-dir ${relative(SALESFORCE_PROJECT_DIR, SALESFORCE_SOURCE_DIR)} --target-org <alias>`;
  const assign = 'sf org assign permset --name Portal_Sync --on-behalf-of <integration user> --target-org <alias>';
  if (gaps.length > 0) process.exitCode = 1;
  if (json) return printJson({ sourceDir: SALESFORCE_SOURCE_DIR, deploy, assign, objects: pkg, notInPackage: gaps });
  const lines = pkg.map((p) => `  ${p.object}${p.definesObject ? ' (custom object)' : ''}: ${p.fields.join(', ')}`);
  printText(
    `Salesforce metadata package (Salesforce DX source format): ${shown(SALESFORCE_SOURCE_DIR)}\n${lines.join('\n')}\n` +
      '  permission set Portal_Sync (the integration user): read/edit on what the target writes\n' +
      '  permission set Portal_Customer_View (site members): read on what the portal component shows; see docs/setup-salesforce.md\n\n' +
      `Deploy it, then give the integration user access:\n  ${deploy}\n  ${assign}\n` +
      'Then check the org: portal-sync setup salesforce --verify\n',
  );
  if (gaps.length > 0) {
    process.stderr.write(
      `portal-sync: configured in targets.salesforce or mapping.salesforce but not in the package (add metadata files for them): ${gaps.join(', ')}\n`,
    );
  }
}

async function verifySalesforce(config: Config, json: boolean | undefined): Promise<void> {
  let conn;
  try {
    conn = await createSalesforceConnection(config.salesforceAuth, config.salesforce.apiVersion);
  } catch (err) {
    // Missing credentials are a configuration problem (2); a refused login is a failure (1).
    if ((err as Error).message.includes('must be set') || (err as Error).message.startsWith('SALESFORCE_LOGIN_URL'))
      throw new UsageError((err as Error).message);
    throw err;
  }
  const results = await verifySalesforceSchema(conn, salesforceSchema(config.targets.salesforce, config.mapping));
  const ok = verificationPassed(results);
  if (!ok) process.exitCode = 1;
  if (json) return printJson({ ok, objects: results });
  const lines = results.map((r) => {
    if (!r.exists) return `  ${r.object}: object missing (${r.missing.join(', ')})`;
    const parts = [
      r.missing.length === 0 ? `all ${r.present.length} fields present` : `missing ${r.missing.join(', ')}`,
    ];
    if (r.notExternalId) parts.push(`${r.notExternalId} is not an External ID field`);
    return `  ${r.object}: ${parts.join('; ')}`;
  });
  printText(
    `Salesforce at ${conn.instanceUrl}:\n${lines.join('\n')}\n${ok ? 'all configured fields exist' : 'deploy the package: portal-sync setup salesforce'}\n`,
  );
}

export function registerSetupCommand(program: Command): void {
  const setup = program.command('setup').description(COMMANDS.setup.summary);
  setup
    .command('zendesk')
    .description('create the organization and user fields and the invoice custom object that are missing')
    .option('--dry-run', 'list what would be created; create nothing')
    .option(
      '--end-user-access',
      'also the status custom object, and access rules with end-user policies so a signed-in customer reads only their own invoices and status (plans without help center JWTs)',
    )
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ portal-sync setup zendesk --dry-run\n  $ portal-sync setup zendesk\n  $ portal-sync setup zendesk --end-user-access --dry-run\n',
    )
    .action((opts: ZendeskSetupCliOptions) => setupZendesk(opts));
  setup
    .command('salesforce')
    .description('show the metadata package and how to deploy it; --verify checks a live org')
    .option('--verify', 'describe Account and the custom objects; exit 1 when a configured field is missing')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  $ portal-sync setup salesforce\n  $ portal-sync setup salesforce --verify\n')
    .action(async (opts: { verify?: boolean; json?: boolean }) => {
      const config = requireConfig();
      if (opts.verify) return verifySalesforce(config, opts.json);
      describePackage(config, opts.json);
    });
}
