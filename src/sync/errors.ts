/**
 * The one family of errors that say whether trying again can help, and when (after stripe-node's single
 * error module): a connector turns every platform failure into a FailureVerdict in ONE classification
 * function, then into one of these classes; the queues act on the class. Every wait is in milliseconds,
 * and a platform's Retry-After header is read in one place, parseRetryAfter; our own 429s and their
 * `Retry-After` are written from ms in one place, retryAfterSeconds; an error is put in words for an operator
 * (status, logs) by errorText. This module imports no SDK.
 */
import type { Source } from './source-names.js';

/** A connector's reading of one failed call: retry or not, after how long (the platform's Retry-After), and its status. */
export interface FailureVerdict {
  retryable: boolean;
  /** When the platform said when to come back (a 429's or 503's Retry-After): not before then. */
  retryAfterMs?: number;
  /** The platform's HTTP status, when it answered with one. */
  status?: number;
  message: string;
}

/**
 * `Retry-After` as delay-seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable
 * (a negative number, text). A date already past is 0.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.ceil(seconds * 1000) : undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * A wait in ms as HTTP's `Retry-After` delay-seconds (and the "try again in N s" said beside it): whole
 * seconds, rounded up, at least 1 — the one place our own waits leave ms, written at the HTTP edge.
 */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/** 429: wait at least this long, then try again; never counted as success. */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  /** Our own limit said so (the call gate, the org's API budget), not the platform: no call was made. */
  readonly local: boolean;
  constructor(
    message: string,
    readonly retryAfterMs: number,
    opts: { local?: boolean } = {},
  ) {
    super(message);
    this.local = opts.local ?? false;
  }
}

/** 5xx, timeouts, connection resets: back off and retry. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  /** When the platform said when to come back (a 503's Retry-After): not before then. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, opts: ErrorOptions & { retryAfterMs?: number } = {}) {
    super(message, opts);
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Any other 4xx: a retry cannot help; dead-letter with the platform's own message. */
export class PermanentError extends Error {
  override name = 'PermanentError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * A failed page read (resync, reconcile) as the runner understands it: the connector's verdict, and the
 * SDK's error as its cause. One shape for the three sources.
 */
export class PageReadError extends Error {
  override name = 'PageReadError';
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  /** The platform's HTTP status, when it answered with one. */
  readonly status?: number;

  constructor(source: Source, verdict: FailureVerdict, options?: ErrorOptions) {
    super(`${source}: ${verdict.message}`, options);
    this.retryable = verdict.retryable;
    if (verdict.status !== undefined) this.status = verdict.status;
    if (verdict.retryAfterMs !== undefined) this.retryAfterMs = verdict.retryAfterMs;
  }
}

export function pageError(source: Source, verdict: FailureVerdict, cause: unknown): PageReadError {
  return new PageReadError(source, verdict, { cause });
}

/** An error that says a retry can help (a PageReadError or RefetchError with `retryable: true`). */
export function isRetryable(err: unknown): err is Error & Pick<FailureVerdict, 'retryable' | 'retryAfterMs'> {
  return err instanceof Error && (err as { retryable?: unknown }).retryable === true;
}

/**
 * An error's message with the messages of its causes: undici's bare "fetch failed" becomes "fetch failed: connect
 * ECONNREFUSED 127.0.0.1:443", which says what an operator has to fix. Causes whose message the one above already
 * holds are skipped.
 */
export function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; depth < 4 && e !== undefined && e !== null; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (message !== '' && !parts.some((p) => p.includes(message))) parts.push(message);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ');
}
