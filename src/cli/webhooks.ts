/**
 * `portal-sync webhooks list | test ID | deliveries ID | replay ID --since … |
 * pause ID | resume ID` — the outbound webhook subscriptions of the config,
 * their state in Redis, and the admin's levers on them.
 */
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import type { Config } from '../config.js';
import { createSubscriberTransport } from '../connectors/subscribers/transport.js';
import {
  listSubscriptions,
  openOutboundAdmin,
  pauseSubscription,
  testSubscription,
} from '../sync/admin/subscriptions.js';
import type { OutboundQueue } from '../sync/outbound/queue.js';
import { replaySubscription, resumeSubscription } from '../sync/outbound/replay.js';
import { subscriptionsOf } from '../sync/outbound/service.js';
import type { OutboundStore, SubscriptionState } from '../sync/outbound/store.js';
import type { Subscription } from '../sync/outbound/types.js';
import { printJson, requireConfig, withRedis } from './connect.js';
import { UsageError } from './errors.js';
import { TIME_GRAMMAR, timeWindowOption, warnPastRetention } from './time-options.js';
import { printText } from './terminal.js';

interface Ctx {
  config: Config;
  store: OutboundStore;
  sub: (id: string) => Subscription;
  queue: (id: string) => OutboundQueue;
}

/** @param named subscription ids the command names: checked before Redis is reached, so a typo is a usage error even when Redis is away. */
async function withOutbound<T>(named: readonly string[], work: (ctx: Ctx) => Promise<T>): Promise<T> {
  const config = requireConfig();
  const subs = new Map(subscriptionsOf(config).map((s) => [s.id, s]));
  const sub = (id: string): Subscription => {
    const found = subs.get(id);
    if (found) return found;
    throw new UsageError(
      `no subscription "${id}" in the configuration; \`portal-sync webhooks list\` shows them${subs.size === 0 ? ' (there are none: add them under subscriptions: in your YAML)' : ''}`,
    );
  };
  for (const id of named) sub(id);
  return withRedis(config, async (redis) => {
    const outbound = openOutboundAdmin(redis, config.redis.prefix, config.outbound);
    try {
      return await work({ config, store: outbound.store, sub, queue: outbound.queue });
    } finally {
      await outbound.close();
    }
  });
}

const stateLine = (s: SubscriptionState): string =>
  s.paused
    ? `PAUSED since ${s.pausedAt} (${s.pausedReason ?? 'no reason'}); resume with \`portal-sync webhooks replay ${s.id} --since ${s.failingSince ?? s.pausedAt}\``
    : s.failingSince
      ? `failing since ${s.failingSince} (${s.lastError ?? 'unknown error'})`
      : s.lastSuccessAt
        ? `ok, last delivery ${s.lastSuccessAt}`
        : 'nothing delivered yet';

export function registerWebhooksCommand(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .description(COMMANDS.webhooks.summary)
    .addHelpText(
      'after',
      '\nSubscriptions are declared under subscriptions: in your YAML (PORTAL_SYNC_CONFIG); each names the\n' +
        'environment variable that holds its whsec_… secret. See docs/outbound-webhooks.md.\n' +
        '\nExamples:\n  $ portal-sync webhooks list\n  $ portal-sync webhooks test billing-service\n' +
        '  $ portal-sync webhooks deliveries billing-service --failed\n  $ portal-sync webhooks replay billing-service --since 2026-11-23T08:00:00Z\n',
    );
  webhooks
    .command('list')
    .description('the subscriptions, with pending events, failures and pauses')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      "\nExamples:\n  $ portal-sync webhooks list\n  $ portal-sync webhooks list --json | jq '.[] | select(.state.paused)'\n",
    )
    .action(async (opts: { json?: boolean }) => {
      const listing = await withOutbound([], ({ config, store }) => listSubscriptions(store, subscriptionsOf(config)));
      if (opts.json) return printJson(listing);
      if (listing.length === 0)
        return void printText(
          'no subscriptions (add them under subscriptions: in your YAML; see docs/outbound-webhooks.md)\n',
        );
      for (const l of listing) {
        printText(
          `${l.id}  ${l.url}\n  events: ${l.events.join(', ')}${l.requires.length ? `; requires ${l.requires.join(', ')}` : ''}; timeout ${l.timeoutMs} ms\n`,
        );
        printText(`  ${l.state.pending} pending for ${l.state.customersWaiting} customer(s); ${stateLine(l.state)}\n`);
      }
    });
  webhooks
    .command('test')
    .description('send a signed webhook.test event to a subscription now; exit 1 unless it answers 2xx in time')
    .argument('<id>', 'subscription id')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ portal-sync webhooks test billing-service\n  $ portal-sync webhooks test billing-service --json\n',
    )
    .action(async (id: string, opts: { json?: boolean }) => {
      const result = await withOutbound([id], ({ store, sub }) =>
        testSubscription(store, sub(id), createSubscriberTransport()),
      );
      if (opts.json) printJson(result);
      else
        printText(
          result.ok
            ? `${id}: answered ${result.status} in ${result.latencyMs} ms\n`
            : `${id}: failed after ${result.latencyMs} ms: ${result.error}\n`,
        );
      if (!result.ok) process.exitCode = 1;
    });
  webhooks
    .command('deliveries')
    .description('the newest delivery attempts of a subscription: status, latency, error')
    .argument('<id>', 'subscription id')
    .option('--failed', 'only failed (and expired) attempts')
    .option('--limit <n>', 'at most this many, newest first', '50')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ portal-sync webhooks deliveries billing-service\n  $ portal-sync webhooks deliveries billing-service --failed --limit 200 --json\n',
    )
    .action(async (id: string, opts: { failed?: boolean; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError(`--limit must be a whole number of at least 1 (got ${opts.limit})`);
      const attempts = await withOutbound([id], ({ store, sub }) =>
        store.attempts(sub(id).id, { failedOnly: opts.failed === true, limit }),
      );
      if (opts.json) return printJson(attempts);
      if (attempts.length === 0)
        return void printText(`no ${opts.failed ? 'failed ' : ''}delivery attempts recorded for ${id}\n`);
      for (const a of attempts) {
        printText(
          `${a.at}  ${a.outcome.padEnd(9)} ${String(a.status ?? '-').padEnd(4)} ${String(a.latencyMs).padStart(6)} ms  ${a.type.padEnd(26)} ${a.eventId}${a.customerId ? `  ${a.customerId}` : ''}${a.error ? `  ${a.error}` : ''}\n`,
        );
      }
    });
  webhooks
    .command('replay')
    .description(
      'send again, in order, every recorded event since a time that the subscription takes; resumes it if paused',
    )
    .argument('<id>', 'subscription id')
    .requiredOption('--since <when>', TIME_GRAMMAR)
    .option('--until <when>', 'only events recorded before then, in the same grammar (default: now)')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nEvents are kept for outbound.retentionMs (7 days by default). Events still waiting are not sent twice;\n' +
        'an event already delivered is sent again (consumers drop repeats by webhook-id).\n' +
        '\nExamples:\n  $ portal-sync webhooks replay billing-service --since 2026-11-23T08:00:00Z\n  $ portal-sync webhooks replay billing-service --since 24h --json\n',
    )
    .action(async (id: string, opts: { since: string; until?: string; json?: boolean }) => {
      const now = new Date();
      const window = timeWindowOption(opts, now, opts.since);
      const result = await withOutbound([id], ({ config, store, sub, queue }) => {
        warnPastRetention(window.from, now, config.outbound.retentionMs, 'outbound events', 'outbound.retentionMs');
        return replaySubscription(store, queue(id), sub(id), window.from, opts.until === undefined ? null : window.to);
      });
      if (opts.json) return printJson(result);
      printText(
        `${id}: ${result.matched} event(s) since ${result.since}${result.until ? ` until ${result.until}` : ''}, ${result.queued} queued again for ${result.customers} customer(s)${result.resumed ? '; resumed' : ''}\n`,
      );
    });
  webhooks
    .command('pause')
    .description('stop delivering to a subscription; new events still join its lanes, in order, for resume')
    .argument('<id>', 'subscription id')
    .option('--reason <text>', 'why (shown by list and status)', 'paused by an admin')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ portal-sync webhooks pause billing-service --reason "consumer migration until 14:00"\n',
    )
    .action(async (id: string, opts: { reason: string; json?: boolean }) => {
      const state = await withOutbound([id], ({ store, sub }) => pauseSubscription(store, sub(id), opts.reason));
      if (opts.json) return printJson(state);
      printText(
        `${id}: paused at ${state.pausedAt}; new events wait in order: \`portal-sync webhooks resume ${id}\` delivers them\n`,
      );
    });
  webhooks
    .command('resume')
    .description(
      'deliver to a paused subscription again: everything that waited, in order, including what came during the pause',
    )
    .argument('<id>', 'subscription id')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ portal-sync webhooks resume billing-service\n')
    .action(async (id: string, opts: { json?: boolean }) => {
      const result = await withOutbound([id], ({ store, sub, queue }) => resumeSubscription(store, queue(id), sub(id)));
      if (opts.json) return printJson(result);
      printText(
        `${id}: ${result.resumed ? 'resumed' : 'was not paused'}; ${result.customersWaiting} customer(s) with events waiting\n`,
      );
    });
}
