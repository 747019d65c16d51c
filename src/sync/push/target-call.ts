/**
 * A push's call to its portal target, its failure turned into what BullMQ acts on: a rate limit is waited out
 * within the push or by pausing the queue (pauseForRateLimit), a refusal is dead-lettered, anything else retries
 * with backoff; and the first answer after an outage wakes the pushes waiting on backoff (push/worker.ts).
 */
import { UnrecoverableError, Worker, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { PermanentError, RateLimitedError } from '../errors.js';
import { REDIS_KEYS } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';
import type { PushResult } from './portal-target.js';

/** What a call needs of its push worker: the target's queue, the accepted-state connection, the log. */
export interface TargetCallContext {
  targetName: string;
  /** Not blocking: the pause script, the target-down key. */
  redis: Redis;
  /** The target's push queue: paused by a rate limit, its pushes on backoff woken by an answer. */
  queue: Queue;
  /** Set while the target is failing (targetDownKey). */
  downKey: string;
  log: Logger;
}

/** Set while a target is failing (a push of it failed and waits on backoff); cleared by the first push it answers again. */
export const targetDownKey = (prefix: string, target: string): string => REDIS_KEYS.push(prefix).down(target);
const DOWN_TTL_MS = 24 * 3600_000;
/** Pushes woken at most per recovery (the rest keep their backoff timers). */
const WAKE_AT_MOST = 5_000;
const WAKE_PAGE = 500;

/**
 * The target answers again after failing: the pushes waiting on backoff for it (delayed jobs that have
 * failed before; debounced ones have not) go to the queue now instead of each sleeping out its timer.
 * They still pass the queue's limiter and the target's call gate. Returns how many were woken.
 */
async function wakeBackedOff(queue: Queue, atMost = WAKE_AT_MOST): Promise<number> {
  let woken = 0;
  for (let start = 0; woken < atMost; start += WAKE_PAGE) {
    const page = await queue.getDelayed(start, start + WAKE_PAGE - 1);
    if (page.length === 0) break;
    for (const job of page) {
      if (job.attemptsMade === 0 || woken >= atMost) continue;
      // Gone or moved on since the page was read: nothing to wake.
      if (
        await job.promote().then(
          () => true,
          () => false,
        )
      )
        woken += 1;
    }
    if (page.length < WAKE_PAGE) break;
  }
  return woken;
}

/** The first answer after an outage: one worker (whoever deletes the key) wakes the pushes on backoff. */
async function targetAnswered(ctx: TargetCallContext): Promise<void> {
  if ((await ctx.redis.del(ctx.downKey)) === 0) return;
  const woken = await wakeBackedOff(ctx.queue);
  if (woken > 0) ctx.log.info({ woken }, 'target answers again: pushes waiting on backoff go now');
}

/** A push of the target failed and waits on backoff: the target's next answer wakes it (and every other push waiting so). */
export function markTargetDown(ctx: TargetCallContext): void {
  void ctx.redis.set(ctx.downKey, '1', 'PX', DOWN_TTL_MS).catch(() => undefined);
}

/** The most a push waits out rate limits within itself, in all, before it pauses its queue instead. */
const RATE_WAIT_IN_PLACE_MS = 5_000;
/** The job count of a paused limiter window: what BullMQ's own rateLimit sets, and what `status` reads as a pause. */
const PAUSED_COUNT = String(Number.MAX_SAFE_INTEGER);

/**
 * How a push waits out a rate limit of `waitMs` without letting more than the limiter's `max` jobs start
 * in one of its windows. BullMQ pauses a queue by setting its limiter's job count to a huge number for
 * the pause (Worker.rateLimit), which replaces the count of the window running: a pause shorter than
 * what is left of the window would end it early, and a fresh window of `max` jobs would open inside the
 * old one. So (atomically, in push-pause-1.lua):
 * - the window ends within the wait, or none is open: the queue pauses for the whole wait (the count it
 *   drops would have expired before the pause ends); returns `waitMs`;
 * - the window outlasts the wait and `mayWaitInPlace`: returns 0 — the caller waits within its job and
 *   calls again, holding its worker slot, while the window's count stays as it is;
 * - the window outlasts the wait otherwise (a longer wait): the window is marked full until it ends, and
 *   the queue pauses that long, a little more than asked; returns it.
 */
export async function pauseForRateLimit(
  redis: Redis,
  queue: Queue,
  waitMs: number,
  mayWaitInPlace: boolean,
): Promise<number> {
  const wait = Math.max(1, Math.ceil(waitMs));
  return Number(
    await runScript(redis, 'push-pause', [queue.keys.limiter!], [wait, mayWaitInPlace ? '1' : '0', PAUSED_COUNT]),
  );
}

/**
 * A rate limit met by a call: waited out within the push (returns the milliseconds waited, the caller calls
 * again) while the push has waited little and the limiter's window outlasts the wait; otherwise the queue
 * pauses and BullMQ is told so (throws Worker.RateLimitError: the job goes back, unpenalized).
 */
async function waitOutRateLimit(
  ctx: TargetCallContext,
  err: RateLimitedError,
  customerId: string,
  waitedInPlace: number,
): Promise<number> {
  const wait = Math.max(1, Math.ceil(err.retryAfterMs));
  const mayWaitInPlace = waitedInPlace + wait <= RATE_WAIT_IN_PLACE_MS;
  const pausedMs = await pauseForRateLimit(ctx.redis, ctx.queue, wait, mayWaitInPlace);
  const fields = { customerId, retryAfterMs: err.retryAfterMs, reason: err.message };
  if (pausedMs === 0) {
    // Our own limit's refusals are routine under load; a platform's 429 is worth seeing.
    ctx.log[err.local ? 'debug' : 'warn'](fields, 'rate limited: waiting within the push');
    await new Promise((r) => setTimeout(r, wait));
    return wait;
  }
  ctx.log.warn({ ...fields, pausedMs }, 'rate limited: pausing the queue');
  throw Worker.RateLimitError();
}

/** A target call, its failure turned into what BullMQ acts on. */
export async function callTarget(
  ctx: TargetCallContext,
  customerId: string,
  write: () => Promise<PushResult>,
): Promise<PushResult> {
  for (let waitedInPlace = 0; ;) {
    try {
      const result = await write();
      if (result.calls > 0)
        void targetAnswered(ctx).catch((err: unknown) =>
          ctx.log.warn({ err: (err as Error).message }, 'could not wake the pushes waiting on backoff'),
        );
      return result;
    } catch (err) {
      if (err instanceof RateLimitedError) {
        // The push is made again, as a re-run of its job would be: only its calls still missing (push/progress.ts).
        waitedInPlace += await waitOutRateLimit(ctx, err, customerId, waitedInPlace);
        continue;
      }
      if (err instanceof PermanentError)
        throw new UnrecoverableError(`${ctx.targetName} refused the push: ${err.message}`);
      throw err; // retryable: exponential backoff with jitter
    }
  }
}
