/** The Retry-After header of every answer that asks a caller to come back: waits in ms inside, whole seconds on the wire. */
import type { ServerResponse } from 'node:http';
import { retryAfterSeconds } from '../sync/errors.js';

/** How long a caller is asked to wait while Redis (or the store behind an answer) is unavailable. */
export const UNAVAILABLE_RETRY_AFTER_MS = 5_000;

/** Sets Retry-After to `waitMs` in whole seconds (at least 1) and returns those seconds, for a message that names them. */
export function setRetryAfter(res: ServerResponse, waitMs: number): number {
  const seconds = retryAfterSeconds(waitMs);
  res.setHeader('Retry-After', String(seconds));
  return seconds;
}
