/**
 * Tokens sent as-is (the Outbound Message ?token=, bearer tokens) are compared
 * in constant time without revealing their length: the comparison always runs
 * over two equal-size digests, also when the lengths differ.
 */
import * as crypto from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof crypto>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const { secretsMatch } = await import('../../src/webhooks/hmac.js');
const spy = vi.mocked(crypto.timingSafeEqual);

afterEach(() => spy.mockClear());

describe('secret comparison', () => {
  it('a token of another length is still compared byte for byte, over digests of one size', () => {
    expect(secretsMatch('short', 'sf_outbound_token_0123456789abcdef')).toBe(false);
    expect(spy).toHaveBeenCalledTimes(1);
    const [a, b] = spy.mock.calls[0]! as [Buffer, Buffer];
    expect(a.length).toBe(32);
    expect(b.length).toBe(32);
  });

  it('matches exactly the equal strings', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(secretsMatch(a, b)).toBe(a === b);
        expect(secretsMatch(a, a)).toBe(true);
      }),
    );
  });

  it('the Salesforce receiver and the admin check use it, not a comparison of their own', async () => {
    const { readFileSync } = await import('node:fs');
    for (const file of ['src/webhooks/salesforce.ts', 'src/webhooks/admin/token.ts']) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/timingSafeEqual|\.length === /);
      expect(text, file).toMatch(/secretsMatch/);
    }
  });
});
