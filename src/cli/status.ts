/** `portal-sync status` — queue depths, lag, dead letters, quarantine and identity conflicts. */
import { Queue } from 'bullmq';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { PUSH_QUEUES } from '../sync/push-planner.js';
import { QUEUES } from '../sync/queues.js';
import { RecordStore } from '../sync/store.js';
import { printJson, requireConfig, withRedis } from './connect.js';

export interface QueueStatus {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  /** Age of the oldest job waiting to run, in seconds: how far behind real time the queue is. */
  lagSeconds: number;
}

export interface Status {
  queues: Record<string, QueueStatus>;
  deadLettered: number;
  quarantined: number;
  identityConflicts: number;
}

async function queueStatus(redis: Redis, prefix: string, name: string): Promise<QueueStatus> {
  const queue = new Queue(name, { connection: redis, prefix });
  try {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
    const [oldest] = await queue.getJobs(['waiting', 'prioritized'], -1, -1, true);
    const lagSeconds = oldest ? Math.max(0, Math.round((Date.now() - oldest.timestamp) / 1000)) : 0;
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0, completed: c.completed ?? 0, lagSeconds };
  } finally {
    await queue.close();
  }
}

export async function readStatus(redis: Redis, config: Config): Promise<Status> {
  const prefix = config.redis.prefix;
  const queues: Record<string, QueueStatus> = {};
  for (const name of [QUEUES.events, ...PUSH_QUEUES]) queues[name] = await queueStatus(redis, prefix, name);
  const store = new RecordStore(redis, prefix);
  return {
    queues,
    deadLettered: Object.values(queues).reduce((n, q) => n + q.failed, 0),
    quarantined: await redis.llen(`${prefix}:quarantine`),
    identityConflicts: (await store.listConflicts()).length,
  };
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('queue depths and lag, dead-lettered jobs, quarantined payloads, identity conflicts')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  $ portal-sync status\n  $ portal-sync status --json | jq .queues.events.lagSeconds\n')
    .action(async (opts: { json?: boolean }) => {
      const config = requireConfig();
      const status = await withRedis(config, (redis) => readStatus(redis, config));
      if (opts.json) return printJson(status);
      const lines = Object.entries(status.queues).map(
        ([name, q]) => `  ${name.padEnd(16)} waiting ${q.waiting}, active ${q.active}, delayed ${q.delayed}, failed ${q.failed}, lag ${q.lagSeconds}s`,
      );
      lines.push(`  dead letters: ${status.deadLettered}${status.deadLettered ? ' (portal-sync dlq list)' : ''}`);
      lines.push(`  quarantined payloads: ${status.quarantined}${status.quarantined ? ' (portal-sync dlq list)' : ''}`);
      lines.push(`  identity conflicts: ${status.identityConflicts}${status.identityConflicts ? ' (portal-sync identity conflicts)' : ''}`);
      process.stdout.write(`queues (prefix ${config.redis.prefix}):\n${lines.join('\n')}\n`);
    });
}
