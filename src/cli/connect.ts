/** What the admin commands share: validated config and a Redis connection that fails fast. */
import { connectRedis, describeRedis, type Redis } from '../sync/redis/connection.js';
import { loadConfig, type Config } from '../config.js';
import { UsageError } from './errors.js';
import { REDIS_KEYS } from '../sync/redis/keys.js';

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

/**
 * Read commands first make sure the prefix holds something, so that a wrong REDIS_PREFIX is named
 * instead of shown as a healthy, empty deployment (a SCAN: nothing is written).
 */
async function requireData(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', REDIS_KEYS.everything(prefix), 'COUNT', 1000);
    if (keys.length > 0) return;
    cursor = next;
  } while (cursor !== '0');
  throw new Error(`no portal-sync data under prefix ${prefix} (is REDIS_PREFIX right?)`);
}

/** withRedis for a command that only reads: refuses an empty prefix first. */
export async function withDataRedis<T>(config: Config, work: (redis: Redis) => Promise<T>): Promise<T> {
  return withRedis(config, async (redis) => {
    await requireData(redis, config.redis.prefix);
    return work(redis);
  });
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
