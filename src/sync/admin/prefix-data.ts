/**
 * Whether anything is kept under a prefix. The read-only admin commands ask first, so that a wrong
 * REDIS_PREFIX is named instead of shown as a healthy, empty deployment. A SCAN: nothing is written.
 */
import type { Redis } from 'ioredis';
import { REDIS_KEYS } from '../redis/keys.js';

export async function prefixHoldsData(redis: Redis, prefix: string): Promise<boolean> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', REDIS_KEYS.everything(prefix), 'COUNT', 1000);
    if (keys.length > 0) return true;
    cursor = next;
  } while (cursor !== '0');
  return false;
}
