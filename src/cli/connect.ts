/** What the admin commands share: validated config and a Redis connection that fails fast. */
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../config.js';
import { UsageError } from './errors.js';

export function requireConfig(): Config {
  const loaded = loadConfig(process.env);
  if (!loaded.ok) throw new UsageError(`configuration has problems (run \`portal-sync config check\`): ${loaded.problems.join('; ')}`);
  return loaded.config;
}

export async function withRedis<T>(config: Config, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: (n) => (n > 2 ? null : 200) });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => (lastError = err));
  try {
    await redis.ping().catch(() => {
      throw new Error(`cannot reach Redis at ${config.redis.url.replace(/\/\/[^@]*@/, '//***@')}: ${lastError?.message ?? 'no answer'}; check REDIS_URL`);
    });
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
