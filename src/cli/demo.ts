/**
 * `portal-sync demo` — the whole daemon against built-in local stand-ins of Stripe, Salesforce
 * and Zendesk, with a scripted day; needs only Redis (or redis-server on PATH), no credentials.
 * Stays up afterwards so the dashboard can be explored, until Ctrl-C (exit 0).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import { envFileText, exportLines, sampleCommands } from '../demo/cli-env.js';
import { redactUrl } from '../daemon.js';
import { startDemoEnvironment, type DemoEnvironment } from '../demo/environment.js';
import { jsonPrinter, textPrinter, type DemoPrinter } from '../demo/render.js';
import { playScriptedDay } from '../demo/script.js';
import { summarizePortals } from '../demo/summary.js';
import { UsageError } from './errors.js';
import { printText } from './terminal.js';

const STEP_PAUSE_MS = 800;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface DemoOptions {
  port?: string;
  exitAfterScript?: boolean;
  json?: boolean;
  speed: string;
  logLevel: string;
  writeEnv?: string;
}

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new UsageError(`--port must be a port number, 0 for any free port (got ${value})`);
  return Number(value);
}

function parseSpeed(value: string): number {
  const speed = Number(value);
  if (!(speed > 0) || !Number.isFinite(speed)) throw new UsageError(`--speed must be a positive number (got ${value})`);
  return speed;
}

/** Resolves on the first SIGINT or SIGTERM, with its name. */
function firstSignal(): { signal: Promise<NodeJS.Signals>; dispose(): void } {
  let handler: (s: NodeJS.Signals) => void = () => undefined;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    handler = (s) => resolve(s);
  });
  process.on('SIGINT', handler).on('SIGTERM', handler);
  return { signal, dispose: () => void process.off('SIGINT', handler).off('SIGTERM', handler) };
}

/** Only the user may read it: it holds the run's secrets. Written before the script plays, so a second shell can use it at once. */
function writeEnvFile(file: string, text: string): void {
  try {
    writeFileSync(file, text, { mode: 0o600 });
  } catch (err) {
    throw new UsageError(`--write-env: cannot write ${file}: ${(err as Error).message}`);
  }
}

async function checkDashboard(env: DemoEnvironment): Promise<number> {
  const res = await fetch(`${env.daemonUrl}/admin`, { headers: { authorization: `Bearer ${env.secrets.adminToken}` } });
  await res.arrayBuffer();
  return res.status;
}

async function runDemo(opts: DemoOptions): Promise<void> {
  const port = parsePort(opts.port);
  const speed = parseSpeed(opts.speed);
  if (!(LOG_LEVELS as readonly string[]).includes(opts.logLevel))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const printer: DemoPrinter = opts.json
    ? jsonPrinter(
        (s) => void process.stdout.write(s), // JSON stays exact
        (s) => void process.stderr.write(s),
      )
    : textPrinter(printText);
  const signals = firstSignal();
  const stop = signals.signal.then((s) => ({ stop: s }));
  let env: DemoEnvironment | undefined;
  try {
    const starting = startDemoEnvironment({
      ...(port !== undefined && { port }),
      logLevel: opts.logLevel as DemoEnvironment['config']['logLevel'],
      say: (m) => printer.notice(m),
    });
    const started = await Promise.race([starting.then((e) => ({ env: e })), stop]);
    if ('stop' in started) {
      // Interrupted while starting: whatever did start is stopped too.
      await starting.then(
        (e) => e.close(),
        () => undefined,
      );
      printer.stopped(started.stop);
      return;
    }
    env = started.env;
    if (opts.writeEnv) writeEnvFile(opts.writeEnv, envFileText(env.env, env.daemonUrl));
    printer.intro({
      daemonUrl: env.daemonUrl,
      redis: redactUrl(env.config.redis.url),
      prefix: env.config.redis.prefix,
      stripe: env.stripe.baseUrl,
      zendesk: env.zendesk.baseUrl,
      salesforce: env.salesforce.instanceUrl,
      zendeskFieldsCreated: env.zendeskSetup.filter((s) => s.state === 'created').length,
      helpCenter: env.helpCenterUrl,
    });

    const script = playScriptedDay(env, (step) => printer.step(step), { pauseMs: STEP_PAUSE_MS / speed });
    const played = await Promise.race([script.then((facts) => ({ facts })), stop]);
    if ('stop' in played) {
      script.catch(() => undefined); // it fails once everything under it is closed
      printer.stopped(played.stop);
      return;
    }
    printer.summary(summarizePortals(env, played.facts));
    const status = await checkDashboard(env);
    printer.dashboard(
      {
        url: `${env.daemonUrl}/admin`,
        loginUrl: `${env.daemonUrl}/admin/login`,
        adminToken: env.secrets.adminToken,
        status,
      },
      !opts.exitAfterScript,
    );
    if (status !== 200) throw new Error(`the dashboard answered ${status} instead of 200`);
    printer.cli({
      exports: exportLines(env.env),
      commands: sampleCommands(played.facts.accountName),
      writeEnv: opts.writeEnv ?? null,
    });
    if (opts.exitAfterScript) {
      printer.stopped('end of script');
      return;
    }
    printer.stopped((await stop).stop);
  } finally {
    signals.dispose();
    await env?.close();
  }
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(COMMANDS.demo.summary)
    .option(
      '--port <port>',
      "the daemon's HTTP port (default 3000, or a free one when 3000 is taken; 0: any free port)",
    )
    .option('--exit-after-script', 'stop after the scripted day instead of staying up (CI)')
    .option('--json', 'print the steps, what reached the portals and the dashboard as JSON lines')
    .option(
      '--speed <factor>',
      'pause between steps divided by this (the self-service windows stay a few seconds)',
      '1',
    )
    // Not --env-file: Node takes that flag for itself wherever it stands on the command line.
    .option(
      '--write-env <file>',
      "write `export` lines for REDIS_URL, REDIS_PREFIX and the stand-ins' URLs and keys to FILE, for the CLI in another shell",
    )
    .option('--log-level <level>', `the daemon's own log, JSON on stderr (${LOG_LEVELS.join(', ')})`, 'warn')
    .addHelpText(
      'after',
      '\nRedis: REDIS_URL (default redis://127.0.0.1:6379); the demo writes under its own key prefix and\n' +
        'deletes it on exit. If nothing answers and redis-server is on PATH, a private in-memory Redis is used\n(the demo only: `start` waits for REDIS_URL unless given --dev-redis).\n' +
        'No credentials are needed: every secret is generated for the run.\n' +
        '\nExamples:\n  $ portal-sync demo\n  $ portal-sync demo --write-env demo.env    # then, in another shell: . ./demo.env && portal-sync status\n  $ portal-sync demo --port 8080\n  $ portal-sync demo --exit-after-script --json --speed 10\n',
    )
    .action((opts: DemoOptions) => runDemo(opts));
}
