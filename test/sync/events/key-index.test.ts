/**
 * The key index the apply path reads instead of a customer's whole key set: which keys an admin's
 * unlinks name, when the index cannot be trusted, and what it holds after keys are added.
 */
import { describe, expect, it } from 'vitest';
import { apartPair } from '../../../src/sync/events/identity.js';
import {
  keyIndexAdding,
  keyIndexOf,
  keysKeptApart,
  partialKeys,
  systemKeysOf,
  userKeyCount,
} from '../../../src/sync/events/key-index.js';

describe('key index', () => {
  it('finds both keys of every unlinked pair, also when an email holds a "|"', () => {
    const pairs = [
      apartPair('stripe:cus_A', 'email:ann@x.example'),
      apartPair('email:a|b@x.example', 'sfacct:001000000000301AAA'),
    ];
    expect(keysKeptApart(pairs).sort()).toEqual([
      'email:ann@x.example',
      'email:a|b@x.example',
      'sfacct:001000000000301AAA',
      'stripe:cus_A',
    ]);
  });

  it('keeps only system keys, the size of the whole key set and how many user keys it holds', () => {
    expect(
      keyIndexOf([
        'stripe:cus_A',
        'email:a@x.example',
        'sfcontact:003000000000001AAA',
        'zdorg:7',
        'zdorg:7',
        'zduser:5',
      ]),
    ).toEqual({ '#keys': '5', '#zduser': '1', 'stripe:cus_A': '1', 'zdorg:7': '1' });
  });

  it('is trusted only while the key set has the size it was written for', () => {
    const index = keyIndexOf(['stripe:cus_A', 'email:a@x.example']);
    expect(systemKeysOf(index, 2)).toEqual(new Set(['stripe:cus_A']));
    // A key added by a writer that does not keep the index (an earlier release, an older worker).
    expect(systemKeysOf(index, 3)).toBeNull();
    // No index: trusted only for a record that holds no key at all.
    expect(systemKeysOf({}, 0)).toEqual(new Set());
    expect(systemKeysOf({}, 5)).toBeNull();
    // An index written before user keys were counted: read the set once, and write it again.
    expect(systemKeysOf({ '#keys': '2', 'stripe:cus_A': '1' }, 2)).toBeNull();
    expect(userKeyCount(keyIndexOf(['zduser:1', 'zduser:2', 'stripe:cus_A']))).toBe(2);
  });

  it('counts the keys an event adds once each, and indexes the system ones', () => {
    expect(
      keyIndexAdding(4, 1, [
        'sfacct:001000000000301AAA',
        'email:b@x.example',
        'email:b@x.example',
        'zduser:9',
        'zduser:9',
      ]),
    ).toEqual({ '#keys': '7', '#zduser': '2', 'sfacct:001000000000301AAA': '1' });
  });

  it('builds the part of a key set planning needs from the system keys and the answers about the probed keys', () => {
    const keys = partialKeys(
      new Set(['stripe:cus_A']),
      ['email:a@x.example', 'zduser:5', 'sfcontact:003000000000001AAA'],
      [1, 0, 1],
    );
    expect([...keys].sort()).toEqual(['email:a@x.example', 'sfcontact:003000000000001AAA', 'stripe:cus_A']);
  });
});
