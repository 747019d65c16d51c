/**
 * Tombstones of forgotten customers: for a configured time after `identity
 * forget`, events that name one of the customer's identity keys are dropped
 * by the worker (counted, their job data scrubbed) instead of creating the
 * record again. Keys are kept only as keyed hashes (a random salt kept in
 * Redis), so a tombstone holds no email or id in the clear. `identity restore`
 * lifts every tombstone of the same forget.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { IdentityKey } from './identity.js';
import { REDIS_KEYS } from '../redis/keys.js';

const DAY_MS = 86_400_000;

export class Tombstones {
  /**
   * How long a worker may go on believing that nothing was ever forgotten under its prefix (no salt yet)
   * before it asks Redis again. Without it every event costs a round trip for a feature most deployments
   * never use; `forgetCustomer` waits this long after laying the first tombstones, so no worker still
   * believes it when the sweep starts.
   */
  static readonly NOTICE_MS = 1_000;
  private knownSalt: string | null = null;
  private noSaltSince = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get saltKey(): string {
    return REDIS_KEYS.forgotten(this.prefix).salt;
  }
  private tombKey(hash: string): string {
    return REDIS_KEYS.forgotten(this.prefix).key(hash);
  }
  private groupKey(group: string): string {
    return REDIS_KEYS.forgotten(this.prefix).group(group);
  }
  /** Events dropped because they named a forgotten customer (a counter, for status and metrics). */
  get droppedKey(): string {
    return REDIS_KEYS.forgotten(this.prefix).dropped;
  }

  private async salt(create: boolean): Promise<string | null> {
    const salt = await this.redis.get(this.saltKey);
    if (salt !== null || !create) return salt;
    await this.redis.set(this.saltKey, randomBytes(32).toString('hex'), 'NX');
    return this.redis.get(this.saltKey);
  }

  /** The pseudonymous reference of an identity key (or any value): what audits and tombstones keep instead of it. */
  async hashOf(value: string): Promise<string> {
    return hashWith((await this.salt(true))!, value);
  }

  /** Lays tombstones on these keys for `days`; returns the group id that `restore` lifts. */
  async add(keys: readonly IdentityKey[], days: number): Promise<{ group: string; hashes: string[] }> {
    const salt = (await this.salt(true))!;
    const hashes = keys.map((k) => hashWith(salt, k.toLowerCase()));
    const group = randomBytes(8).toString('hex');
    const ttl = Math.max(1, Math.round(days * DAY_MS));
    const tx = this.redis.multi();
    for (const h of hashes) tx.set(this.tombKey(h), group, 'PX', ttl);
    if (hashes.length > 0) tx.sadd(this.groupKey(group), ...hashes).pexpire(this.groupKey(group), ttl);
    await tx.exec();
    return { group, hashes };
  }

  /** Whether any of these keys has a tombstone. */
  async forgotten(keys: readonly IdentityKey[]): Promise<boolean> {
    if (keys.length === 0) return false;
    const salt = await this.knownOrFreshSalt();
    if (salt === null) return false; // nothing was ever forgotten here
    const found = await this.redis.mget(...keys.map((k) => this.tombKey(hashWith(salt, k.toLowerCase()))));
    return found.some((g) => g !== null);
  }

  /** The salt, once seen kept for good (it is set once and never changes); its absence re-checked after NOTICE_MS. */
  private async knownOrFreshSalt(): Promise<string | null> {
    if (this.knownSalt !== null) return this.knownSalt;
    if (Date.now() - this.noSaltSince < Tombstones.NOTICE_MS) return null;
    const salt = await this.salt(false);
    if (salt === null) this.noSaltSince = Date.now();
    else this.knownSalt = salt;
    return salt;
  }

  /** Whether a salt exists, i.e. something was forgotten under this prefix before. */
  async anyEver(): Promise<boolean> {
    return (await this.salt(false)) !== null;
  }

  /** The group id of the forget that laid a tombstone on `key`, or null when it has none. */
  async groupOf(key: IdentityKey): Promise<string | null> {
    const salt = await this.salt(false);
    return salt === null ? null : this.redis.get(this.tombKey(hashWith(salt, key.toLowerCase())));
  }

  /**
   * Lifts every tombstone laid with the one on `key`; returns how many, 0 when it had none. The forget's
   * portal clear plan (portal-clear.ts, kept under the same group) goes with them: the customer is back.
   */
  async restore(key: IdentityKey): Promise<number> {
    const salt = await this.salt(false);
    if (salt === null) return 0;
    const group = await this.redis.get(this.tombKey(hashWith(salt, key.toLowerCase())));
    if (group === null) return 0;
    const hashes = await this.redis.smembers(this.groupKey(group));
    const all = [...new Set([...hashes, hashWith(salt, key.toLowerCase())])];
    await this.redis.del(
      ...all.map((h) => this.tombKey(h)),
      this.groupKey(group),
      REDIS_KEYS.forgotten(this.prefix).portal(group),
    );
    return all.length;
  }

  /**
   * `identity restore`: lifts the tombstones (restore) and, when there were any, says so in the audit
   * trail at `auditKey` (the record store's global one), naming the key by its hash only.
   */
  async restoreAudited(
    key: IdentityKey,
    who: { by: string; reason: string },
    auditKey: string,
    now = new Date(),
  ): Promise<number> {
    const n = await this.restore(key);
    if (n > 0) {
      const entry = {
        at: now.toISOString(),
        action: 'restore',
        ...who,
        recordIds: [],
        keys: [`forgotten:${await this.hashOf(key.toLowerCase())}`],
      };
      await this.redis.rpush(auditKey, JSON.stringify(entry));
    }
    return n;
  }

  async noteDropped(): Promise<void> {
    await this.redis.incr(this.droppedKey);
  }

  async dropped(): Promise<number> {
    return Number((await this.redis.get(this.droppedKey)) ?? 0);
  }
}

function hashWith(salt: string, value: string): string {
  return createHash('sha256').update(salt).update('\0').update(value).digest('hex').slice(0, 32);
}
