/**
 * `portal-sync resync` — read the sources again and feed what they hold
 * through the same queue and merge as webhooks, behind real-time work.
 *
 * Safe during an incident: snapshots never overwrite newer webhook data
 * (the merge orders by the objects' own versions), reading pauses while the
 * queue is busy, `--dry-run` stores and pushes nothing, and a run that is
 * killed continues from its last finished page with `--resume`.
 */
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import {
  createCustomerStreams,
  createSnapshotStreams,
  RESYNC_SOURCES,
  type ResyncSource,
} from '../connectors/resync.js';
import { createLogger, type Logger } from '../log.js';
import { runResync, type ResyncSummary } from '../sync/resync/runner.js';
import type { ResyncParams } from '../sync/resync/runs.js';
import { startResyncRun } from '../sync/admin/resync-run.js';
import type { SnapshotStream } from '../sync/resync/snapshot.js';
import { RecordStore } from '../sync/events/store.js';
import { targetCallGate } from '../sync/push/call-gate.js';
import { customerToResync, previewResync } from '../sync/admin/resync-preview.js';
import { UsageError } from './errors.js';
import { progressReporter, type ProgressReporter } from './resync-progress.js';
import { TIME_GRAMMAR, timeWindowOption } from './time-options.js';
import { printJson, requireConfig, withRedis } from './connect.js';
import { printText } from './terminal.js';

interface ResyncOptions {
  source?: string;
  since?: string;
  customer?: string;
  dryRun?: boolean;
  resume?: boolean;
  wait: boolean;
  json?: boolean;
  progress: boolean;
}

const once = (f: () => void) => {
  let done = false;
  return () => {
    if (!done) f();
    done = true;
  };
};

function parseSources(value: string | undefined): ResyncSource[] {
  if (value === undefined) return [...RESYNC_SOURCES];
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !(RESYNC_SOURCES as readonly string[]).includes(n));
  if (bad.length > 0 || names.length === 0)
    throw new UsageError(`--source: expected ${RESYNC_SOURCES.join(', ')} (comma-separated), got "${value}"`);
  return [...new Set(names)] as ResyncSource[];
}

function summaryLine(s: ResyncSummary): string {
  const c = s.counts;
  return (
    `resync ${s.runId}: read ${c.read}, queued ${c.enqueued}, changed ${c.changed}, unchanged ${c.unchanged}, ` +
    `conflicts ${c.conflicts}, failed ${c.failed}, rejected ${c.rejected} in ${s.seconds.toFixed(1)} s` +
    (s.complete
      ? ''
      : ` — the worker has not applied ${c.enqueued - c.applied - c.failed} yet (is the daemon running? see portal-sync status)`)
  );
}

/** Zendesk reads pass the Zendesk target's rate gate in Redis: the account has one API budget for reads and pushes. */
async function streamsFor(
  config: Config,
  redis: Redis,
  store: RecordStore,
  params: ResyncParams,
  warn: (m: string) => void,
  bars?: ProgressReporter,
): Promise<SnapshotStream[]> {
  const sources = params.sources as ResyncSource[];
  const gate = targetCallGate(redis, config.redis.prefix, 'zendesk', config.targets.zendesk.rate);
  if (params.customer !== null) {
    const { recordId, ids } = await customerToResync(store, params.customer);
    const streams = await createCustomerStreams(config, ids, { sources, zendeskGate: gate });
    if (streams.length === 0)
      throw new UsageError(
        `customer ${recordId} has no id in a configured source among ${sources.join(', ')}: nothing to read`,
      );
    return streams;
  }
  return createSnapshotStreams(config, {
    sources,
    since: params.since ? new Date(params.since) : null,
    warn,
    zendeskGate: gate,
    ...(bars && { onWait: (w) => bars.wait(w) }),
  });
}

async function dryRun(
  config: Config,
  redis: Redis,
  params: ResyncParams,
  logger: Logger,
  json: boolean,
  signal: AbortSignal,
): Promise<void> {
  const store = new RecordStore(redis, config.redis.prefix);
  const streams = await streamsFor(config, redis, store, params, (m) => logger.warn(m));
  const { read, customers: rows } = await previewResync(redis, store, config, streams, signal);
  if (json) return printJson({ dryRun: true, read, customers: rows });
  const out = rows.map(
    (d) =>
      `${d.customerId ?? `new customer (${d.ref})`}:\n${d.changes.map((c) => `  ${c.field}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`).join('\n')}`,
  );
  out.push(
    `dry run: read ${read} object(s); ${rows.length} customer(s) would change on the portal; nothing was stored or pushed`,
  );
  printText(`${out.join('\n')}\n`);
}

async function resync(opts: ResyncOptions): Promise<void> {
  const config = requireConfig();
  const logger = createLogger(opts.json ? 'warn' : config.logLevel === 'silent' ? 'silent' : 'warn');
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await withRedis(config, async (redis) => {
      let params: ResyncParams | 'resume' = 'resume';
      if (opts.resume) {
        if (opts.source || opts.since || opts.customer || opts.dryRun)
          throw new UsageError('--resume continues the last run with its own options: give no other selection');
      } else {
        const since =
          opts.since === undefined ? null : timeWindowOption({ since: opts.since }, new Date(), opts.since).from;
        params = {
          sources: parseSources(opts.source),
          since: since?.toISOString() ?? null,
          customer: opts.customer ?? null,
          dryRun: Boolean(opts.dryRun),
        };
        if (params.dryRun) return dryRun(config, redis, params, logger, Boolean(opts.json), abort.signal);
      }
      const run = await startResyncRun(redis, config.redis.prefix, params);
      if (!run) throw new UsageError('no unfinished resync to resume (portal-sync resync starts a new one)');
      const { runId } = run;
      if (opts.resume)
        say(
          `resync: resuming ${runId} (${run.params.sources.join(', ')}${run.params.since ? ` since ${run.params.since}` : ''}); finished pages are not read again`,
        );
      try {
        if (opts.wait && run.workers === 0) {
          say(
            'resync: no worker is consuming the events queue yet; snapshots wait in the queue until one runs (portal-sync start)',
          );
        }
        const store = new RecordStore(redis, config.redis.prefix);
        const bars = progressReporter(opts.progress, {
          isTTY: Boolean(process.stderr.isTTY),
          line: say,
          now: Date.now,
        });
        const streams = await streamsFor(config, redis, store, run.params, say, bars);
        let summary: ResyncSummary;
        try {
          summary = await runResync({
            runs: run.runs,
            runId,
            queue: run.queue,
            streams,
            logger,
            maxBacklog: config.resync.maxBacklog,
            waitForApply: opts.wait,
            onProgress: (p) => bars.update(p),
            onWait: (w) => bars.wait(w),
            signal: abort.signal,
            onWaitingForLease: once(() =>
              say(
                `resync: run ${runId} is held by another process (or one killed moments ago); waiting for its lease to lapse`,
              ),
            ),
          });
        } finally {
          bars.stop();
        }
        if (opts.json) printJson(summary);
        else printText(`${summaryLine(summary)}\n`);
        if (!summary.complete) process.exitCode = 1;
      } finally {
        await run.close();
      }
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerResyncCommand(program: Command): void {
  program
    .command('resync')
    .description(COMMANDS.resync.summary)
    .option('--source <names>', `only these sources, comma-separated (${RESYNC_SOURCES.join(', ')})`)
    .option('--since <when>', `only objects changed since then: ${TIME_GRAMMAR} (Stripe: its Events API, 30 days)`)
    .option(
      '--customer <ref>',
      'one customer, fetched fresh from every source that holds an id of it (REF as for inspect)',
    )
    .option(
      '--dry-run',
      'print, per customer, the portal fields that would change (and the mapped fields a changed field mapping would write); store and push nothing',
    )
    .option('--resume', 'continue the newest unfinished resync from its checkpoints')
    .option('--no-wait', 'return once everything is queued instead of waiting for the worker to apply it')
    .option('--no-progress', 'no progress bars or progress lines')
    .option('--json', 'print the summary (or the dry run) as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ portal-sync resync                                   # everything, every configured source\n' +
        '  $ portal-sync resync --source zendesk --since 2026-11-20T00:00:00Z\n' +
        '  $ portal-sync resync --source stripe --since 24h\n' +
        '  $ portal-sync resync --customer ann@example.com       # one customer, fresh\n' +
        '  $ portal-sync resync --since 2026-11-22 --dry-run      # what would change, per customer\n' +
        '  $ portal-sync resync --resume                          # after an interrupted run\n' +
        "\nThe daemon's worker applies the snapshots (start it first); the summary counts\n" +
        'what it changed. Exit 1 when reading failed or the worker did not finish.\n',
    )
    .action(async (opts: ResyncOptions) => resync(opts));
}
