/** Redis housekeeping for benchmarks: every run works under prefixes of its own and removes them at the end. */
import { Redis } from 'ioredis';

/** SCAN MATCH `<prefix>:*` + DEL, for each prefix; returns how many keys went. */
export async function deleteByPrefixes(url: string, prefixes: readonly string[]): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Keys under `<prefix>:<pattern>` (SCAN, so it never blocks Redis), e.g. the stored records. */
export async function countKeys(
  redis: Redis,
  match: string,
  keep: (key: string) => boolean = () => true,
): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    n += keys.filter(keep).length;
  } while (cursor !== '0');
  return n;
}

/** Mean STRLEN of up to `limit` string keys under `match` (SCAN order): the size of what is stored per key. */
export async function meanStringBytes(
  redis: Redis,
  match: string,
  keep: (key: string) => boolean = () => true,
  limit = 500,
): Promise<number> {
  let cursor = '0';
  const keys: string[] = [];
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    keys.push(...found.filter(keep));
  } while (cursor !== '0' && keys.length < limit);
  const sample = keys.slice(0, limit);
  if (sample.length === 0) return 0;
  const sizes = await Promise.all(sample.map((k) => redis.strlen(k)));
  return Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length);
}

export interface ServerCounters {
  /** total_commands_processed: every command, those that Lua scripts (BullMQ's) run included. */
  commands: number;
  /** used_cpu_user + used_cpu_sys of the Redis server, in seconds. */
  cpuSeconds: number;
}

/** Server-wide counters, to take the difference over a measurement (the server is shared: a rough figure). */
export async function serverCounters(redis: Redis): Promise<ServerCounters> {
  const info = await redis.info();
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return { commands: field('total_commands_processed'), cpuSeconds: field('used_cpu_user') + field('used_cpu_sys') };
}
