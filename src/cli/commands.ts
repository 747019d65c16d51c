/**
 * The top-level commands of the CLI: each one's name and its line in the root `--help` (the term, and the summary
 * its module's command takes from here). index.ts imports a command's module only when that command runs: a module
 * brings in what it runs (BullMQ, the Stripe SDK, express, the demo's stand-ins: 1,400 modules in all), so
 * `portal-sync --help`, or any one command, loads only what it uses. A test holds every term here to what
 * commander prints for the loaded command.
 */
import { BATCH_MAX_EVENTS } from '../sync/events/batch-job.js';

interface TopCommand {
  /** How the root help names it: commander's term for the loaded command (`inspect [options] <ref>`). */
  term: string;
  summary: string;
}

export const COMMANDS = {
  start: {
    term: 'start [options]',
    summary: 'run the daemon: webhook receivers, portal events, /healthz, /readyz, /metrics, and the events worker',
  },
  config: {
    term: 'config',
    summary: 'configuration tools',
  },
  inspect: {
    term: 'inspect [options] <ref>',
    summary: 'show one normalized customer record',
  },
  status: {
    term: 'status [options]',
    summary: `queue depths (in jobs: under load an events job holds up to ${BATCH_MAX_EVENTS} events), lag and rate-limit pauses, dead-lettered jobs, quarantined payloads, identity conflicts, the last resync and reconcile, what the portal lacks of what pushes write to (or since when it could not be checked), live workers`,
  },
  resync: {
    term: 'resync [options]',
    summary: 'read Stripe, Salesforce and Zendesk again and apply what they hold (behind real-time webhooks)',
  },
  reconcile: {
    term: 'reconcile [options]',
    summary: 'ask every configured source what changed since the last pass and repair what webhooks missed',
  },
  migrate: {
    term: 'migrate',
    summary: 'one-time upgrades of stored data',
  },
  dlq: {
    term: 'dlq',
    summary: 'dead letters: failed jobs and quarantined payloads',
  },
  identity: {
    term: 'identity',
    summary: 'identity conflicts and manual links, kept in an audit trail',
  },
  report: {
    term: 'report',
    summary: 'reports over what portal-sync has recorded',
  },
  setup: {
    term: 'setup',
    summary: 'provision the portal side: the fields and objects the targets write to',
  },
  webhooks: {
    term: 'webhooks',
    summary: 'outbound webhooks: subscriptions, delivery attempts, replay, pause and resume',
  },
  demo: {
    term: 'demo [options]',
    summary:
      'run the daemon against local stand-ins of Stripe, Salesforce and Zendesk through a scripted day; needs only Redis',
  },
} satisfies Record<string, TopCommand>;

export type CommandName = keyof typeof COMMANDS;

const isCommandName = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

/**
 * The top-level command argv runs (`portal-sync [--verbose] <command> …`, or `portal-sync help <command>`), or
 * null when it names none (the root help, no arguments, an unknown command).
 */
export function invokedCommand(argv: readonly string[]): CommandName | null {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return name !== undefined && isCommandName(name) ? name : null;
}
