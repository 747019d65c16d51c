/**
 * The reliability suite's knobs, read once from the environment, so that a run
 * says exactly what it did:
 * - RELIABILITY_SCALE (default 1): multiplies the issue's event counts
 *   (10,000 events for the worker crash, 20,000 requests for the flood, 10,000
 *   fuzz cases…); e.g. 0.2 for a quick local run. Never below a floor that
 *   keeps each scenario meaningful.
 * - RELIABILITY_SEED (default: fixed per scenario): the seed of every random
 *   choice (order, duplicates, delays, faults, fuzz); printed by each scenario.
 */
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const RESULTS_DIR = resolve(ROOT, 'test-results');
export const SCENARIO_DIR = resolve(RESULTS_DIR, 'reliability');
export const LOG_DIR = resolve(SCENARIO_DIR, 'logs');
export const SUMMARY_FILE = resolve(RESULTS_DIR, 'reliability.json');

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
}

export const SCALE = numberFromEnv('RELIABILITY_SCALE', 1);

/** `n` scaled, never below `floor`. */
export function scaled(n: number, floor = 1): number {
  return Math.max(floor, Math.round(n * SCALE));
}

/** The scenario's seed: RELIABILITY_SEED when given (all scenarios), else its own fixed default. */
export function seedFor(fallback: number): number {
  return Math.floor(numberFromEnv('RELIABILITY_SEED', fallback));
}

/** One line on stdout per scenario start, so the CI log says what was run. */
export function announce(scenario: string, what: Record<string, unknown>): void {
  process.stdout.write(
    `reliability ${scenario}: ${Object.entries(what)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ')}\n`,
  );
}
