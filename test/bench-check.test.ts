/**
 * The bench regression check's verdicts (bench/check.ts), with the benches' printed JSON given: the
 * figure is read at its path, held to slack × the documented ratio, and a bench under the floor runs
 * once more and keeps its better figure. The benches themselves run in reliability scenario 14.
 */
import { describe, expect, it } from 'vitest';
import { checkBench, figureAt, loadBaselines, type Baselines } from '../bench/check.js';

const baselines: Baselines = {
  slack: 0.7,
  benches: { ingest: { ratio: 0.3, figure: 'ratio.requestsPerSecond', what: 'x', env: {} } },
};
const printing = (...ratios: number[]) => {
  const calls: string[] = [];
  return {
    calls,
    run: async (name: string) => (calls.push(name), { bench: name, ratio: { requestsPerSecond: ratios.shift() } }),
  };
};

describe('bench check', () => {
  it('passes a bench at or above 0.7 of its documented ratio after one run', async () => {
    const p = printing(0.21);
    expect(await checkBench('ingest', baselines, p.run)).toEqual({
      bench: 'ingest',
      documented: 0.3,
      floor: 0.21,
      runs: [0.21],
      ratio: 0.21,
      ok: true,
    });
    expect(p.calls).toEqual(['ingest']);
  });

  it('runs a bench under its floor once more and keeps the better figure', async () => {
    const p = printing(0.1, 0.25);
    expect(await checkBench('ingest', baselines, p.run)).toMatchObject({ runs: [0.1, 0.25], ratio: 0.25, ok: true });
  });

  it('fails a bench under its floor twice in a row', async () => {
    const p = printing(0.2, 0.15);
    expect(await checkBench('ingest', baselines, p.run)).toMatchObject({ runs: [0.2, 0.15], ratio: 0.2, ok: false });
  });

  it("refuses output without a number at the figure's path, and a bench without a baseline", async () => {
    expect(() => figureAt({ ratio: { requestsPerSecond: 'fast' } }, 'ratio.requestsPerSecond')).toThrow(
      'no number at ratio.requestsPerSecond',
    );
    await expect(checkBench('nope', baselines, async () => ({}))).rejects.toThrow('no baseline for bench nope');
  });

  it('holds every shipped bench to the ratio and floor that docs/limits.md states', async () => {
    const shipped = loadBaselines();
    const limits = (await import('node:fs')).readFileSync(new URL('../docs/limits.md', import.meta.url), 'utf8');
    for (const [name, spec] of Object.entries(shipped.benches)) {
      const floor = Number((spec.ratio * shipped.slack).toFixed(3));
      expect(limits, `docs/limits.md's regression table row of ${name}`).toContain(
        `| \`bench:${name}\` | ${spec.ratio} | ${floor} |`,
      );
    }
  });
});
