/**
 * Deflection per Zendesk brand, end to end: signed Help Center activity of two brands and tickets of two brands
 * over HTTP, the worker feeding the tracker on real Redis, then `portal-sync report deflection` as an operator
 * runs it (its text as printed, and --brand) and the per-brand session metrics.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { DeflectionReport } from '../../src/sync/deflection/report.js';
import { redisUrl } from '../support/redis.js';
import {
  iso,
  sendActivity,
  sendTicket,
  startDeflectionPipeline,
  type DeflectionPipeline,
} from './deflection-support.js';
import { cliArgv } from '../support/cli.js';

const root = resolve(import.meta.dirname, '../..');
const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-23T10:00:00.000Z');
const ACME = '360000000001';
const GLOBEX = '360000000002';
const BRANDS = [
  { id: Number(ACME), name: 'Acme' },
  { id: Number(GLOBEX), name: 'Globex' },
];
const dir = mkdtempSync(join(tmpdir(), 'portal-sync-brands-'));
const configFile = join(dir, 'brands.yaml');
let clock = T0;
let p: DeflectionPipeline;

function report(...args: string[]) {
  const r = spawnSync(
    process.execPath,
    cliArgv(['report', 'deflection', '--since', iso(T0 - HOUR), '--until', iso(T0 + 30 * HOUR), ...args]),
    {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        REDIS_URL: redisUrl(),
        REDIS_PREFIX: p.daemon.prefix,
        PORTAL_SYNC_CONFIG: configFile,
        NO_COLOR: '1',
      },
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  writeFileSync(configFile, stringify({ zendesk: { brands: BRANDS } }));
  p = await startDeflectionPipeline({
    now: () => clock,
    tweak: (c) => {
      c.zendesk.brands = BRANDS.map((b) => ({ id: String(b.id), name: b.name, hosts: [] }));
    },
  });
  const at = (min: number) => iso(T0 + min * 60_000);
  await sendActivity(
    p.daemon,
    // Ann, on Acme's Help Center: a search that finds nothing, then no ticket.
    {
      id: 'b-ann-1',
      type: 'search',
      occurred_at: at(0),
      contact: { email: 'ann@acme-customer.example' },
      query: 'Reset password',
      result_count: 0,
      brand_id: ACME,
    },
    // Bob, on Globex's: a search, then a Globex ticket.
    {
      id: 'b-bob-1',
      type: 'search',
      occurred_at: at(0),
      contact: { email: 'bob@globex-customer.example' },
      query: 'invoice',
      result_count: 3,
      brand_id: Number(GLOBEX),
    },
    // Cara reads an Acme article, then opens a ticket with Globex: Acme's Help Center did not fail her.
    {
      id: 'b-cara-1',
      type: 'article_view',
      occurred_at: at(0),
      contact: { email: 'cara@both.example' },
      article_id: '900',
      brand_id: ACME,
    },
    // Dave's portal names no brand; his Acme ticket escalates that session.
    {
      id: 'b-dave-1',
      type: 'search',
      occurred_at: at(0),
      contact: { email: 'dave@nobrand.example' },
      query: 'vat',
      result_count: 1,
    },
  );
  await sendTicket(p.daemon, {
    id: '7101',
    email: 'bob@globex-customer.example',
    createdAt: '2026-11-23T10:10Z',
    subject: 'Invoice question',
    brandId: GLOBEX,
  });
  await sendTicket(p.daemon, {
    id: '7102',
    email: 'cara@both.example',
    createdAt: '2026-11-23T10:05Z',
    subject: 'Globex order',
    brandId: GLOBEX,
  });
  await sendTicket(p.daemon, {
    id: '7103',
    email: 'dave@nobrand.example',
    createdAt: '2026-11-23T10:05Z',
    subject: 'VAT on invoice',
    brandId: ACME,
  });
  await p.drain();
  clock = T0 + 26 * HOUR;
  await p.worker.tracker.sweep();
}, 60_000);

afterAll(async () => {
  await p?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('deflection per brand', () => {
  it('prints the period per brand: sessions by their Help Center, tickets by their own brand, no brand apart', () => {
    const r = report();
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      [
        'By brand (sessions / deflected / escalated / resolution / tickets):',
        '  Acme (360000000001)        2     2     0  100.0%     1',
        '  Globex (360000000002)      1     0     1    0.0%     2',
        '  no brand                   1     0     1    0.0%     0',
      ].join('\n'),
    );
  });

  it('--brand keeps one brand: its sessions, outcomes, searches with no result and tickets only', () => {
    const r = report('--brand', 'acme');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Self-service deflection, .*, Acme \(360000000001\) only\n/);
    expect(r.out).toMatch(/self-service sessions\s+2\n/);
    expect(r.out).toMatch(/self-service resolution\s+100\.0%\s+\(2 of 2 classified\)/);
    expect(r.out).toMatch(/1 {2}reset password/);

    const json = JSON.parse(report('--brand', GLOBEX, '--json').out) as DeflectionReport;
    expect(json).toMatchObject({
      brand: { id: GLOBEX, name: 'Globex' },
      sessions: 1,
      deflected: 0,
      escalated: 1,
      noResultSearches: { total: 0 },
    });
    expect(json.ticketDeflection.current.tickets).toBe(2);
  });

  it('refuses a --brand that is neither an id nor a listed name, as bad usage', () => {
    const r = report('--brand', 'initech');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--brand: "initech" is neither a Zendesk brand id/);
  });

  it('counts sessions per brand in the metrics, with a bounded brand label', async () => {
    const text = await p.daemon.metrics.registry.metrics();
    expect(text).toMatch(/portal_sync_deflection_sessions_total\{outcome="started",brand="360000000001"\} 2/);
    expect(text).toMatch(/portal_sync_deflection_sessions_total\{outcome="deflected",brand="360000000001"\} 2/);
    expect(text).toMatch(/portal_sync_deflection_sessions_total\{outcome="escalated",brand="360000000002"\} 1/);
    expect(text).toMatch(/portal_sync_deflection_sessions_total\{outcome="escalated",brand="none"\} 1/);
  });
});
