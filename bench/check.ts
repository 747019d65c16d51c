/**
 * bench/check — the regression check of the benches: short runs of bench:ingest, bench:pipeline and
 * bench:read, each figure a ratio against a baseline measured in the same run (never a time), held to
 * `slack` × the ratio docs/limits.md documents (bench/baselines.json). A bench under its floor runs once
 * more and keeps its better figure: one noisy run on a shared machine is not a regression, two are.
 * Prints one JSON object; exits 1 when a bench regressed, 2 when one could not run.
 *
 *   npm run bench:check            (BENCH_CHECK=ingest,read to run some)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Baselines {
  slack: number;
  benches: Record<string, { ratio: number; figure: string; what: string; env: Record<string, string> }>;
}

export interface BenchVerdict {
  bench: string;
  documented: number;
  floor: number;
  /** The figure of each run (a second run only after a first under the floor). */
  runs: number[];
  ratio: number;
  ok: boolean;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export const loadBaselines = (): Baselines => JSON.parse(readFileSync(here('./baselines.json'), 'utf8')) as Baselines;

/** The number at a dotted path of a bench's JSON output (`ratio.requestsPerSecond`). */
export function figureAt(out: unknown, path: string): number {
  const value = path
    .split('.')
    .reduce<unknown>(
      (o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
      out,
    );
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`the bench printed no number at ${path}`);
  return value;
}

/** Runs one bench in a process of its own and returns the JSON object it printed. */
async function runBench(name: string, env: Record<string, string>): Promise<unknown> {
  const child = spawn(process.execPath, ['--import', 'tsx', here(`./${name}.ts`)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0)
    throw new Error(`bench:${name} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  const start = stdout.indexOf('{');
  if (start < 0) throw new Error(`bench:${name} printed no JSON`);
  return JSON.parse(stdout.slice(start));
}

export async function checkBench(name: string, baselines: Baselines, run = runBench): Promise<BenchVerdict> {
  const spec = baselines.benches[name];
  if (!spec) throw new Error(`no baseline for bench ${name} in bench/baselines.json`);
  const floor = Number((spec.ratio * baselines.slack).toFixed(3));
  const runs: number[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    runs.push(figureAt(await run(name, spec.env), spec.figure));
    if (runs.at(-1)! >= floor) break;
  }
  const ratio = Math.max(...runs);
  return { bench: name, documented: spec.ratio, floor, runs, ratio, ok: ratio >= floor };
}

async function main(): Promise<void> {
  const baselines = loadBaselines();
  const wanted = process.env.BENCH_CHECK
    ? process.env.BENCH_CHECK.split(',').map((s) => s.trim())
    : Object.keys(baselines.benches);
  const verdicts: BenchVerdict[] = [];
  try {
    for (const name of wanted) verdicts.push(await checkBench(name, baselines));
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ bench: 'check', error: (err as Error).message, verdicts }, null, 2)}\n`);
    process.exit(2);
  }
  const ok = verdicts.every((v) => v.ok);
  process.stdout.write(`${JSON.stringify({ bench: 'check', slack: baselines.slack, ok, verdicts }, null, 2)}\n`);
  process.exit(ok ? 0 : 1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
