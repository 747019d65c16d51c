/** What the connectors count as a network failure: a socket code anywhere down the cause chain. */
import { describe, expect, it } from 'vitest';
import { isNetworkError } from '../../src/connectors/network.js';

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:59999'), { code: 'ECONNREFUSED', errno: -111 });

describe('isNetworkError', () => {
  it("finds a socket code down the cause chain, and not in an HTTP answer's error", () => {
    expect(isNetworkError(new TypeError('fetch failed', { cause: refused() }))).toBe(true);
    expect(isNetworkError(Object.assign(new Error('Zendesk Error (503)'), { statusCode: 503 }))).toBe(false);
  });
});
