/**
 * A failed page read as the resync runner understands it: an Error with the
 * connector's verdict (`retryable`, `retryAfterSeconds`) and the SDK's error
 * as its cause. One shape for the three sources.
 */
import type { Source } from '../sync/source-event.js';

export class PageReadError extends Error {
  override name = 'PageReadError';
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
  /** The platform's HTTP status, when it answered with one. */
  readonly status?: number;

  constructor(source: Source, verdict: { retryable: boolean; retryAfterSeconds?: number; status?: number; message: string }, options?: ErrorOptions) {
    super(`${source}: ${verdict.message}`, options);
    this.retryable = verdict.retryable;
    if (verdict.status !== undefined) this.status = verdict.status;
    if (verdict.retryAfterSeconds !== undefined) this.retryAfterSeconds = verdict.retryAfterSeconds;
  }
}

export function pageError(source: Source, verdict: { retryable: boolean; retryAfterSeconds?: number; status?: number; message: string }, cause: unknown): PageReadError {
  return new PageReadError(source, verdict, { cause });
}
