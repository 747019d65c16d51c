/**
 * `portal-sync report deflection` as an operator runs it, against the real
 * Redis store (createDeflectionData) seeded with the hand-counted fixture.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeflectionReport, type DeflectionReport } from '../../src/sync/deflection/report.js';
import { loadDeflectionFixture, type DeflectionFixture } from '../fixtures/deflection/fixture.js';
import { seedDeflectionFixture, shiftDeflectionFixture } from '../fixtures/deflection/seed.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { cliArgv } from '../support/cli.js';

const root = resolve(import.meta.dirname, '../..');
const prefix = uniquePrefix();
const dir = mkdtempSync(join(tmpdir(), 'portal-sync-report-'));
let fx: DeflectionFixture;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, cliArgv(args), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', REDIS_URL: redisUrl(), REDIS_PREFIX: prefix },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  // The period ends a minute from now: the CLI's own "now" falls inside its last minute, where nothing happens.
  fx = shiftDeflectionFixture(loadDeflectionFixture('two-weeks'), new Date(Date.now() + 60_000));
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  await seedDeflectionFixture(redis, prefix, fx);
  redis.disconnect();
});
afterAll(async () => {
  await deleteByPrefix(redisUrl(), prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('portal-sync report deflection', () => {
  it('--json gives the hand-counted figures, read from Redis', () => {
    const r = cli('report', 'deflection', '--since', fx.period.from.toISOString(), '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as DeflectionReport;
    expect(report).toMatchObject({
      sessions: 5,
      deflected: 4,
      escalated: 2,
      portalAdoption: { customersWithSession: 4, customers: 8, rate: 0.5 },
      noResultSearches: {
        total: 6,
        distinctQueries: 3,
        top: [
          { query: 'download invoice', count: 3 },
          { query: 'vat number', count: 2 },
          { query: 'cancel plan', count: 1 },
        ],
      },
      ticketDeflection: {
        current: { tickets: 3, perCustomer: 0.375 },
        prior: { tickets: 6, perCustomer: 0.75 },
        rate: 0.5,
      },
    });
    expect(report.selfServiceResolutionRate).toBeCloseTo(4 / 6, 12);
    expect(report.period.from).toBe(fx.period.from.toISOString());
    // The store returns exactly what the pure computation counts over the same period.
    const period = { from: new Date(report.period.from), to: new Date(report.period.to) };
    expect(report).toEqual(
      buildDeflectionReport({ ...fx, ticketsOpened: fx.tickets, priorTicketsOpened: fx.tickets }, period),
    );
    expect(report.trend.reduce((n, w) => n + w.sessions, 0)).toBe(5);
  });

  it('prints a text summary by default', () => {
    const r = cli('report', 'deflection', '--since', fx.period.from.toISOString());
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Self-service deflection, /);
    expect(r.out).toMatch(/self-service resolution\s+66\.7%\s+\(4 of 6 classified\)/);
    expect(r.out).toMatch(/3 {2}download invoice/);
  });

  it('--html writes one self-contained page with the figures', () => {
    const file = join(dir, 'deflection.html');
    const r = cli('report', 'deflection', '--since', fx.period.from.toISOString(), '--html', file);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`wrote ${file}\n`);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<meta name="viewport"');
    for (const s of ['66.7%', '4 of 8 customers had a session', 'billing', 'download invoice'])
      expect(html).toContain(s);
    expect(html).not.toMatch(/<script|\ssrc=|\shref=/i);
  });

  it('covers the last 30 days by default', () => {
    const r = cli('report', 'deflection', '--json');
    expect(r.code).toBe(0);
    // Also s-0, which starts a second before the fixture's two weeks.
    expect(JSON.parse(r.out)).toMatchObject({ period: { days: 30 }, sessions: 6, deflected: 4 });
  });

  it('refuses bad usage with one line and exit 2, before touching Redis', () => {
    const since = cli('report', 'deflection', '--since', 'last-month');
    expect(since.code).toBe(2);
    expect(since.err).toBe(
      'portal-sync: --since: expected a span back from now (24h, 7d, 2w) or an ISO date (2026-10-01) or date-time (2026-10-01T08:00:00Z), got "last-month"\n',
    );
    const both = cli('report', 'deflection', '--json', '--html', join(dir, 'x.html'));
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/choose one output/);
    const unwritable = cli('report', 'deflection', '--html', join(dir, 'missing-dir', 'x.html'));
    expect(unwritable.code).toBe(1);
    expect(unwritable.err).toMatch(/^portal-sync: cannot write .*missing-dir\/x\.html: ENOENT/);
  });
});
