/** The one reading of Retry-After (in ms) that every connector and the subscriber transport use, the one writing of ours, and an error's text with its causes. */
import { describe, expect, it } from 'vitest';
import { errorText, parseRetryAfter, retryAfterSeconds } from '../../src/sync/errors.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-23T10:00:00Z');

  it('reads delay-seconds as that many milliseconds', () => {
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter(' 7 ', now)).toBe(7_000);
    expect(parseRetryAfter('0', now)).toBe(0);
  });

  it('reads an HTTP date as the milliseconds until then, and a date already past as 0', () => {
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:59:00 GMT', now)).toBe(0);
  });

  it('ignores an absent, empty, negative or unreadable value', () => {
    for (const value of [null, undefined, '', '  ', '-5', 'soon']) expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('retryAfterSeconds', () => {
  it('writes a wait in ms as whole seconds, rounded up, so a client never comes back early', () => {
    expect(retryAfterSeconds(30_000)).toBe(30);
    expect(retryAfterSeconds(30_001)).toBe(31);
    expect(retryAfterSeconds(59_999)).toBe(60);
  });

  it('asks for at least one second, even for a window that is just ending', () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(0)).toBe(1);
  });

  it('gives back what parseRetryAfter reads, for a whole number of seconds', () => {
    for (const seconds of [1, 5, 59, 3600]) expect(retryAfterSeconds(parseRetryAfter(String(seconds))!)).toBe(seconds);
  });
});

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:59999'), { code: 'ECONNREFUSED', errno: -111 });

describe('errorText', () => {
  it("adds undici's cause to its bare 'fetch failed'", () => {
    expect(errorText(new TypeError('fetch failed', { cause: refused() }))).toBe(
      'fetch failed: connect ECONNREFUSED 127.0.0.1:59999',
    );
  });

  it('is the message alone for an error without a cause, and skips a cause the message already holds', () => {
    expect(errorText(new Error('Zendesk Error (401): Not Authorized'))).toBe('Zendesk Error (401): Not Authorized');
    expect(errorText(new Error('request failed: connect ECONNREFUSED 127.0.0.1:59999', { cause: refused() }))).toBe(
      'request failed: connect ECONNREFUSED 127.0.0.1:59999',
    );
  });

  it('reads at most four levels of causes, and what is thrown that is not an Error', () => {
    let e: Error = new Error('level 0');
    for (let i = 1; i < 8; i++) e = new Error(`level ${i}`, { cause: e });
    expect(errorText(e)).toBe('level 7: level 6: level 5: level 4');
    expect(errorText('a string')).toBe('a string');
  });
});
