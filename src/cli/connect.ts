/** What the admin commands share: validated config and a Redis connection that fails fast. */
import { connectRedis, describeRedis, type Redis } from '../sync/redis/connection.js';
import { loadConfig, type Config } from '../config.js';
import { UsageError } from './errors.js';
import { prefixHoldsData } from '../sync/admin/prefix-data.js';

export function requireConfig(): Config {
  const loaded = loadConfig(process.env);
  if (!loaded.ok)
    throw new UsageError(
      `configuration has problems (run \`portal-sync config check\`): ${loaded.problems.join('; ')}`,
    );
  return loaded.config;
}

export async function withRedis<T>(config: Config, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = connectRedis(config.redis, 'admin');
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => (lastError = err));
  try {
    await redis.ping().catch(() => {
      throw new Error(
        `cannot reach Redis at ${describeRedis(config.redis)}: ${lastError?.message ?? 'no answer'}; check ${config.redis.sentinels?.length ? 'REDIS_SENTINELS and REDIS_SENTINEL_MASTER' : 'REDIS_URL'}`,
      );
    });
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

/** withRedis for a command that only reads: refuses an empty prefix first. */
export async function withDataRedis<T>(config: Config, work: (redis: Redis) => Promise<T>): Promise<T> {
  return withRedis(config, async (redis) => {
    // A wrong REDIS_PREFIX is named, not shown as a healthy, empty deployment.
    if (!(await prefixHoldsData(redis, config.redis.prefix)))
      throw new Error(`no portal-sync data under prefix ${config.redis.prefix} (is REDIS_PREFIX right?)`);
    return work(redis);
  });
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
