/** `portal-sync reconcile` — one reconcile pass now (the worker role runs one every `reconcile.everyMs`). */
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import { CREDENTIALS } from '../connectors/resync.js';
import { describeSourceFailure, failedSources, type ReconcileReport } from '../sync/resync/reconcile.js';
import { reconcileOnce } from '../worker-role.js';
import { printJson, requireConfig, withRedis } from './connect.js';
import { printText } from './terminal.js';

function describeReconcile(r: ReconcileReport): string {
  const sources = Object.entries(r.sources).map(([s, x]) =>
    x.error !== undefined
      ? `${describeSourceFailure(s, x)} (nothing read since ${x.since})`
      : `${s} read ${x.read} since ${x.since}, drift ${x.drift}`,
  );
  const ids =
    r.driftIds.length > 0
      ? `\n  drifted: ${r.driftIds.slice(0, 20).join(', ')}${r.drift > 20 ? ` … (${r.drift} in all)` : ''}`
      : '';
  return `reconcile at ${r.startedAt}: drift ${r.drift} in ${r.seconds.toFixed(1)} s\n  ${sources.join('\n  ') || 'no source configured'}${ids}`;
}

export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description(COMMANDS.reconcile.summary)
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nThe worker role runs a pass every reconcile.everyMs (default hourly); this runs one now.\n' +
        'Drift (objects the records were missing) is fed through the events queue, which the\n' +
        "daemon's worker applies. Exit 1 when a configured source could not be read, or when none is configured.\n" +
        '\nExamples:\n  $ portal-sync reconcile\n  $ portal-sync reconcile --json | jq .drift\n',
    )
    .action(async (opts: { json?: boolean }) => {
      const config = requireConfig();
      const report = await withRedis(config, async (redis) => {
        const done = await reconcileOnce(config, redis);
        if (done === null)
          throw new Error(`no source to reconcile: configure ${Object.values(CREDENTIALS).join(', or ')}`);
        return done;
      });
      if (opts.json) printJson(report);
      else printText(`${describeReconcile(report)}\n`);
      if (failedSources(report).length > 0) process.exitCode = 1;
    });
}
