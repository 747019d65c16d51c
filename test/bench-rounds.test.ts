import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { medianRound } from '../bench/lib/rounds.js';

describe('bench rounds', () => {
  it('reports the round of the middle ratio, whatever order the rounds ran in', () => {
    const rounds = [
      { id: 'a', ratio: 0.52 },
      { id: 'b', ratio: 0.38 },
      { id: 'c', ratio: 0.45 },
    ];
    expect(medianRound(rounds).id).toBe('c');
    expect(medianRound([...rounds].reverse()).id).toBe('c');
  });

  it('of an even number of rounds reports the lower middle one, never a better one than half the rounds', () => {
    expect(medianRound([{ ratio: 0.6 }, { ratio: 0.3 }, { ratio: 0.5 }, { ratio: 0.4 }]).ratio).toBe(0.4);
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 1, maxLength: 9 }), (ratios) => {
        const picked = medianRound(ratios.map((ratio) => ({ ratio }))).ratio;
        expect(ratios.filter((r) => r <= picked).length).toBeGreaterThanOrEqual(Math.ceil(ratios.length / 2));
        expect(ratios.filter((r) => r >= picked).length).toBeGreaterThanOrEqual(Math.floor(ratios.length / 2) + 1);
      }),
    );
  });

  it('refuses to pick from no rounds', () => {
    expect(() => medianRound([])).toThrow(/no rounds/);
  });
});
