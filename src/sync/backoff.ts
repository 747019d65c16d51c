/**
 * Retry delays, one rule for every queue of the daemon (STYLE §12): exponential
 * from a base, with jitter (between half and all of it, so that a platform
 * coming back is not hit by every retry at once), capped, and never sooner
 * than the platform asked for (Retry-After).
 */
import type { BackoffStrategy } from 'bullmq';
import { RetryableError } from './errors.js';

/** Longest a Retry-After is honoured (a misbehaving server could ask for a year). */
const MAX_RETRY_AFTER_MS = 86_400_000;

export function retryDelayMs(
  failures: number,
  settings: { backoffMs: number; maxBackoffMs: number },
  retryAfterMs?: number,
  random = Math.random,
): number {
  if (retryAfterMs !== undefined && retryAfterMs > 0) return Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  const exp = Math.min(settings.maxBackoffMs, settings.backoffMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.max(1, Math.round(exp * (0.5 + random() * 0.5)));
}

/** The BullMQ backoff type of jobs retried by `cappedBackoffStrategy` (BullMQ's own `exponential` has no cap). */
export const CAPPED_EXPONENTIAL = 'capped-exponential';

export const cappedBackoff = (baseMs: number) => ({ type: CAPPED_EXPONENTIAL, delay: baseMs }) as const;

/**
 * The worker setting that computes a failed job's wait: `retryDelayMs` from the job's own base delay,
 * capped at `maxBackoffMs`, with the Retry-After a RetryableError carries (a 503's) winning.
 */
export function cappedBackoffStrategy(maxBackoffMs: number, random = Math.random): BackoffStrategy {
  return (attemptsMade, type, err, job) => {
    if (type !== CAPPED_EXPONENTIAL) throw new Error(`unknown backoff type ${String(type)}`);
    const backoff = job?.opts.backoff;
    const backoffMs = typeof backoff === 'object' && backoff.delay !== undefined ? backoff.delay : 1_000;
    const retryAfterMs = err instanceof RetryableError ? err.retryAfterMs : undefined;
    return retryDelayMs(
      attemptsMade,
      { backoffMs, maxBackoffMs: Math.max(backoffMs, maxBackoffMs) },
      retryAfterMs,
      random,
    );
  };
}
