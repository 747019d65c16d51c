/**
 * A push's progress: the calls its tries have made, kept per customer and target so that the next try (a rate
 * limit waited out within the job, the job's retry after backoff, a stalled job run again) makes only the calls
 * still missing. A hash: each place a call writes (`fields:organization:123`) → the token of the try that
 * recorded it, the accepted state the push was diffed from (its sha1, '' when there was none) and the hash of
 * what the call sent there (callKey in portal-target.ts).
 *
 * Kept progress is safe only while nothing else wrote the customer's data since it was recorded: another push
 * of the customer (one killed after its call and before recording it), or a resync drain (which records
 * nothing), may have written the same place in between, and skipping the call would leave that write standing
 * while the accepted state says ours. So every writer of a customer's data to a target sets a writer token (a
 * fresh random id) before its first call: each push try in push-try-start-2.lua, which reads the token and the
 * progress first, in the same step; each bulk drain with markWriters. A try trusts only the entries recorded
 * under the token it read — the previous writer was a try that recorded them, and none has started since — and
 * records its own calls, and the ones it kept, under its own token. A try that dies after setting its token
 * loses the progress before it: the next try writes everything, as without kept progress (upserts). The accept
 * script deletes the hash in the same round trip as it stores the accepted state, and the token when it is still
 * the accepting writer's own (push-accept-over-3.lua).
 *
 * So a token still set when a writer starts says that a writer stopped between its first call and its accept
 * (failed, killed, or superseded): it may have written part of a change. The new writer then writes the whole
 * projection, not the difference from the accepted state (`unfinished`): a part written and then undone in
 * the record before the retry (an invoice finalized, then paid) would otherwise stay on the target, since the
 * difference from the accepted state no longer names it. Kept progress still spares the calls whose content
 * that writer sent already.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { REDIS_KEYS } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';

/** Long enough for a job's retries (push.maxBackoffMs, 10 min by default) and a worker restart; then the calls are made again. */
const PROGRESS_TTL_MS = 24 * 3600_000;
/**
 * A writer token outlives the progress: a dead-lettered push replayed days later, or the customer's next change
 * a week after a failed push, must still learn that a writer stopped part-way and write the whole projection.
 * An accept clears it; only a customer whose pushes never succeed again keeps one this long.
 */
const WRITER_TTL_MS = 30 * 24 * 3600_000;

export const progressKey = (prefix: string, target: string, customerId: string): string =>
  REDIS_KEYS.push(prefix).progress(target, customerId);

export const writerKey = (prefix: string, target: string, customerId: string): string =>
  REDIS_KEYS.push(prefix).writer(target, customerId);

/** A fresh writer token: never one any other try or drain had (no `:`, which separates an entry's parts). */
const newToken = (): string => randomBytes(12).toString('hex');

/** A call key (`<place>:<hash of what was sent>`) split at its last `:`. */
const split = (callKey: string): [place: string, sent: string] => {
  const at = callKey.lastIndexOf(':');
  return [callKey.slice(0, at), callKey.slice(at + 1)];
};

export interface PushProgress {
  /** This try's writer token (the accept clears it when it is still this one). */
  token: string;
  /** A writer stopped between its first call and its accept: write the whole projection, not the difference. */
  unfinished: boolean;
  /** The calls earlier tries made against the same accepted state, with no other writer since (PortalPush.done). */
  done: ReadonlySet<string>;
  /**
   * Records calls this try made, or kept from `done` (PortalPush.onDone), under its token; one Redis round trip,
   * not waited for. A write that fails is logged and forgotten: the next try then makes those calls again.
   */
  onDone(...callKeys: string[]): void;
}

/**
 * Starts a try of a push of the customer, prepared against the accepted state whose sha1 is `base`: makes it the
 * customer's writer (before any call) and returns the progress it may trust. Throws when Redis cannot be reached:
 * a try that could not set its token must not write (it would be a writer the next try cannot see).
 */
export async function startTry(
  redis: Redis,
  keys: { progress: string; writer: string },
  base: string,
  log: Logger,
): Promise<PushProgress> {
  const token = newToken();
  const [unfinished, ...trusted] = (await runScript(
    redis,
    'push-try-start',
    [keys.progress, keys.writer],
    [token, WRITER_TTL_MS],
  )) as [number, ...string[]];
  const done = new Set<string>();
  for (let i = 0; i + 1 < trusted.length; i += 2) {
    const value = trusted[i + 1]!;
    const [tokenAndBase, sent] = split(value);
    if (tokenAndBase.slice(tokenAndBase.indexOf(':') + 1) === base) done.add(`${trusted[i]}:${sent}`);
  }
  return {
    token,
    unfinished: unfinished === 1,
    done,
    onDone(...callKeys) {
      if (callKeys.length === 0) return;
      const fields = callKeys.flatMap((k) => {
        const [place, sent] = split(k);
        return [place, `${token}:${base}:${sent}`];
      });
      void redis
        .multi()
        .hset(keys.progress, ...fields)
        .pexpire(keys.progress, PROGRESS_TTL_MS)
        .exec()
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not keep the progress of a push'));
    },
  };
}

/**
 * A bulk drain is about to write these customers: each gets a fresh writer token (one for the drain), so that the
 * progress their pushes kept before is not trusted again, and a drain that stops before a customer's accept (which
 * clears the token) makes the customer's next writer write everything. Returns the token, and the customers whose
 * last writer left its token set (the drain writes their whole projection). Waited for before the drain's first
 * call; throws when Redis cannot be reached (the drain must not write then).
 */
export async function markWriters(
  redis: Redis,
  prefix: string,
  target: string,
  customerIds: readonly string[],
): Promise<{ token: string; unfinished: Set<string> }> {
  const token = newToken();
  const unfinished = new Set<string>();
  if (customerIds.length === 0) return { token, unfinished };
  const tx = redis.multi();
  for (const id of customerIds) tx.set(writerKey(prefix, target, id), token, 'PX', WRITER_TTL_MS, 'GET');
  const replies = await tx.exec();
  if (replies === null) throw new Error('the writer tokens of a drain were not set');
  replies.forEach(([err, previous], i) => {
    if (err) throw err;
    if (previous !== null) unfinished.add(customerIds[i]!);
  });
  return { token, unfinished };
}
