/**
 * The configuration of a daemon whose customer view a bench reads (bench/read, bench/freshness): on the bench's
 * Redis prefix, any free port, silent, the help center's keys from the Zendesk stand-in, and a per-user view budget
 * out of the way (every request still takes its turn at the Redis counter).
 */
import { loadConfig, type Config } from '../../src/config.js';

export function viewDaemonConfig(opts: {
  redisUrl: string;
  prefix: string;
  zendeskBaseUrl: string;
  viewsPerMinute: number;
  env?: Record<string, string>;
}): Config {
  const loaded = loadConfig({
    REDIS_URL: opts.redisUrl,
    REDIS_PREFIX: opts.prefix,
    PORT: '0',
    HOST: '127.0.0.1',
    ZENDESK_BASE_URL: opts.zendeskBaseUrl,
    LOG_LEVEL: 'silent',
    ...opts.env,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  loaded.config.view.rateLimit.perMinute = opts.viewsPerMinute;
  return loaded.config;
}
