/**
 * The customer set (`<prefix>:customers`) is kept by the record store in the
 * same transaction as each record it creates or merges away. Records stored
 * before the set existed, and records an admin links or unlinks by hand
 * (src/sync/admin/identity-admin.ts writes records directly), are brought in by
 * this reconciliation, which the worker runs at start-up. Until it has run
 * once, the report counts records by SCAN instead.
 */
import type { Redis } from 'ioredis';
import { scanCustomerIds } from './store.js';
import { REDIS_KEYS } from '../redis/keys.js';

export async function reconcileCustomers(redis: Redis, prefix: string): Promise<{ added: number; removed: number }> {
  const keys = REDIS_KEYS.deflection(prefix);
  const found = await scanCustomerIds(redis, prefix);
  let added = 0;
  for (let i = 0; i < found.length; i += 1000) added += await redis.sadd(keys.customers, ...found.slice(i, i + 1000));
  // Members whose record is gone (merged by an admin link): checked one by one, since a merge may land meanwhile.
  const members = await redis.smembers(keys.customers);
  const recordKey = REDIS_KEYS.records(prefix).record;
  let removed = 0;
  for (let i = 0; i < members.length; i += 1000) {
    const ids = members.slice(i, i + 1000);
    const exists = await Promise.all(ids.map((id) => redis.exists(recordKey(id))));
    const gone = ids.filter((_, n) => exists[n] === 0);
    if (gone.length > 0) removed += await redis.srem(keys.customers, ...gone);
  }
  await redis.set(keys.customersComplete, new Date().toISOString());
  return { added, removed };
}
