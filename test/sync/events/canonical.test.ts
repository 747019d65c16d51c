/** canonical() and stableStringify(): the key order every stored entry, derived view and content hash is written in. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonical, stableStringify } from '../../../src/sync/events/record.js';

/** What canonical() did before its loops were unrolled: the reference it must keep matching. */
function reference(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v: unknown) => reference(v));
  if (value === null || typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(source)
      .sort()
      .filter((k) => source[k] !== undefined)
      .map((k) => [k, reference(source[k])]),
  );
}

describe('canonical', () => {
  it('writes the same JSON as the reference for any JSON-like value, whatever its key order', () => {
    fc.assert(
      fc.property(fc.anything({ withObjectString: false, withNullPrototype: false, withBigInt: false }), (v) => {
        expect(JSON.stringify(canonical(v))).toBe(JSON.stringify(reference(v)));
      }),
      { numRuns: 500 },
    );
  });

  it('sorts objects of every size as the reference does: in place up to 32 keys, by sort() past that', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 1 }), { minKeys: 0, maxKeys: 80 }),
        (d) => {
          const shuffled = Object.fromEntries(Object.entries(d).reverse());
          expect(JSON.stringify(canonical(shuffled))).toBe(JSON.stringify(reference(d)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives two objects with the same entries in another order the same stable string', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (d) => {
        const reversed = Object.fromEntries(Object.entries(d).reverse());
        expect(stableStringify(reversed)).toBe(stableStringify(d));
      }),
    );
  });

  it('keeps a `__proto__` key as data, never as the copy’s prototype', () => {
    const value = JSON.parse('{"b":1,"__proto__":{"polluted":true}}') as Record<string, unknown>;
    const copy = canonical(value);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"polluted":true},"b":1}');
  });

  it('drops undefined properties and copies rather than shares nested objects', () => {
    const inner = { z: 1, a: 2 };
    const copy = canonical({ x: undefined, inner, list: [inner] });
    expect(JSON.stringify(copy)).toBe('{"inner":{"a":2,"z":1},"list":[{"a":2,"z":1}]}');
    expect(copy.inner).not.toBe(inner);
    expect(copy.list[0]).not.toBe(inner);
  });
});
