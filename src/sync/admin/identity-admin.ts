/**
 * Manual identity fixes: an admin links two records that are one customer,
 * or unlinks an identity key from a record that should not hold it. Both are
 * atomic (WATCH/MULTI), both are written to the record's audit trail (who,
 * when, why), and an unlink is remembered so that the next webhook does not
 * merge the two halves again.
 */
import type { Redis } from 'ioredis';
import { apartPair, clashingKey, type IdentityKey } from '../events/identity.js';
import { mergeRecords } from '../events/merge.js';
import type { CustomerRecord } from '../events/record.js';
import { spillPeople, withEmailPointers, withPeopleBeside } from '../events/people.js';
import { splitRecord } from '../events/split.js';
import { newRecordId, type RecordStore } from '../events/store.js';

export interface AuditEntry {
  at: string;
  action: 'link' | 'unlink' | 'forget';
  by: string;
  reason: string;
  recordIds: string[];
  keys: IdentityKey[];
}

function hasEntities(r: CustomerRecord): boolean {
  const { stripe, salesforce, zendesk } = r;
  return (
    stripe.customer !== null ||
    salesforce.account !== null ||
    zendesk.organization !== null ||
    [
      stripe.subscriptions,
      stripe.invoices,
      stripe.paymentMethods,
      stripe.charges,
      salesforce.contacts,
      zendesk.users,
      zendesk.tickets,
    ].some((m) => Object.keys(m).length > 0)
  );
}

class IdentityAdminError extends Error {
  override name = 'IdentityAdminError';
}

export class IdentityAdmin {
  constructor(
    private readonly store: RecordStore,
    private readonly redis: Redis,
  ) {}

  async audit(recordId: string): Promise<AuditEntry[]> {
    return (await this.redis.lrange(this.store.auditKey(recordId), 0, -1)).map((e) => JSON.parse(e) as AuditEntry);
  }

  /** Merges record `b` into record `a`; refuses when they hold different ids of one system. */
  async link(aId: string, bId: string, who: { by: string; reason: string }): Promise<CustomerRecord> {
    if (aId === bId) throw new IdentityAdminError(`both references name the same record ${aId}: nothing to link`);
    return this.transaction([aId, bId], async (conn) => {
      const [a, b] = await Promise.all([this.load(conn, aId), this.load(conn, bId)]);
      const [aKeys, bKeys] = await Promise.all([
        conn.smembers(this.store.ownedKey(aId)),
        conn.smembers(this.store.ownedKey(bId)),
      ]);
      const clash = clashingKey(aKeys, bKeys);
      if (clash) {
        throw new IdentityAdminError(
          `${aId} holds ${clash.ours} and ${bId} holds ${clash.theirs}: one customer cannot have two; unlink one of them first`,
        );
      }
      // Past the record's bound, the merged record's last people go beside it (people.ts), as an event's merge does.
      const { record: merged, spilled } = spillPeople(mergeRecords(a, b, aId));
      const entry: AuditEntry = {
        at: new Date().toISOString(),
        action: 'link',
        ...who,
        recordIds: [aId, bId],
        keys: bKeys.sort(),
      };
      const tx = conn.multi().set(this.store.recordKey(aId), JSON.stringify(merged));
      for (const k of bKeys) tx.set(this.store.indexKey(k), aId).sadd(this.store.ownedKey(aId), k);
      // The link overrides earlier unlinks between these keys, and settles their conflicts.
      for (const x of aKeys) for (const y of bKeys) tx.srem(this.store.apartKey, apartPair(x, y));
      for (const c of await this.store.listConflicts())
        if (c.recordIds.includes(aId) && c.recordIds.includes(bId)) this.store.dropConflict(tx, c);
      tx.rpush(
        this.store.auditKey(aId),
        JSON.stringify(entry),
        ...(await conn.lrange(this.store.auditKey(bId), 0, -1)),
      );
      // People kept beside b move with it (an identity key belongs to one record: none is beside both).
      const besideB = await conn.hgetall(this.store.peopleKey(bId));
      if (Object.keys(besideB).length > 0) tx.hset(this.store.peopleKey(aId), besideB);
      if (spilled.length > 0)
        tx.hset(this.store.peopleKey(aId), Object.fromEntries(withEmailPointers(new Map(spilled))));
      tx.del(
        this.store.recordKey(bId),
        this.store.ownedKey(bId),
        this.store.auditKey(bId),
        this.store.peopleKey(bId),
        this.store.keyIndexKey(bId),
      );
      // The store rebuilds a record's key index from its whole key set on its next event (key-index.ts).
      tx.del(this.store.keyIndexKey(aId));
      tx.srem(this.store.customersKey, bId);
      return { tx, result: merged };
    });
  }

  /** Moves what came with `key` out of the record into a new one (an email link is simply dropped). */
  async unlink(
    recordId: string,
    key: IdentityKey,
    who: { by: string; reason: string },
  ): Promise<{ kept: CustomerRecord; moved: CustomerRecord | null }> {
    return this.transaction([recordId], async (conn) => {
      const record = await this.load(conn, recordId);
      const owned = await conn.smembers(this.store.ownedKey(recordId));
      if (!owned.includes(key))
        throw new IdentityAdminError(
          `${recordId} does not hold ${key}; it holds ${owned.sort().join(', ') || 'nothing'}`,
        );
      if (owned.length === 1)
        throw new IdentityAdminError(`${key} is the only identity of ${recordId}: there is nothing to split it from`);
      // The whole customer, people kept beside the record included (people.ts): they move with their key,
      // Account or organization like the others, and each half keeps its first people, the rest beside it.
      const beside = await conn.hgetall(this.store.peopleKey(recordId));
      const split = splitRecord(withPeopleBeside(record, beside), key, newRecordId(), owned);
      const keepsEntities = hasEntities(split.moved);
      const [kept, moved] = [spillPeople(split.kept), spillPeople(split.moved)];
      const tx = conn.multi().set(this.store.recordKey(recordId), JSON.stringify(kept.record));
      if (Object.keys(beside).length > 0) tx.del(this.store.peopleKey(recordId));
      if (kept.spilled.length > 0)
        tx.hset(this.store.peopleKey(recordId), Object.fromEntries(withEmailPointers(new Map(kept.spilled))));
      for (const k of split.movedKeys) tx.srem(this.store.ownedKey(recordId), k);
      tx.del(this.store.keyIndexKey(recordId));
      if (keepsEntities) {
        tx.set(this.store.recordKey(split.moved.id), JSON.stringify(moved.record)).sadd(
          this.store.customersKey,
          split.moved.id,
        );
        if (moved.spilled.length > 0)
          tx.hset(this.store.peopleKey(split.moved.id), Object.fromEntries(withEmailPointers(new Map(moved.spilled))));
        for (const k of split.movedKeys)
          tx.set(this.store.indexKey(k), split.moved.id).sadd(this.store.ownedKey(split.moved.id), k);
      } else {
        for (const k of split.movedKeys) tx.del(this.store.indexKey(k));
      }
      const remaining = owned.filter((k) => !split.movedKeys.includes(k));
      for (const k of remaining) tx.sadd(this.store.apartKey, apartPair(k, key));
      const entry: AuditEntry = {
        at: new Date().toISOString(),
        action: 'unlink',
        ...who,
        recordIds: keepsEntities ? [recordId, split.moved.id] : [recordId],
        keys: split.movedKeys,
      };
      tx.rpush(this.store.auditKey(recordId), JSON.stringify(entry));
      if (keepsEntities) tx.rpush(this.store.auditKey(split.moved.id), JSON.stringify(entry));
      return { tx, result: { kept: kept.record, moved: keepsEntities ? moved.record : null } };
    });
  }

  /**
   * Removes a record for good — for a customer gone from every source, or data that must be erased.
   * Nothing else ever deletes a record. Its identity keys are released (a later event about them
   * starts a new record), and the removal is kept in the global audit trail.
   */
  async forget(recordId: string, who: { by: string; reason: string }): Promise<{ keys: IdentityKey[] }> {
    return this.transaction([recordId], async (conn) => {
      await this.load(conn, recordId);
      const owned = (await conn.smembers(this.store.ownedKey(recordId))).sort();
      const owners = owned.length > 0 ? await conn.mget(...owned.map((k) => this.store.indexKey(k))) : [];
      const entry: AuditEntry = {
        at: new Date().toISOString(),
        action: 'forget',
        ...who,
        recordIds: [recordId],
        keys: owned,
      };
      const tx = conn
        .multi()
        .del(
          this.store.recordKey(recordId),
          this.store.ownedKey(recordId),
          this.store.auditKey(recordId),
          this.store.peopleKey(recordId),
          this.store.keyIndexKey(recordId),
        );
      owned.forEach((k, i) => {
        if (owners[i] === recordId) tx.del(this.store.indexKey(k));
      });
      tx.srem(this.store.customersKey, recordId).rpush(this.store.globalAuditKey, JSON.stringify(entry));
      return { tx, result: { keys: owned } };
    });
  }

  private async load(conn: Redis, id: string): Promise<CustomerRecord> {
    const raw = await conn.get(this.store.recordKey(id));
    if (raw === null) throw new IdentityAdminError(`no record ${id}`);
    return JSON.parse(raw) as CustomerRecord;
  }

  // WATCH/MULTI, not a Lua script: a link or unlink rebuilds records with the merge code (TypeScript) from what
  // it read, and writes index keys known only after that read. Every key it watches is named here.
  private async transaction<T>(
    ids: string[],
    build: (conn: Redis) => Promise<{ tx: ReturnType<Redis['multi']>; result: T }>,
  ): Promise<T> {
    const conn = this.redis.duplicate();
    try {
      for (let attempt = 0; attempt < 20; attempt++) {
        await conn.watch(
          ...ids.flatMap((id) => [this.store.recordKey(id), this.store.ownedKey(id), this.store.peopleKey(id)]),
          this.store.apartKey,
        );
        const { tx, result } = await build(conn);
        if ((await tx.exec()) !== null) return result;
      }
      throw new IdentityAdminError('the records kept changing under us; try again');
    } finally {
      conn.disconnect();
    }
  }
}
