/**
 * Global setup and teardown of the reliability suite: starts from an empty
 * results folder, and at the end prints the summary table and writes
 * test-results/reliability.json. A scenario that never wrote its figures (its
 * process crashed, or it was filtered out) is listed as missing.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { LOG_DIR, SCALE, SCENARIO_DIR, SUMMARY_FILE } from './env.js';
import { readReports, type ScenarioReport } from './summary.js';

const started = Date.now();

const sum = (reports: ScenarioReport[], key: keyof ScenarioReport) =>
  reports.reduce((n, r) => n + (typeof r[key] === 'number' ? (r[key] as number) : 0), 0);

function table(reports: ScenarioReport[]): string {
  const cell = (v: unknown) => (v === undefined ? '-' : String(v));
  const header = [
    'scenario',
    'status',
    'time s',
    'sent',
    'applied',
    'lost',
    'dup portal',
    'leaked',
    'fuzz crashes',
    '5xx',
    'portal calls',
    'seed',
  ];
  const rows = reports.map((r) => [
    r.scenario,
    r.status + (r.reason ? ` (${r.reason.slice(0, 60)})` : ''),
    (r.durationMs / 1000).toFixed(1),
    cell(r.eventsSent),
    cell(r.applied),
    cell(r.lost),
    cell(r.duplicatedOnPortal),
    cell(r.leaked),
    cell(r.fuzzCrashes),
    cell(r.unexpected5xx),
    cell(r.portalCalls),
    cell(r.seed),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export default function setup(): () => void {
  rmSync(SCENARIO_DIR, { recursive: true, force: true });
  mkdirSync(LOG_DIR, { recursive: true });
  return () => {
    const reports = readReports();
    const totalSeconds = (Date.now() - started) / 1000;
    const count = (status: ScenarioReport['status']) => reports.filter((r) => r.status === status).length;
    const totals = {
      scenarios: reports.length,
      passed: count('passed'),
      failed: count('failed'),
      skipped: count('skipped'),
      eventsSent: sum(reports, 'eventsSent'),
      applied: sum(reports, 'applied'),
      lost: sum(reports, 'lost'),
      duplicatedOnPortal: sum(reports, 'duplicatedOnPortal'),
      leaked: sum(reports, 'leaked'),
      fuzzCases: sum(reports, 'fuzzCases'),
      fuzzCrashes: sum(reports, 'fuzzCrashes'),
      unexpected5xx: sum(reports, 'unexpected5xx'),
      portalCalls: sum(reports, 'portalCalls'),
      crossCompanyWrites: sum(reports, 'crossCompanyWrites'),
    };
    const headline =
      `reliability: ${totals.scenarios} scenarios (${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped), ` +
      `events sent ${totals.eventsSent}, applied ${totals.applied}, lost ${totals.lost}, duplicated on portal ${totals.duplicatedOnPortal}, ` +
      `leaked ${totals.leaked}, fuzz cases ${totals.fuzzCases}, fuzz crashes ${totals.fuzzCrashes}, unexpected 5xx ${totals.unexpected5xx}, ` +
      `portal calls ${totals.portalCalls}, cross-company writes: ${totals.crossCompanyWrites}, scale ${SCALE}, ${totalSeconds.toFixed(1)} s`;
    process.stdout.write(`\n${table(reports)}\n\n${headline}\n`);
    for (const r of reports.filter((x) => x.status === 'skipped'))
      process.stdout.write(`reliability: ${r.scenario} skipped: ${r.reason}\n`);
    mkdirSync(SCENARIO_DIR, { recursive: true });
    writeFileSync(
      SUMMARY_FILE,
      `${JSON.stringify({ headline, totals, totalSeconds, scale: SCALE, scenarios: reports }, null, 2)}\n`,
    );
    process.stdout.write(`reliability: summary written to ${SUMMARY_FILE}\n`);
  };
}
