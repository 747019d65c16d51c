/** `portal-sync status` — queue depths, lag, dead letters, quarantine and identity conflicts, as read by sync/admin/status. */
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import { readStatus, RATE_WINDOW_MINUTES, type QueueStatus, type Status } from '../sync/admin/status.js';
import { setupCheckFailing, type SetupCheck } from '../sync/push/setup-check.js';
import { describeSourceFailure, failedSources } from '../sync/resync/reconcile.js';
import { printJson, requireConfig, withDataRedis } from './connect.js';
import { healthLines, NO_LIVE_WORKER_EXIT } from './status-health.js';
import { printText } from './terminal.js';
import { BATCH_MAX_EVENTS } from '../sync/events/batch-job.js';

/** The queues as one aligned table: a header row, then one row a queue (a rate-limit pause said at the row's end). */
function queueTable(queues: Record<string, QueueStatus>): string[] {
  const head = ['QUEUE', 'WAITING', 'ACTIVE', 'DELAYED', 'FAILED', 'LAG', 'DONE/MIN', 'FAILED/MIN'];
  const rows = Object.entries(queues).map(([name, q]) => [
    name,
    String(q.waiting),
    String(q.active),
    String(q.delayed),
    String(q.failed),
    `${q.lagSeconds}s`,
    String(q.completedPerMinute),
    String(q.failedPerMinute),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const paused = Object.values(queues).map((q) =>
    q.rateLimitedForSeconds > 0 ? `  PAUSED by a rate limit for ${q.rateLimitedForSeconds}s more` : '',
  );
  return [
    `  ${line(head)}`,
    ...rows.map((r, i) => `  ${line(r)}${paused[i]}`),
    `  (per minute: the last ${RATE_WINDOW_MINUTES} min; counts are jobs: an events job is one event, or up to ${BATCH_MAX_EVENTS} under load)`,
  ];
}

/** A check's findings: ok, or how many problems, what that does to pushes and the fix. */
const findingsText = (c: SetupCheck): string =>
  c.problems.length === 0
    ? `ok (checked ${c.checkedAt})`
    : `${c.problems.length} PROBLEM${c.problems.length === 1 ? '' : 'S'} (checked ${c.checkedAt}): ${c.consequence}; ${c.fix}`;

/**
 * Per checked portal target: ok, or what its platform lacks, what that does to pushes, and the fix; while checks
 * cannot run, since when and why, then what the last check that ran found (the lines below it).
 */
function setupLines(checks: Status['portalSetup']): string[] {
  return Object.entries(checks).flatMap(([target, c]) => {
    const problems = c.problems.map((p) => `    ${p}`);
    if (!setupCheckFailing(c)) return [`  portal setup ${target}: ${findingsText(c)}`, ...problems];
    const f = c.failure!;
    return [
      `  portal setup ${target}: COULD NOT CHECK since ${f.since} (last try ${f.at}): ${f.reason}; pushes there may be failing too (portal-sync dlq list)`,
      `    last check: ${c.checkedAt === null ? 'none yet' : findingsText(c)}`,
      ...problems,
    ];
  });
}

/** `status` for humans: the queues as a table, then what needs an admin's attention. */
export function statusText(status: Status, prefix: string): string {
  const lines = queueTable(status.queues);
  lines.push(`  dead letters: ${status.deadLettered}${status.deadLettered ? ' (portal-sync dlq list)' : ''}`);
  lines.push(`  quarantined payloads: ${status.quarantined}${status.quarantined ? ' (portal-sync dlq list)' : ''}`);
  lines.push(
    `  identity conflicts: ${status.identityConflicts}${status.identityConflicts ? ' (portal-sync identity conflicts)' : ''}`,
  );
  for (const w of status.subscriptions) {
    const health = w.paused
      ? `PAUSED since ${w.pausedAt} (portal-sync webhooks replay ${w.id} --since ${w.failingSince ?? w.pausedAt})`
      : w.failingSince
        ? `failing since ${w.failingSince}`
        : 'ok';
    lines.push(`  webhooks ${w.id}: ${w.pending} pending, ${health}`);
  }
  const r = status.reconcile;
  lines.push(
    r
      ? `  last reconcile: ${r.finishedAt}, drift ${r.drift}${r.drift ? ` (${r.driftIds.slice(0, 5).join(', ')}${r.drift > 5 ? ', …' : ''})` : ''}${failedSources(r).length ? ', a source FAILED (portal-sync reconcile)' : ''}`
      : '  last reconcile: none yet',
  );
  if (r) for (const [source, s] of failedSources(r)) lines.push(`    ${describeSourceFailure(source, s)}`);
  const rs = status.resync;
  for (const [target, b] of Object.entries(status.bulk)) {
    if (b.pending + b.inFlight > 0)
      lines.push(
        `  resync pushes to ${target}: ${b.pending} customers waiting for a bulk call (oldest ${b.oldestSeconds}s), ${b.inFlight} in flight`,
      );
  }
  if (rs)
    lines.push(
      `  last resync ${rs.id}: ${rs.status}, read ${rs.counts.read}, changed ${rs.counts.changed}, failed ${rs.counts.failed}${rs.status === 'running' ? ' (portal-sync resync --resume if it is not running)' : ''}`,
    );
  lines.push(...setupLines(status.portalSetup));
  lines.push(...healthLines(status.workers, status.lastWebhooks));
  const t = status.redis;
  const persistence = t.aof === null ? '' : t.aof ? ', AOF on' : ', AOF off';
  lines.push(
    `  redis: ${t.role}, ${t.connectedReplicas} replica(s) connected${persistence}, maxmemory-policy ${t.maxmemoryPolicy ?? 'unknown (CONFIG not allowed)'}, ackReplicas ${t.ackReplicas}`,
  );
  for (const w of t.warnings) lines.push(`    WARNING: ${w}`);
  return `queues (prefix ${prefix}):\n${lines.join('\n')}\n`;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(COMMANDS.status.summary)
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      `\nExit ${NO_LIVE_WORKER_EXIT} when no worker is live (none beat in the last 30 s): a stopped daemon, not an idle one.\n\nExamples:\n  $ portal-sync status\n  $ portal-sync status --json | jq .queues.events.lagSeconds\n`,
    )
    .action(async (opts: { json?: boolean }) => {
      const config = requireConfig();
      const status = await withDataRedis(config, (redis) => readStatus(redis, config));
      if (opts.json) printJson(status);
      else printText(statusText(status, config.redis.prefix));
      if (!status.workers.some((w) => w.live)) process.exitCode = NO_LIVE_WORKER_EXIT;
    });
}
