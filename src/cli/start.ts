/** `portal-sync start` — the daemon. */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { startDaemon } from '../daemon.js';
import { createLogger } from '../log.js';
import { UsageError } from './errors.js';
import { ensureRedis } from './private-redis.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the daemon: webhook receivers, portal events, /healthz, /readyz, /metrics')
    .addHelpText(
      'after',
      '\nRedis: REDIS_URL (default redis://127.0.0.1:6379). If nothing answers there and\n' +
        'redis-server is on PATH, a private in-memory Redis is started and stopped on exit.\n' +
        '\nExamples:\n  $ portal-sync start\n  $ PORT=8080 REDIS_URL=redis://redis:6379 portal-sync start\n',
    )
    .action(async () => {
      const loaded = loadConfig(process.env);
      if (!loaded.ok) {
        throw new UsageError(`configuration has problems (run \`portal-sync config check\`):\n  - ${loaded.problems.join('\n  - ')}`);
      }
      const config = loaded.config;
      const logger = createLogger(config.logLevel);
      for (const w of loaded.warnings) logger.warn(w);
      const redis = await ensureRedis(config.redis.url, (msg) => logger.warn(msg));
      config.redis.url = redis.url;
      const daemon = await startDaemon(config, logger);
      logger.info({ url: daemon.url, prefix: config.redis.prefix }, 'portal-sync listening');

      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          logger.info({ signal }, 'shutting down: no new requests, finishing in-flight work');
          process.off('SIGTERM', stop).off('SIGINT', stop);
          daemon
            .close()
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
