/** The shapes of ids that may link records (src/sync/events/ids.ts): properties over any input, and the placeholders people type. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkEmail,
  checkRef,
  checkSalesforceId,
  checkStripeCustomerId,
  checkZendeskId,
  normalizeEmail,
  REF_NAMES,
  salesforceChecksum,
  screenRefs,
} from '../../../src/sync/events/ids.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const alnum = (n: number) => fc.array(fc.constantFrom(...ALNUM), { minLength: n, maxLength: n }).map((a) => a.join(''));
/** A 15-character id with `prefix`, and a record number that is not all zeros. */
const sfId15 = (prefix: string) =>
  fc
    .tuple(alnum(3), alnum(9))
    .filter(([, record]) => !/^0+$/.test(record))
    .map(([pod, record]) => `${prefix}${pod}${record}`);

const PLACEHOLDERS = [
  '',
  ' ',
  '\t',
  'N/A',
  'n/a',
  'NA',
  'none',
  'None',
  '-',
  '--',
  '0',
  '000',
  'null',
  'NULL',
  'nil',
  'TBD',
  'tba',
  'unknown',
  'undefined',
  '?',
  'x',
  'xxx',
  'test',
  'pending',
];

describe('cross-id shapes', () => {
  it('a placeholder never links, whichever system it claims to be', () => {
    for (const value of PLACEHOLDERS) {
      const { refs, refused } = screenRefs(Object.fromEntries(REF_NAMES.map((r) => [r, value])));
      expect(refs, JSON.stringify(value)).toEqual({});
      // Blank is absent (nothing was named); anything else is a visible refusal.
      expect(refused.map((r) => r.ref).sort(), JSON.stringify(value)).toEqual(
        value.trim() === '' ? [] : [...REF_NAMES].sort(),
      );
      for (const r of refused) expect(r.reason).toBe('placeholder');
    }
  });

  it('a Salesforce Account id links in its 15- and 18-character forms, as one key', () => {
    fc.assert(
      fc.property(sfId15('001'), (id15) => {
        const id18 = `${id15}${salesforceChecksum(id15)}`;
        expect(checkSalesforceId(id15, '001')).toEqual({ ok: true, value: id18 });
        expect(checkSalesforceId(id18, '001')).toEqual({ ok: true, value: id18 });
        // The suffix is case-insensitive (it spells the case of the first 15).
        expect(checkSalesforceId(`${id15}${salesforceChecksum(id15).toLowerCase()}`, '001')).toEqual({
          ok: true,
          value: id18,
        });
      }),
    );
  });

  it('an 18-character Salesforce id with a wrong checksum or a changed letter case is refused', () => {
    fc.assert(
      fc.property(
        sfId15('001'),
        fc.nat(14),
        fc.nat(2),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'),
        (id15, flip, pos, ch) => {
          const good = salesforceChecksum(id15);
          const suffix = good.slice(0, pos) + ch + good.slice(pos + 1);
          if (suffix !== good)
            expect(checkSalesforceId(`${id15}${suffix}`, '001')).toEqual({ ok: false, reason: 'checksum' });
          const c = id15[flip]!;
          const swapped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
          if (swapped !== c && flip >= 3)
            expect(checkSalesforceId(`${id15.slice(0, flip)}${swapped}${id15.slice(flip + 1)}${good}`, '001')).toEqual({
              ok: false,
              reason: 'checksum',
            });
        },
      ),
    );
  });

  it('a Contact id where an Account id belongs (and the reverse) is refused by its key prefix', () => {
    fc.assert(
      fc.property(sfId15('003'), sfId15('001'), (contact, account) => {
        expect(checkRef('salesforceAccountId', contact)).toEqual({ ok: false, reason: 'prefix' });
        expect(checkRef('salesforceContactId', account)).toEqual({ ok: false, reason: 'prefix' });
      }),
    );
    expect(checkSalesforceId('001000000000000', '001')).toEqual({ ok: false, reason: 'placeholder' });
    expect(checkSalesforceId('001000000000000AAA', '001')).toEqual({ ok: false, reason: 'placeholder' });
    expect(checkSalesforceId('001-not-an-id-xx', '001')).toEqual({ ok: false, reason: 'shape' });
  });

  it('Zendesk ids link only as positive integers, Stripe customers only as cus_…', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 19n }), (n) => {
        expect(checkZendeskId(String(n))).toEqual({ ok: true, value: String(n) });
      }),
    );
    for (const bad of ['-1', '1.5', '1e3', '0x10', '012', 'abc', '7 8'])
      expect(checkZendeskId(bad).ok, bad).toBe(false);
    expect(checkZendeskId(42)).toEqual({ ok: true, value: '42' });
    expect(checkStripeCustomerId('cus_NffrFeUfNV2Hib')).toEqual({ ok: true, value: 'cus_NffrFeUfNV2Hib' });
    for (const bad of ['cus_', 'sub_123', 'acct_1', 'cus 1', 'cus_1;drop'])
      expect(checkStripeCustomerId(bad).ok, bad).toBe(false);
  });

  it('whatever a payload holds, screening never throws and every id it keeps passes its own check unchanged', () => {
    const anyValue = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      fc.integer(),
      fc.constantFrom(...PLACEHOLDERS),
      sfId15('001'),
      sfId15('003'),
      fc.constant(null),
    );
    fc.assert(
      fc.property(
        fc.record(
          Object.fromEntries(REF_NAMES.map((r) => [r, anyValue])) as Record<
            (typeof REF_NAMES)[number],
            typeof anyValue
          >,
        ),
        (raw) => {
          const { refs, refused } = screenRefs(raw);
          for (const [ref, value] of Object.entries(refs))
            expect(checkRef(ref as (typeof REF_NAMES)[number], value)).toEqual({ ok: true, value });
          for (const r of refused) expect(r.value.length).toBeLessThanOrEqual(80);
          expect(Object.keys(refs).length + refused.length).toBeLessThanOrEqual(REF_NAMES.length);
        },
      ),
    );
  });
});

describe('email normalization (NFKC + case folding)', () => {
  it('the Kelvin sign and K are one letter, in both directions', () => {
    const kelvin = '\u212Aate@example.com';
    expect(normalizeEmail(kelvin)).toBe('kate@example.com');
    expect(normalizeEmail('Kate@Example.com')).toBe(normalizeEmail(kelvin));
    expect(normalizeEmail('kate@example.com')).toBe(normalizeEmail('\u212AATE@EXAMPLE.COM'));
    // Full-width letters are compatibility forms of the same letters too.
    expect(normalizeEmail('\uFF2Bate@example.com')).toBe('kate@example.com');
  });

  it('normalizing is idempotent, and case and compatibility forms never tell two addresses apart', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string({ minLength: 1, maxLength: 20 }),
        (local, domain) => {
          const e = normalizeEmail(`${local}@${domain}`);
          if (e === undefined) return;
          expect(normalizeEmail(e)).toBe(e);
          expect(normalizeEmail(e.toUpperCase())).toBe(normalizeEmail(e.toUpperCase().toLowerCase()));
        },
      ),
    );
  });

  it('keeps plus-addressing: ann+billing@ is its own address', () => {
    expect(normalizeEmail('Ann+Billing@Example.com')).toBe('ann+billing@example.com');
    expect(normalizeEmail('ann+billing@example.com')).not.toBe(normalizeEmail('ann@example.com'));
  });

  it('refuses what is not one address', () => {
    for (const bad of [
      'n/a',
      'none',
      'a@b@c',
      '@example.com',
      'ann@',
      'ann @example.com',
      'ann\u200B@example.com',
      'ann\n@example.com',
    ]) {
      expect(checkEmail(bad).ok, JSON.stringify(bad)).toBe(false);
    }
    expect(checkEmail('  Ann@Example.COM ')).toEqual({ ok: true, value: 'ann@example.com' });
  });
});
