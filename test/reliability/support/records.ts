/**
 * The store as `inspect --json` would show it, made comparable across runs:
 * record ids are random (cust_…), so each record is keyed by the identity
 * keys it owns and its stored JSON — byte for byte, as the store holds it —
 * has its own id replaced by `<id>`.
 */
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { lineage } from '../../../src/cli/inspect.js';
import type { CustomerRecord } from '../../../src/sync/record.js';
import { jobIdFor, type Source } from '../../../src/sync/source-event.js';

export type RecordsSnapshot = Map<string, string>;

/** Every key matching `match` (SCAN, never KEYS). */
export async function scanKeys(redis: Redis, match: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

/** Every stored record: owned identity keys (sorted, joined) → stored JSON with its id masked. */
export async function snapshotRecords(redis: Redis, prefix: string): Promise<RecordsSnapshot> {
  const recordKeys = (await scanKeys(redis, `${prefix}:rec:*`)).filter((k) => /:rec:[^:]+$/.test(k));
  const snapshot: RecordsSnapshot = new Map();
  for (let i = 0; i < recordKeys.length; i += 200) {
    const batch = recordKeys.slice(i, i + 200);
    const p = redis.pipeline();
    for (const k of batch) p.get(k).smembers(`${k}:keys`);
    const replies = (await p.exec()) ?? [];
    batch.forEach((k, j) => {
      const id = k.slice(k.lastIndexOf(':') + 1);
      const raw = replies[2 * j]?.[1] as string | null;
      const owned = ((replies[2 * j + 1]?.[1] as string[] | undefined) ?? []).sort();
      if (raw === null) return;
      const key = owned.join(' ') || `(no keys) ${id}`;
      if (snapshot.has(key)) throw new Error(`two records own exactly the keys ${key}`);
      snapshot.set(key, raw.replaceAll(id, '<id>'));
    });
  }
  return snapshot;
}

/** Where two serialized records part: the text around the first differing character of each. */
function firstDifference(expected: string, actual: string): { at: number; expected: string; actual: string } {
  let i = 0;
  while (i < expected.length && expected[i] === actual[i]) i++;
  const from = Math.max(0, i - 160);
  return { at: i, expected: expected.slice(from, i + 240), actual: actual.slice(from, i + 240) };
}

/** Fails with the first few differing records, not a diff of thousands. */
export function expectSameRecords(actual: RecordsSnapshot, expected: RecordsSnapshot, what: string): void {
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  const differ = [...expected.keys()].filter((k) => actual.has(k) && actual.get(k) !== expected.get(k));
  const sample = differ.slice(0, 3).map((k) => ({ keys: k, ...firstDifference(expected.get(k)!, actual.get(k)!) }));
  expect({ what, missing: missing.slice(0, 5), extra: extra.slice(0, 5), differ: differ.length, sample }).toEqual({ what, missing: [], extra: [], differ: 0, sample: [] });
  expect(actual.size).toBe(expected.size);
}

/**
 * The job ids (`<source>-<event id>`) of the events that set some part of a record: with traffic in
 * which every event writes an object of its own, that is every event that was applied.
 */
export async function appliedEventIds(redis: Redis, prefix: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const keys = (await scanKeys(redis, `${prefix}:rec:*`)).filter((k) => /:rec:[^:]+$/.test(k));
  for (let i = 0; i < keys.length; i += 200) {
    const raws = await redis.mget(...keys.slice(i, i + 200));
    for (const raw of raws) {
      if (raw === null) continue;
      for (const row of lineage(JSON.parse(raw) as CustomerRecord)) ids.add(jobIdFor(row.entity.slice(0, row.entity.indexOf('.')) as Source, row.eventId));
    }
  }
  return ids;
}
