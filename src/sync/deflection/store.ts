/**
 * DeflectionData on Redis: what the report reads, exactly as the tracker
 * wrote it. Read-only: creating one issues no command, so the web role can
 * build it at start-up even while Redis is away.
 *
 * Each list is a sorted set scored by the item's own time (a session by its
 * start, an outcome by its decision, a search or a ticket by when it
 * happened), read for [from, to) page by page so that a long period never
 * asks Redis for one huge reply.
 */
import type { Redis } from 'ioredis';
import { hourBuckets } from './keys.js';
import type { DeflectionData, DeflectionEvent, NoResultSearch, SessionStart, TicketOpened } from './types.js';
import { REDIS_KEYS, type DeflectionKeys } from '../redis/keys.js';

const PAGE = 5_000;

/** Counters summed over a period, by field: `deflected`, `escalated:billing`, `sessions`, `tickets`, … */
type DeflectionCounts = Record<string, number>;

export interface DeflectionStore extends DeflectionData {
  /** The hourly counters summed over the hours that overlap [from, to). */
  counts(from: Date, to: Date): Promise<DeflectionCounts>;
}

async function membersBetween(redis: Redis, key: string, from: Date, to: Date): Promise<string[]> {
  const min = from.getTime();
  const max = to.getTime();
  if (!Number.isFinite(min) || !Number.isFinite(max) || min >= max) return [];
  const out: string[] = [];
  for (let offset = 0; ; offset += PAGE) {
    // `(` makes the upper bound exclusive: the period is [from, to).
    const page = await redis.zrangebyscore(key, min, `(${max}`, 'LIMIT', offset, PAGE);
    out.push(...page);
    if (page.length < PAGE) return out;
  }
}

const parseAll = <T>(rows: string[]): T[] => rows.map((r) => JSON.parse(r) as T);

/**
 * Records whose key is `<prefix>:rec:<id>` (not `…:keys` or `…:audit`), counted by SCAN: the
 * fallback until the worker has reconciled the customer set once, and what that reconciliation uses.
 */
export async function scanCustomerIds(redis: Redis, prefix: string): Promise<string[]> {
  const head = REDIS_KEYS.records(prefix).head;
  const ids: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const id = key.slice(head.length);
      if (!id.includes(':')) ids.push(id);
    }
  } while (cursor !== '0');
  return [...new Set(ids)];
}

async function customerCount(redis: Redis, keys: DeflectionKeys, prefix: string): Promise<number> {
  const [complete, count] = await Promise.all([redis.exists(keys.customersComplete), redis.scard(keys.customers)]);
  return complete === 1 ? count : (await scanCustomerIds(redis, prefix)).length;
}

export function createDeflectionData(redis: Redis, prefix: string): DeflectionStore {
  const keys = REDIS_KEYS.deflection(prefix);
  return {
    async events(from, to) {
      return parseAll<DeflectionEvent>(await membersBetween(redis, keys.events, from, to));
    },
    async sessions(from, to) {
      return parseAll<SessionStart>(await membersBetween(redis, keys.sessions, from, to));
    },
    async noResultSearches(from, to) {
      // Stored with the event id so that two equal searches stay two members; the contract has no such field.
      return parseAll<NoResultSearch & { eventId?: string }>(await membersBetween(redis, keys.noResults, from, to)).map(
        ({ query, at, customerId, brandId }): NoResultSearch => ({
          query,
          at,
          customerId,
          ...(brandId ? { brandId } : {}),
        }),
      );
    },
    async ticketsOpened(from, to) {
      return parseAll<TicketOpened>(await membersBetween(redis, keys.tickets, from, to));
    },
    customerCount: () => customerCount(redis, keys, prefix),
    async historyFrom() {
      const mark = await redis.get(keys.trimmedUntil);
      return mark === null ? null : Number(mark);
    },
    async counts(from, to) {
      const buckets = hourBuckets(from.getTime(), to.getTime());
      const pipeline = redis.pipeline();
      for (const b of buckets) pipeline.hgetall(keys.counts(b));
      const totals: DeflectionCounts = {};
      for (const [err, row] of (await pipeline.exec()) ?? []) {
        if (err) throw err;
        for (const [field, n] of Object.entries(row as Record<string, string>))
          totals[field] = (totals[field] ?? 0) + Number(n);
      }
      return totals;
    },
  };
}
