/**
 * The upgrade of a single-account deployment to account-scoped Stripe keys: every `stripe:cus_…` identity key
 * (index, the record's key set, its system-key index, an admin's kept-apart pairs) becomes
 * `stripe:<acct_…>:cus_…` of the one account it was written for. One key per optimistic transaction, so the
 * daemon may keep running; resumable by construction (a moved key no longer matches the scan, so a second run
 * finds only what the first did not reach); done when a scan finds nothing, and then marked, so that it never
 * runs for another account by mistake. The record itself holds customer ids, not keys: its links are untouched.
 */
import type { Redis } from 'ioredis';
import { apartPair, stripeKey } from '../events/identity.js';
import type { RecordStore } from '../events/store.js';
import { REDIS_KEYS } from '../redis/keys.js';

export interface StripeKeyMigration {
  accountId: string;
  /** Keys moved by this run. */
  moved: number;
  /** Keys whose scoped key already pointed at another record: left as they were, for an admin (listed). */
  clashes: Array<{ key: string; recordId: string; scopedOwner: string }>;
  /** True when no legacy key is left: the marker is written. */
  done: boolean;
}

/** Where the migration records that it finished, and for which account (hash field `stripe-account-keys`). */
const migrationsKey = (prefix: string): string => REDIS_KEYS.migrations(prefix);
const STRIPE_KEYS_MIGRATION = 'stripe-account-keys';

export class MigrationRefusedError extends Error {
  override name = 'MigrationRefusedError';
}

/** The account an earlier run finished the migration for, if any. */
export async function stripeKeysMigratedTo(redis: Redis, prefix: string): Promise<string | null> {
  return redis.hget(migrationsKey(prefix), STRIPE_KEYS_MIGRATION);
}

const LEGACY = /^stripe:(cus_[^:]+)$/;

/**
 * Moves every legacy key to `accountId`. `dryRun` counts what would move and writes nothing. Refuses to
 * run for another account than a finished run's (the keys are already that account's).
 */
export async function migrateStripeKeys(
  redis: Redis,
  store: RecordStore,
  prefix: string,
  accountId: string,
  opts: { dryRun?: boolean; onProgress?: (moved: number) => void } = {},
): Promise<StripeKeyMigration> {
  if (!/^acct_[A-Za-z0-9]{1,64}$/.test(accountId))
    throw new MigrationRefusedError(`${accountId} is not a Stripe account id (acct_…)`);
  const earlier = await stripeKeysMigratedTo(redis, prefix);
  if (earlier !== null && earlier !== accountId) {
    throw new MigrationRefusedError(
      `the Stripe keys were migrated to ${earlier} already; they cannot be moved to ${accountId} as well`,
    );
  }
  const result: StripeKeyMigration = { accountId, moved: 0, clashes: [], done: false };
  const at = store.indexKey('').length;
  let cursor = '0';
  const conn = redis.duplicate();
  conn.on('error', () => undefined);
  try {
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', store.indexKey('stripe:cus_*'), 'COUNT', 500);
      cursor = next;
      for (const indexKey of found) {
        const key = indexKey.slice(at);
        const m = LEGACY.exec(key);
        if (!m) continue;
        if (opts.dryRun) {
          result.moved += 1;
          continue;
        }
        const outcome = await moveKey(conn, store, key, stripeKey(m[1]!, accountId));
        if (outcome.kind === 'moved') result.moved += 1;
        else if (outcome.kind === 'clash')
          result.clashes.push({ key, recordId: outcome.recordId, scopedOwner: outcome.scopedOwner });
        opts.onProgress?.(result.moved);
      }
    } while (cursor !== '0');
  } finally {
    conn.disconnect();
  }
  result.done = !opts.dryRun && result.clashes.length === 0;
  if (result.done) await redis.hset(migrationsKey(prefix), STRIPE_KEYS_MIGRATION, accountId);
  return result;
}

type Move = { kind: 'moved' } | { kind: 'gone' } | { kind: 'clash'; recordId: string; scopedOwner: string };

/** One key, in one transaction: retried when a worker changed the record (or the index) meanwhile. */
async function moveKey(conn: Redis, store: RecordStore, legacy: string, scoped: string): Promise<Move> {
  for (let attempt = 0; attempt < 50; attempt++) {
    await conn.watch(store.indexKey(legacy), store.indexKey(scoped), store.apartKey);
    const [recordId, scopedOwner, apart] = await Promise.all([
      conn.get(store.indexKey(legacy)),
      conn.get(store.indexKey(scoped)),
      conn.smembers(store.apartKey),
    ]);
    if (recordId === null) {
      await conn.unwatch();
      return { kind: 'gone' };
    }
    if (scopedOwner !== null && scopedOwner !== recordId) {
      await conn.unwatch();
      return { kind: 'clash', recordId, scopedOwner };
    }
    await conn.watch(store.ownedKey(recordId), store.keyIndexKey(recordId));
    const indexed = await conn.hexists(store.keyIndexKey(recordId), legacy);
    const tx = conn.multi();
    tx.set(store.indexKey(scoped), recordId).del(store.indexKey(legacy));
    tx.srem(store.ownedKey(recordId), legacy).sadd(store.ownedKey(recordId), scoped);
    // The set keeps its size (one key out, one in), so the index's #keys count stays true.
    if (indexed === 1) tx.hdel(store.keyIndexKey(recordId), legacy).hset(store.keyIndexKey(recordId), scoped, '1');
    // A pair is two keys joined by `|` (an email may hold one too): the legacy key is a whole side of it.
    for (const pair of apart) {
      const other = pair.startsWith(`${legacy}|`)
        ? pair.slice(legacy.length + 1)
        : pair.endsWith(`|${legacy}`)
          ? pair.slice(0, -legacy.length - 1)
          : null;
      if (other !== null) tx.srem(store.apartKey, pair).sadd(store.apartKey, apartPair(scoped, other));
    }
    if ((await tx.exec()) !== null) return { kind: 'moved' };
  }
  throw new Error(`${legacy}: the record changed under the migration 50 times; run it again`);
}
