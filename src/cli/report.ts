/** `portal-sync report deflection` — what self-service achieved: text, JSON or a self-contained HTML page. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import type { DeflectionData } from '../sync/deflection/types.js';
import { createDeflectionData } from '../sync/deflection/store.js';
import { computeDeflectionReport } from '../sync/deflection/report.js';
import { renderDeflectionHtml } from '../sync/deflection/report-html.js';
import { parseSince, SinceError, type ReportPeriod } from '../sync/deflection/report-period.js';
import { renderDeflectionText } from '../sync/deflection/report-text.js';
import { TIME_GRAMMAR, warnPastRetention } from './time-options.js';
import { requireConfig, withDataRedis } from './connect.js';
import { UsageError } from './errors.js';
import { printText } from './terminal.js';
import { ALL_BRANDS, brandNames, resolveBrand, type BrandScope } from '../sync/events/brands.js';

const DAY_MS = 86_400_000;

interface DeflectionOptions {
  since: string;
  until?: string;
  json?: boolean;
  html?: string;
  /** A Zendesk brand id, or the name of a brand zendesk.brands lists. */
  brand?: string;
}

function periodFromSince(since: string, now = new Date(), until?: string): ReportPeriod {
  try {
    return parseSince(since, now, until);
  } catch (err) {
    if (err instanceof SinceError) throw new UsageError(`--${err.message}`);
    throw err;
  }
}

/** The brand --brand names, refused as bad usage when it is neither a brand id nor a listed brand's name. */
function brandOption(scope: BrandScope, given: string | undefined): string | null {
  if (given === undefined) return null;
  const brand = resolveBrand(scope, given);
  if (!brand)
    throw new UsageError(
      `--brand: ${JSON.stringify(given)} is neither a Zendesk brand id (a positive integer) nor the name of a brand in zendesk.brands`,
    );
  return brand.id;
}

/** The report over DeflectionData as the command prints it; with --html the page is written to its file. */
async function reportDeflection(
  data: DeflectionData,
  opts: DeflectionOptions,
  now = new Date(),
  brands: BrandScope = ALL_BRANDS,
): Promise<string> {
  if (opts.json && opts.html) throw new UsageError('choose one output: --json or --html FILE');
  const brand = brandOption(brands, opts.brand);
  const result = await computeDeflectionReport(data, periodFromSince(opts.since, now, opts.until), {
    brand,
    brandNames: brandNames(brands),
  });
  if (opts.json) return `${JSON.stringify(result, null, 2)}\n`;
  if (opts.html) {
    try {
      writeFileSync(opts.html, renderDeflectionHtml(result, { generatedAt: now }));
    } catch (err) {
      throw new Error(`cannot write ${opts.html}: ${(err as Error).message}`);
    }
    return `wrote ${opts.html}\n`;
  }
  return renderDeflectionText(result);
}

export function registerReportCommand(program: Command): void {
  const report = program.command('report').description(COMMANDS.report.summary);
  report
    .command('deflection')
    .description(
      'self-service sessions deflected or escalated, rates by category, portal adoption, searches with no result, the weekly trend',
    )
    .option('--since <when>', `start of the period: ${TIME_GRAMMAR}`, '30d')
    .option('--until <when>', 'end of the period, in the same grammar (default: now)')
    .option('--json', 'print as JSON')
    .option('--html <file>', 'write a self-contained HTML page (charts included) to FILE')
    .option(
      '--brand <id|name>',
      'only the sessions, searches and tickets of this Zendesk brand (an id, or a name listed in zendesk.brands)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ portal-sync report deflection\n  $ portal-sync report deflection --since 12w --html deflection.html\n' +
        '  $ portal-sync report deflection --since 2026-10-01 --until 2026-11-01 --json | jq .selfServiceResolutionRate\n' +
        '  $ portal-sync report deflection --brand 360000000001\n',
    )
    .action(async (opts: DeflectionOptions) => {
      // Bad usage is refused before connecting: no Redis wait for a typo.
      if (opts.json && opts.html) throw new UsageError('choose one output: --json or --html FILE');
      const now = new Date();
      const period = periodFromSince(opts.since, now, opts.until);
      const config = requireConfig();
      const brands: BrandScope = { listed: config.zendesk.brands ?? [] };
      brandOption(brands, opts.brand);
      warnPastRetention(
        period.from,
        now,
        config.deflection.historyDays * DAY_MS,
        'deflection sessions and tickets',
        'deflection.historyDays',
      );
      const out = await withDataRedis(config, (redis) =>
        reportDeflection(createDeflectionData(redis, config.redis.prefix), opts, now, brands),
      );
      if (opts.json)
        process.stdout.write(out); // JSON stays exact
      else printText(out);
    });
}
