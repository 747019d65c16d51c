/** The store's guesses of which record a key points at: updated by reads and writes, bounded, never growing without end. */
import { describe, expect, it } from 'vitest';
import { OwnerGuesses } from '../../../src/sync/events/owner-guesses.js';

describe('owner guesses', () => {
  it('guess the records the keys pointed at last, once each, and forget a key the index no longer has', () => {
    const g = new OwnerGuesses();
    g.note(
      new Map([
        ['stripe:cus_1', 'cust_a'],
        ['email:a@x.example', 'cust_a'],
        ['zdorg:7', 'cust_b'],
      ]),
    );
    expect(g.guess(['stripe:cus_1', 'email:a@x.example', 'sfacct:001'])).toEqual(['cust_a']);
    g.note(new Map([['zdorg:7', null]]));
    expect(g.guess(['zdorg:7'])).toEqual([]);
    g.claimed(['sfacct:001'], 'cust_c', ['stripe:cus_1']);
    expect(g.guess(['stripe:cus_1', 'sfacct:001'])).toEqual(['cust_c']);
  });

  it('keep at most their limit, dropping the longest unused first', () => {
    const g = new OwnerGuesses(3);
    g.claimed(['k:1', 'k:2', 'k:3'], 'cust_a');
    g.claimed(['k:1'], 'cust_b'); // moved: now the newest
    g.claimed(['k:4'], 'cust_a');
    expect(g.size).toBe(3);
    expect(g.guess(['k:2'])).toEqual([]);
    expect(g.guess(['k:1', 'k:3', 'k:4']).sort()).toEqual(['cust_a', 'cust_b']);
  });
});
