/** `portal-sync start` — the daemon. */
import type { Command } from 'commander';
import { COMMANDS } from './commands.js';
import { loadConfig, type Config } from '../config.js';
import { redactUrl, startDaemon } from '../daemon.js';
import { createPortalTarget } from '../connectors/targets.js';
import { startProbeServer, startWorker, type RunningWorker } from '../worker-role.js';
import { createLogger, type Logger } from '../log.js';
import { describeRedis, waitForRedis } from '../sync/redis/connection.js';
import { UsageError } from './errors.js';
import { ensureRedis } from '../sync/redis/private-redis.js';

type Role = 'all' | 'web' | 'worker';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(COMMANDS.start.summary)
    .option('--role <role>', 'all (web and worker in one process), web (HTTP only) or worker (queues only)', 'all')
    .option(
      '--dev-redis',
      'development only: if nothing answers at REDIS_URL, run a private in-memory redis-server (everything is lost on exit)',
    )
    .addHelpText(
      'after',
      '\nRedis: REDIS_URL (default redis://127.0.0.1:6379). Until it answers, the daemon keeps retrying it, says so\n' +
        'in its log, and /readyz and the receivers answer 503 (with Retry-After: the platforms retry); the worker\n' +
        'starts once it answers. Only with --dev-redis (and redis-server on PATH) does a Redis that does not answer\n' +
        'make it start a private in-memory one instead, named in its log and in /readyz; never in production.\n' +
        '\nExamples:\n  $ portal-sync start\n  $ portal-sync start --dev-redis\n  $ PORT=8080 REDIS_URL=redis://redis:6379 portal-sync start --role web\n' +
        '  $ REDIS_URL=redis://redis:6379 portal-sync start --role worker\n',
    )
    .action(async (opts: { role: string; devRedis?: boolean }) => {
      if (!['all', 'web', 'worker'].includes(opts.role))
        throw new UsageError(`--role must be all, web or worker (got ${opts.role})`);
      const loaded = loadConfig(process.env);
      if (!loaded.ok) {
        throw new UsageError(
          `configuration has problems (run \`portal-sync config check\`):\n  - ${loaded.problems.join('\n  - ')}`,
        );
      }
      const logger = createLogger(loaded.config.logLevel);
      for (const w of loaded.warnings) logger.warn(w);
      await runDaemon(loaded.config, logger, opts.role as Role, opts.devRedis === true);
    });
}

/** A private Redis for development, only when asked for and only when the configured one does not answer. */
async function devRedis(config: Config, logger: Logger): Promise<{ note?: string; stop?: () => void }> {
  let note: string | undefined;
  if (config.redis.sentinels?.length) return {}; // Sentinel mode names a real deployment: never a stand-in for it
  const redis = await ensureRedis(config.redis.url, () => undefined);
  if (redis.url !== config.redis.url) {
    note = `private in-memory redis-server at ${redis.url}, started by --dev-redis: nothing is persisted, everything is lost on exit`;
    logger.warn(
      { devRedis: redis.url, configured: redactUrl(config.redis.url) },
      `no Redis answered at REDIS_URL: --dev-redis started a private redis-server, in memory only (stopped on exit)`,
    );
    config.redis.url = redis.url;
  }
  return { ...(note && { note }), ...(redis.stop && { stop: redis.stop }) };
}

async function runDaemon(config: Config, logger: Logger, role: Role, allowDevRedis: boolean): Promise<void> {
  const dev = allowDevRedis ? await devRedis(config, logger) : {};
  const waiting = new AbortController();
  let worker: RunningWorker | null = null;
  let stopping = false;
  const daemon = role === 'worker' ? null : await startDaemon(config, logger, dev.note ? { devRedis: dev.note } : {});
  if (daemon)
    logger.info(
      { url: daemon.url, prefix: config.redis.prefix, ...(dev.note && { devRedis: dev.note }) },
      'portal-sync listening',
    );
  // The worker alone still answers /healthz and /metrics on PORT, for orchestrators and Prometheus.
  const probe = role === 'worker' ? await startProbeServer(config, logger) : null;
  const registry = daemon?.metrics.registry ?? probe?.registry;

  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down: no new requests, finishing in-flight work');
      process.off('SIGTERM', stop).off('SIGINT', stop);
      stopping = true;
      waiting.abort();
      // The grace period bounds the whole shutdown, not only the HTTP part: a job still running then (a long
      // reconcile pass, a hung call) is left to BullMQ's stalled-job recovery, which hands it to another worker.
      setTimeout(() => {
        logger.warn(
          { graceMs: config.server.shutdownGraceMs },
          'grace period over: exiting with work still in flight (it goes back to its queue)',
        );
        dev.stop?.();
        process.exit(0);
      }, config.server.shutdownGraceMs).unref();
      // Web first (no new work comes in), then the worker finishes what it holds.
      Promise.resolve()
        .then(() => daemon?.close())
        .then(() => worker?.close())
        .then(() => probe?.close())
        .catch((err: unknown) => logger.error({ err }, 'error during shutdown'))
        .finally(() => {
          dev.stop?.();
          logger.info('stopped');
          resolve();
        });
    };
    process.on('SIGTERM', stop).on('SIGINT', stop);
  });

  // Never a stand-in for the configured Redis: wait for it, saying so now and then, while the receivers answer 503.
  const answered = await waitForRedis(
    config.redis,
    (waitedSeconds) =>
      logger.warn(
        { redis: describeRedis(config.redis), waitedSeconds },
        `waiting for Redis at ${config.redis.sentinels?.length ? 'the primary the sentinels name' : 'REDIS_URL'}: /readyz and the receivers answer 503 until it answers${role === 'web' ? '' : ', and the worker starts then'}`,
      ),
    waiting.signal,
  );
  if (answered && !stopping) logger.info({ redis: describeRedis(config.redis) }, 'redis answered');
  if (answered && !stopping && role !== 'web') {
    worker = await startWorker(config, logger, {
      ...(registry ? { registry } : {}),
      targets: createPortalTarget,
      role,
    });
    if (stopping) await worker.close();
  }
  await stopped;
}
