/**
 * Per-scenario figures for the summary table. Each scenario runs in its own
 * test process, so figures go through one JSON file per scenario under
 * test-results/reliability/; the global teardown (global.ts) reads them all,
 * prints the table and writes test-results/reliability.json.
 *
 * A scenario is written as `failed` until it calls pass(): a crash or a failed
 * assertion can never show up as a pass in the table.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SCALE, SCENARIO_DIR } from './env.js';

/** The figures every scenario reports where they apply; anything else goes in `details`. */
export interface Figures {
  eventsSent?: number;
  applied?: number;
  lost?: number;
  duplicatedOnPortal?: number;
  leaked?: number;
  fuzzCases?: number;
  fuzzCrashes?: number;
  /** Answers with a 5xx status other than the documented 503. */
  unexpected5xx?: number;
  portalCalls?: number;
  /** Writes of one company's data into another company's organization or Account (identity scenarios). */
  crossCompanyWrites?: number;
  seed?: number;
}

export interface ScenarioReport extends Figures {
  scenario: string;
  title: string;
  status: 'passed' | 'failed' | 'skipped';
  reason?: string;
  scale: number;
  durationMs: number;
  details: Record<string, unknown>;
}

export interface Scenario {
  readonly report: ScenarioReport;
  set(figures: Figures): void;
  detail(key: string, value: unknown): void;
  pass(): void;
  skip(reason: string): void;
  /** Writes the report as it stands (call it in afterAll). */
  save(): void;
}

export function scenario(name: string, title: string): Scenario {
  const started = performance.now();
  const report: ScenarioReport = { scenario: name, title, status: 'failed', scale: SCALE, durationMs: 0, details: {} };
  const save = () => {
    report.durationMs = Math.round(performance.now() - started);
    mkdirSync(SCENARIO_DIR, { recursive: true });
    writeFileSync(resolve(SCENARIO_DIR, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  };
  return {
    report,
    set: (figures) => void Object.assign(report, figures),
    detail: (key, value) => void (report.details[key] = value),
    pass: () => {
      report.status = 'passed';
      save();
    },
    skip: (reason) => {
      report.status = 'skipped';
      report.reason = reason;
      save();
    },
    save,
  };
}

export function readReports(): ScenarioReport[] {
  let files: string[] = [];
  try {
    files = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files
    .map((f) => JSON.parse(readFileSync(resolve(SCENARIO_DIR, f), 'utf8')) as ScenarioReport)
    .sort((a, b) => a.scenario.localeCompare(b.scenario));
}
