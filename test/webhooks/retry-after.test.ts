/** Retry-After on the wire: a wait in ms written as whole seconds, never 0, and the seconds returned for the message. */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { setRetryAfter, UNAVAILABLE_RETRY_AFTER_MS } from '../../src/webhooks/retry-after.js';

function response(): ServerResponse & { headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  return { headers, setHeader: (name: string, value: string) => void (headers[name] = value) } as never;
}

describe('setRetryAfter', () => {
  it('writes a wait in whole seconds, rounded up and at least 1, and returns them', () => {
    for (const [ms, seconds] of [
      [1, 1],
      [999, 1],
      [1_000, 1],
      [1_001, 2],
      [59_500, 60],
    ] as const) {
      const res = response();
      expect(setRetryAfter(res, ms)).toBe(seconds);
      expect(res.headers['Retry-After']).toBe(String(seconds));
    }
  });

  it('asks a caller to come back after 5 s while the store is unavailable', () => {
    const res = response();
    setRetryAfter(res, UNAVAILABLE_RETRY_AFTER_MS);
    expect(res.headers['Retry-After']).toBe('5');
  });
});
