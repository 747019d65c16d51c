/**
 * Bench ratios: short runs of bench:ingest, bench:pipeline and bench:read, each a ratio against a
 * baseline measured in the same run, none below 0.7 × the ratio docs/limits.md documents
 * (bench/baselines.json). Never an absolute time: CI's machine may be faster or slower than ours, not
 * the code relative to bare express or bare BullMQ on it. A bench under its floor runs once more.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkBench, loadBaselines } from '../../bench/check.js';
import { announce } from './support/env.js';
import { scenario } from './support/summary.js';

const s = scenario('14-bench-ratios', 'ingest, pipeline and read keep their documented ratios to bare baselines');
const baselines = loadBaselines();

afterAll(() => {
  s.save();
});

describe('bench ratios', () => {
  it('no bench falls below 0.7 of its documented ratio to a baseline measured in the same run', async () => {
    announce('14-bench-ratios', { benches: Object.keys(baselines.benches).join(','), slack: baselines.slack });
    const verdicts = [];
    for (const name of Object.keys(baselines.benches)) {
      const v = await checkBench(name, baselines);
      console.log(
        `reliability 14-bench-ratios: ${name} ratio ${v.ratio} (runs ${v.runs.join(', ')}), documented ${v.documented}, floor ${v.floor}`,
      );
      verdicts.push(v);
    }
    s.detail('verdicts', verdicts);
    expect(verdicts.filter((v) => !v.ok)).toEqual([]);
    s.pass();
  }, 600_000);
});
