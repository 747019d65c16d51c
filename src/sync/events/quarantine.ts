/**
 * The quarantine: verified payloads that failed their schema (answered 202), kept for inspection and
 * replay. What lists and dashboards read — id, source, event id, reason, time, size — is stored apart
 * from the bodies, so a view of ten thousand 1 MiB entries reads a page of small records and no body.
 *
 * Keys (all under `<prefix>:quarantine:`): `ids` (sorted set by arrival), `meta` (hash id → JSON),
 * `bodies` (hash id → body), `bytes` (the bodies' total size), `evicted` (how many were evicted).
 * Bounded by entries and by body bytes (`quarantine.maxEntries`, `quarantine.maxBytes`): past either,
 * the oldest entries are evicted, counted (`evicted`, and the caller's metric and log), never silently.
 * Releases before this one kept whole entries in the list `<prefix>:quarantine`; they are moved here when
 * the daemon starts and before each new entry (never by a read: `dlq list` and `status` write nothing).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Source } from './source-event.js';
import { REDIS_KEYS } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';

export interface QuarantineMeta {
  id: string;
  source: Source;
  eventId: string | null;
  reason: string;
  receivedAt: string;
  contentType: string | null;
  /** The signed timestamp a Zendesk trigger body came with: its event id is made from it, so replay needs it. */
  signedAt?: string;
  /** The Stripe account the delivery was verified for (`acct_…`): its customers' keys on replay. Absent: the unnamed single account. */
  stripeAccountId?: string;
  /** Size of the body in bytes (UTF-8). */
  bytes: number;
}

export interface QuarantineEntry extends QuarantineMeta {
  /** The verified body, kept for inspection and replay (never logged). */
  body: string;
}

export type NewQuarantineEntry = Omit<QuarantineEntry, 'id' | 'receivedAt' | 'bytes'>;

export interface QuarantineLimits {
  maxEntries: number;
  maxBytes: number;
}

export interface QuarantineStats {
  entries: number;
  bytes: number;
  /** Entries evicted to stay within the limits, since the quarantine was last purged. */
  evicted: number;
}

export class QuarantineStore {
  readonly keys: ReturnType<typeof REDIS_KEYS.quarantine>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly limits: QuarantineLimits,
  ) {
    this.keys = REDIS_KEYS.quarantine(prefix);
  }

  /** Stores one entry; returns it (without its body) and the ids of the entries evicted to make room. */
  async put(entry: NewQuarantineEntry, receivedAt = new Date()): Promise<{ meta: QuarantineMeta; evicted: string[] }> {
    await this.migrateLegacy();
    const { body, ...rest } = entry;
    const meta: QuarantineMeta = {
      id: randomUUID(),
      receivedAt: receivedAt.toISOString(),
      ...rest,
      bytes: Buffer.byteLength(body),
    };
    const evicted = (await runScript(
      this.redis,
      'quarantine-put',
      [...this.scriptKeys(), this.keys.evicted],
      [
        meta.id,
        String(receivedAt.getTime()),
        JSON.stringify(meta),
        body,
        String(this.limits.maxEntries),
        String(this.limits.maxBytes),
      ],
    )) as string[];
    return { meta, evicted };
  }

  /** A page of entries without their bodies, newest first. */
  async page(opts: { offset?: number; limit: number }): Promise<QuarantineMeta[]> {
    const offset = opts.offset ?? 0;
    const ids = await this.redis.zrevrange(this.keys.ids, offset, offset + opts.limit - 1);
    if (ids.length === 0) return [];
    const rows = await this.redis.hmget(this.keys.meta, ...ids);
    return rows.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as QuarantineMeta);
  }

  /** Every id, oldest first (36 bytes each: no body, no metadata). */
  async allIds(): Promise<string[]> {
    return this.redis.zrange(this.keys.ids, '0', '-1');
  }

  /** One entry with its body. */
  async get(id: string): Promise<QuarantineEntry | null> {
    const [meta, body] = await Promise.all([
      this.redis.hget(this.keys.meta, id),
      this.redis.hget(this.keys.bodies, id),
    ]);
    if (meta !== null && body === null) {
      // Its body was erased (`identity forget` sweeps every hash field naming the customer): nothing left to replay.
      await this.remove(id);
      return null;
    }
    return meta === null || body === null ? null : { ...(JSON.parse(meta) as QuarantineMeta), body };
  }

  async stats(): Promise<QuarantineStats> {
    const [entries, bytes, evicted] = await Promise.all([
      this.redis.zcard(this.keys.ids),
      this.redis.get(this.keys.bytes),
      this.redis.get(this.keys.evicted),
    ]);
    return { entries, bytes: Number(bytes ?? 0), evicted: Number(evicted ?? 0) };
  }

  async remove(id: string): Promise<boolean> {
    return Number(await runScript(this.redis, 'quarantine-remove', this.scriptKeys(), [id])) === 1;
  }

  /** Deletes every entry (and the eviction count); returns how many entries there were. */
  async purge(): Promise<number> {
    const { entries } = await this.stats();
    const k = this.keys;
    await this.redis.del(k.ids, k.meta, k.bodies, k.bytes, k.evicted);
    return entries;
  }

  private scriptKeys(): [string, string, string, string] {
    return [this.keys.ids, this.keys.meta, this.keys.bodies, this.keys.bytes];
  }

  /** Moves entries written by earlier releases (whole JSON entries in one list) into the split layout, oldest first. */
  async migrateLegacy(): Promise<void> {
    // Copied, then removed: a process that dies in between leaves the entry to be copied again (PUT replaces).
    for (;;) {
      const raw = await this.redis.lindex(this.keys.legacyList, -1);
      if (raw === null) return;
      const { id, receivedAt, body, ...rest } = JSON.parse(raw) as Omit<QuarantineEntry, 'bytes'>;
      const meta: QuarantineMeta = { id, receivedAt, ...rest, bytes: Buffer.byteLength(body) };
      await runScript(
        this.redis,
        'quarantine-put',
        [...this.scriptKeys(), this.keys.evicted],
        [
          id,
          String(Date.parse(receivedAt)),
          JSON.stringify(meta),
          body,
          String(this.limits.maxEntries),
          String(this.limits.maxBytes),
        ],
      );
      await this.redis.lrem(this.keys.legacyList, -1, raw);
    }
  }
}
