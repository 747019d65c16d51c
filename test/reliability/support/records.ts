/**
 * The store as `inspect --json` would show it, made comparable across runs:
 * record ids are random (cust_…), so each record is keyed by the identity
 * keys it owns and its stored JSON — byte for byte, as the store holds it —
 * has its own id replaced by `<id>`.
 */
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { lineage } from '../../../src/sync/admin/inspect.js';
import { withPeopleBeside } from '../../../src/sync/events/people.js';
import type { CustomerRecord } from '../../../src/sync/events/record.js';
import { jobIdFor, type Source } from '../../../src/sync/events/source-event.js';

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

/**
 * Every stored record: owned identity keys (sorted, joined) → stored JSON with its id masked, followed by
 * the people kept beside it (people.ts; their hash's fields in order), which are as much the customer's.
 */
export async function snapshotRecords(redis: Redis, prefix: string): Promise<RecordsSnapshot> {
  const recordKeys = (await scanKeys(redis, `${prefix}:rec:*`)).filter((k) => /:rec:[^:]+$/.test(k));
  const snapshot: RecordsSnapshot = new Map();
  for (let i = 0; i < recordKeys.length; i += 200) {
    const batch = recordKeys.slice(i, i + 200);
    const p = redis.pipeline();
    for (const k of batch) p.get(k).smembers(`${k}:keys`).hgetall(`${k}:people`);
    const replies = (await p.exec()) ?? [];
    batch.forEach((k, j) => {
      const id = k.slice(k.lastIndexOf(':') + 1);
      const raw = replies[3 * j]?.[1] as string | null;
      const owned = ((replies[3 * j + 1]?.[1] as string[] | undefined) ?? []).sort();
      const beside = (replies[3 * j + 2]?.[1] as Record<string, string> | undefined) ?? {};
      if (raw === null) return;
      const key = owned.join(' ') || `(no keys) ${id}`;
      if (snapshot.has(key)) throw new Error(`two records own exactly the keys ${key}`);
      const people = Object.keys(beside)
        .sort()
        .map((f) => `${f}=${beside[f]}`);
      snapshot.set(key, [raw, ...people].join('\n').replaceAll(id, '<id>'));
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
  expect({ what, missing: missing.slice(0, 5), extra: extra.slice(0, 5), differ: differ.length, sample }).toEqual({
    what,
    missing: [],
    extra: [],
    differ: 0,
    sample: [],
  });
  expect(actual.size).toBe(expected.size);
}

/**
 * Each record of `batch` and the people kept beside it, in one pipeline. A reply that is an error (a connection
 * just failed over: reset, LOADING, READONLY) reads the batch again, a few times; one still failing throws with
 * Redis's message, never passes as a missing record.
 */
async function readBatch(redis: Redis, batch: readonly string[]): Promise<Array<[Error | null, unknown]>> {
  for (let attempt = 1; ; attempt++) {
    const p = redis.pipeline();
    for (const k of batch) p.get(k).hgetall(`${k}:people`);
    const replies = (await p.exec().catch((err: Error) => [[err, undefined]])) as Array<[Error | null, unknown]>;
    const failed = replies.find(([err]) => err)?.[0];
    if (!failed && replies.length === 2 * batch.length) return replies;
    if (attempt === 5) throw new Error(`reading the records failed: ${failed?.message ?? 'replies missing'}`);
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}

/**
 * The job ids (`<source>-<event id>`) of the events that set some part of a record: with traffic in
 * which every event writes an object of its own, that is every event that was applied.
 */
export async function appliedEventIds(redis: Redis, prefix: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const keys = (await scanKeys(redis, `${prefix}:rec:*`)).filter((k) => /:rec:[^:]+$/.test(k));
  for (let i = 0; i < keys.length; i += 200) {
    const batch = keys.slice(i, i + 200);
    const replies = await readBatch(redis, batch);
    batch.forEach((_, j) => {
      const raw = replies[2 * j]?.[1] as string | null;
      if (raw === null) return;
      // The whole customer, as inspect shows it: the people kept beside the record set parts of it too.
      const record = withPeopleBeside(
        JSON.parse(raw) as CustomerRecord,
        (replies[2 * j + 1]?.[1] as Record<string, string> | undefined) ?? {},
      );
      for (const row of lineage(record))
        ids.add(jobIdFor(row.entity.slice(0, row.entity.indexOf('.')) as Source, row.eventId));
    });
  }
  return ids;
}
