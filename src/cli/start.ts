/** `portal-sync start` — the daemon. */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { startDaemon } from '../daemon.js';
import { createPortalTarget } from '../connectors/targets.js';
import { startProbeServer, startWorker } from '../worker-role.js';
import { createLogger } from '../log.js';
import { UsageError } from './errors.js';
import { ensureRedis } from './private-redis.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the daemon: webhook receivers, portal events, /healthz, /readyz, /metrics, and the events worker')
    .option('--role <role>', 'all (web and worker in one process), web (HTTP only) or worker (queues only)', 'all')
    .addHelpText(
      'after',
      '\nRedis: REDIS_URL (default redis://127.0.0.1:6379). If nothing answers there and\n' +
        'redis-server is on PATH, a private in-memory Redis is started and stopped on exit.\n' +
        '\nExamples:\n  $ portal-sync start\n  $ PORT=8080 REDIS_URL=redis://redis:6379 portal-sync start --role web\n' +
        '  $ REDIS_URL=redis://redis:6379 portal-sync start --role worker\n',
    )
    .action(async (opts: { role: string }) => {
      if (!['all', 'web', 'worker'].includes(opts.role)) throw new UsageError(`--role must be all, web or worker (got ${opts.role})`);
      const loaded = loadConfig(process.env);
      if (!loaded.ok) {
        throw new UsageError(`configuration has problems (run \`portal-sync config check\`):\n  - ${loaded.problems.join('\n  - ')}`);
      }
      const config = loaded.config;
      const logger = createLogger(config.logLevel);
      for (const w of loaded.warnings) logger.warn(w);
      const redis = await ensureRedis(config.redis.url, (msg) => logger.warn(msg));
      config.redis.url = redis.url;
      const daemon = opts.role === 'worker' ? null : await startDaemon(config, logger);
      if (daemon) logger.info({ url: daemon.url, prefix: config.redis.prefix }, 'portal-sync listening');
      // The worker alone still answers /healthz and /metrics on PORT, for orchestrators and Prometheus.
      const probe = opts.role === 'worker' ? await startProbeServer(config, logger) : null;
      const registry = daemon?.metrics.registry ?? probe?.registry;
      const worker = opts.role === 'web' ? null : await startWorker(config, logger, { ...(registry ? { registry } : {}), targets: createPortalTarget });

      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          logger.info({ signal }, 'shutting down: no new requests, finishing in-flight work');
          process.off('SIGTERM', stop).off('SIGINT', stop);
          // The grace period bounds the whole shutdown, not only the HTTP part: a job still running then (a long
          // reconcile pass, a hung call) is left to BullMQ's stalled-job recovery, which hands it to another worker.
          setTimeout(() => {
            logger.warn({ graceMs: config.server.shutdownGraceMs }, 'grace period over: exiting with work still in flight (it goes back to its queue)');
            redis.stop?.();
            process.exit(0);
          }, config.server.shutdownGraceMs).unref();
          // Web first (no new work comes in), then the worker finishes what it holds.
          Promise.resolve()
            .then(() => daemon?.close())
            .then(() => worker?.close())
            .then(() => probe?.close())
            .catch((err: unknown) => logger.error({ err }, 'error during shutdown'))
            .finally(() => {
              redis.stop?.();
              logger.info('stopped');
              resolve();
            });
        };
        process.on('SIGTERM', stop).on('SIGINT', stop);
      });
    });
}
