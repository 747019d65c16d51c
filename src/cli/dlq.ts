/**
 * `portal-sync dlq list | replay | purge` — the dead letters (sync/admin/dead-letters): jobs that failed
 * for good and payloads quarantined at the edge because they failed their schema. Replay puts a job back
 * in its queue, or parses a quarantined payload again with today's parsers and enqueues it.
 */
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import type { Config } from '../config.js';
import { reparseQuarantined } from '../connectors/reparse.js';
import {
  listDeadLetters,
  openDeadLetters,
  purgeDeadLetters,
  replayDeadLetters,
  type DeadLetter,
  type DeadLetters,
} from '../sync/admin/dead-letters.js';
import { MAX_BACK_DAYS } from '../sync/time-window.js';
import { printJson, requireConfig, withDataRedis, withRedis } from './connect.js';
import { UsageError } from './errors.js';
import { printText } from './terminal.js';
import { TIME_GRAMMAR, timeWindowOption } from './time-options.js';

/** One aligned row a letter: when, queue, source, event id (or customer), the id to replay, why. */
function deadLetterTable(letters: DeadLetter[]): string {
  const rows = [['DEAD-LETTERED', 'QUEUE', 'SOURCE', 'EVENT', 'ID (for dlq replay --id)', 'REASON']];
  for (const l of letters)
    rows.push([
      l.at,
      l.queue,
      l.source ?? '-',
      l.eventId ?? (l.customerId ? `customer ${l.customerId}` : '-'),
      l.id,
      l.reason,
    ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') +
    '\n'
  );
}

const wholeNumber =
  (flag: string, min: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min)
      throw new UsageError(`${flag} must be a whole number of at least ${min} (got ${value})`);
    return n;
  };

export function registerDlqCommand(program: Command): void {
  const dlq = program.command('dlq').description(COMMANDS.dlq.summary);
  const run = <T>(work: (d: DeadLetters, config: Config) => Promise<T>, readOnly = false) => {
    const config = requireConfig();
    return (readOnly ? withDataRedis : withRedis)(config, async (redis) => {
      const d = openDeadLetters(redis, config, readOnly);
      try {
        return await work(d, config);
      } finally {
        await d.close();
      }
    });
  };
  dlq
    .command('list')
    .description(
      'list dead-lettered jobs and quarantined payloads with their source, event id and reason, newest first, a page at a time',
    )
    .option('--since <when>', `only those dead-lettered since then: ${TIME_GRAMMAR}`)
    .option('--until <when>', 'only those dead-lettered before then, in the same grammar')
    .option('--limit <n>', 'how many to show, newest first', wholeNumber('--limit', 1), 100)
    .option('--offset <n>', 'how many of the newest to skip (the next page)', wholeNumber('--offset', 0), 0)
    .option('--json', 'print the page as JSON')
    .addHelpText(
      'after',
      '\nFailed jobs are kept until replayed or purged; quarantine keeps the newest quarantine.maxEntries payloads (quarantine.maxBytes of bodies).\n\nExamples:\n  $ portal-sync dlq list --since 24h\n  $ portal-sync dlq list --limit 20 --offset 20\n  $ portal-sync dlq list --since 2026-11-01 --until 2026-11-08 --json\n',
    )
    .action(async (opts: { since?: string; until?: string; json?: boolean; limit: number; offset: number }) => {
      const window =
        opts.since === undefined && opts.until === undefined
          ? null
          : timeWindowOption(opts, new Date(), `${MAX_BACK_DAYS}d`);
      const page = await run(
        (d) => listDeadLetters(d, { offset: opts.offset, limit: opts.limit, ...(window && { window }) }),
        true,
      );
      if (opts.json) return printJson(page.letters);
      if (page.letters.length === 0) {
        const none = window
          ? `no dead letters between ${window.from.toISOString()} and ${window.to.toISOString()}`
          : 'no dead letters';
        printText(
          page.total === 0 ? `${none}\n` : `no dead letters past the ${opts.offset} newest (${page.total} in all)\n`,
        );
      } else printText(deadLetterTable(page.letters));
      const shown = page.offset + page.letters.length;
      if (page.letters.length > 0 && shown < page.total)
        printText(
          `showing ${page.offset + 1}–${shown} of ${page.total}, newest first; next page: portal-sync dlq list --offset ${shown}\n`,
        );
      if (page.evicted > 0)
        printText(
          `${page.evicted} quarantined payload(s) were evicted, oldest first, to stay within quarantine.maxEntries / quarantine.maxBytes\n`,
        );
    });
  dlq
    .command('replay')
    .description('put dead-lettered jobs back in their queue; parse quarantined payloads again and enqueue them')
    .option('--id <id...>', 'the dead letters to replay (ids from `dlq list`)')
    .option('--all', 'replay every dead letter')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ portal-sync dlq replay --id stripe-evt_1NG8Du2eZvKYlo2C\n  $ portal-sync dlq replay --all\n',
    )
    .action(async (opts: { id?: string[]; all?: boolean; json?: boolean }) => {
      if (!opts.all && !opts.id?.length)
        throw new UsageError('say which dead letters to replay: --id ID [ID…] or --all');
      const results = await run((d, config) =>
        replayDeadLetters(d, (entry) => reparseQuarantined(entry, config), opts.all ? 'all' : new Set(opts.id)),
      );
      if (opts.json) return printJson(results);
      for (const r of results) printText(`${r.id}: ${r.outcome}\n`);
      if (results.some((r) => r.outcome.startsWith('not found') || r.outcome.startsWith('still invalid')))
        process.exitCode = 1;
    });
  dlq
    .command('purge')
    .description('delete every dead letter (failed jobs and quarantined payloads) for good')
    .requiredOption('--yes', 'confirm: this cannot be undone')
    .action(async () => {
      const n = await run(purgeDeadLetters);
      printText(`purged ${n} dead letter(s)\n`);
    });
}
