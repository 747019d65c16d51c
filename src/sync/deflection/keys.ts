/** The hour buckets of deflection's counters (their keys are built in src/sync/redis/keys.ts, REDIS_KEYS.deflection). */

/** The UTC hour bucket of a time, `2026-11-23T10`. */
export function hourBucket(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}

/** Every hour bucket that overlaps [from, to). */
export function hourBuckets(from: number, to: number): string[] {
  const out: string[] = [];
  const first = Math.floor(from / 3_600_000) * 3_600_000;
  for (let t = first; t < to; t += 3_600_000) out.push(hourBucket(t));
  return out;
}
