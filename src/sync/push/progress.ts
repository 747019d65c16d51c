/**
 * A push's progress: the calls its tries have made, kept per customer and target so that the next try (a rate
 * limit waited out within the job, the job's retry after backoff, a stalled job run again) makes only the calls
 * still missing. A hash: each place a call writes (`fields:organization:123`) → the accepted state the push was
 * diffed from (the sha1 of it, '' when there was none) and the hash of what the call sent there (callKey in
 * portal-target.ts). A later call to the same place replaces the entry, so a call counts as done only while its
 * content is the last one written there; a call kept against another accepted state counts for nothing. The
 * accept script deletes the hash in the same round trip as it stores the accepted state (push-accept-over-2.lua).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { REDIS_KEYS } from '../redis/keys.js';

/** Long enough for a job's retries (push.maxBackoffMs, 10 min by default) and a worker restart; then the calls are made again. */
const PROGRESS_TTL_MS = 24 * 3600_000;

export const progressKey = (prefix: string, target: string, customerId: string): string =>
  REDIS_KEYS.push(prefix).progress(target, customerId);

const split = (callKey: string): [place: string, sent: string] => {
  const at = callKey.lastIndexOf(':');
  return [callKey.slice(0, at), callKey.slice(at + 1)];
};

export interface PushProgress {
  /** The calls made by earlier tries against the same accepted state (PortalPush.done). */
  done: ReadonlySet<string>;
  /** Keeps one more call made (PortalPush.onDone); one Redis round trip, not waited for. */
  onDone(callKey: string): void;
}

/**
 * The progress of a push prepared against the accepted state `base`, read from Redis. A write that fails
 * is logged and forgotten: the next try then makes that call again, which an upsert makes harmless.
 */
export async function loadProgress(redis: Redis, key: string, base: string, log: Logger): Promise<PushProgress> {
  const kept = await redis.hgetall(key);
  const done = new Set<string>();
  for (const [place, value] of Object.entries(kept)) {
    const at = value.lastIndexOf(':');
    if (value.slice(0, at) === base) done.add(`${place}:${value.slice(at + 1)}`);
  }
  return {
    done,
    onDone(callKey) {
      const [place, sent] = split(callKey);
      for (const k of done) if (split(k)[0] === place) done.delete(k);
      done.add(callKey);
      void redis
        .multi()
        .hset(key, place, `${base}:${sent}`)
        .pexpire(key, PROGRESS_TTL_MS)
        .exec()
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not keep the progress of a push'));
    },
  };
}
