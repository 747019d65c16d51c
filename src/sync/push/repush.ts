/**
 * A changed field mapping reaches every customer: when a worker starts with a target's mapping other than
 * the one that target's pushes were made with (its fingerprint, kept in Redis), every customer is queued
 * for that target's bulk pushes (bulk.ts). A drain pushes only customers whose projection, mapped
 * values included, differs from what the target accepted last: those the change affects, many per call.
 */
import type { Redis } from 'ioredis';
import type { PortalTargetName } from '../target-names.js';
import { queueForBulk } from './bulk.js';
import { mappingFingerprint } from '../mapping/apply.js';
import { REDIS_KEYS } from '../redis/keys.js';
import type { MappingConfig } from '../mapping/schema.js';

const BATCH = 1_000;

export interface MappingChangeDeps {
  redis: Redis;
  prefix: string;
  /** The record store's set of every customer id (RecordStore.customersKey). */
  customersKey: string;
  /** Schedules a drain of the target's pending bulk pushes. */
  drain: (target: PortalTargetName) => Promise<unknown>;
}

/**
 * Queues every customer for the targets whose mapping changed; returns how many were queued per target.
 * A first start with no mapping only notes the (empty) mapping: nothing changed what is written. The new
 * fingerprint is kept once every customer is queued, so a worker stopped half-way queues them again.
 */
export async function repushOnMappingChange(
  deps: MappingChangeDeps,
  targets: readonly PortalTargetName[],
  mapping: MappingConfig,
): Promise<Partial<Record<PortalTargetName, number>>> {
  const queued: Partial<Record<PortalTargetName, number>> = {};
  for (const target of targets) {
    const key = REDIS_KEYS.mappingFingerprint(deps.prefix, target);
    const now = mappingFingerprint(mapping, target);
    const before = await deps.redis.get(key);
    if (before === now) continue;
    const nothingMapped = Object.values(mapping[target]).every((entries) => entries.length === 0);
    if (before !== null || !nothingMapped) {
      let n = 0;
      let cursor = '0';
      do {
        const [next, ids] = await deps.redis.sscan(deps.customersKey, cursor, 'COUNT', BATCH);
        cursor = next;
        if (ids.length > 0) {
          await queueForBulk(deps.redis, deps.prefix, target, ids);
          n += ids.length;
        }
      } while (cursor !== '0');
      if (n > 0) await deps.drain(target);
      queued[target] = n;
    }
    await deps.redis.set(key, now);
  }
  return queued;
}
