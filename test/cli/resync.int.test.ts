/**
 * `portal-sync resync` as an admin runs it, in its own process against a
 * running worker: help and exit codes, a dry run that pushes nothing, a
 * resync killed with SIGKILL half-way that `--resume` completes without
 * reading its finished pages again — ending where an uninterrupted run ends.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshotStreams } from '../../src/connectors/resync.js';
import { createLogger } from '../../src/log.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskCall, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { createEventsQueue } from '../../src/sync/events/queue.js';
import { runResync } from '../../src/sync/resync/runner.js';
import { ResyncRuns } from '../../src/sync/resync/runs.js';
import { until } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { seedCustomers, visibleRecord, type SeededCustomer } from '../e2e/resync-support.js';
import { cliArgv } from '../support/cli.js';

const root = resolve(import.meta.dirname, '../..');
const N = 300;

let sf: SalesforceStandIn;
let zd: ZendeskStandIn;
let p: TestPipeline;
let reference: TestPipeline;
let customers: SeededCustomer[];
let env: Record<string, string>;

/** Asynchronously: the stand-ins live in this process and must keep answering while the CLI runs. Node runs the built CLI itself. */
function runCli(args: string[], timeout = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, cliArgv(args), {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`portal-sync ${args.join(' ')} did not finish within ${timeout} ms; stderr: ${stderr}`));
    }, timeout);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

const exportCalls = (): ZendeskCall[] => zd.calls.filter((c) => c.path.includes('/incremental/'));
const callKey = (c: ZendeskCall) => `${c.path}?${c.query}`;

beforeAll(async () => {
  sf = await startSalesforceStandIn({});
  zd = await startZendeskStandIn({ exportLagSeconds: 60 });
  const hourAgo = Date.now() - 3600_000;
  customers = seedCustomers(sf, zd, N, (i) => new Date(hourAgo + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const sources = {
    ZENDESK_BASE_URL: zd.baseUrl,
    ZENDESK_EMAIL: 'agent@example.com',
    ZENDESK_API_TOKEN: 'zd-token-0123456789abcdef',
    SALESFORCE_INSTANCE_URL: sf.instanceUrl,
    SALESFORCE_ACCESS_TOKEN: sf.accessToken,
  };
  p = await startTestPipeline(sources);
  reference = await startTestPipeline(sources, (c) => void (c.resync.zendeskExportsPerMinute = 6000));
  // Slow, small pages, so that a kill lands half-way: 100 objects a page, 150 export calls a minute.
  const dir = mkdtempSync(join(tmpdir(), 'resync-cli-'));
  const override = join(dir, 'override.yaml');
  writeFileSync(
    override,
    'resync:\n  zendeskExportsPerMinute: 150\n  zendeskPageSize: 100\n  salesforcePageSize: 200\n',
  );
  env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    REDIS_URL: p.daemon.config.redis.url,
    REDIS_PREFIX: p.daemon.prefix,
    PORTAL_SYNC_CONFIG: override,
    LOG_LEVEL: 'warn',
    ...sources,
  };
}, 60_000);

afterAll(async () => {
  await p?.stop();
  await reference?.stop();
  await sf?.close();
  await zd?.close();
});

describe('portal-sync resync', () => {
  it('explains itself with --help, and refuses bad options with exit 2 and one line', async () => {
    const help = await runCli(['resync', '--help']);
    expect(help.code).toBe(0);
    for (const s of ['--customer', '--since', '--dry-run', '--resume', '--source', 'Examples:'])
      expect(help.stdout).toContain(s);
    const badSource = await runCli(['resync', '--source', 'hubspot']);
    expect(badSource.code).toBe(2);
    expect(badSource.stderr.trim().split('\n')).toHaveLength(1);
    expect(badSource.stderr).toContain('--source');
    const badSince = await runCli(['resync', '--since', 'yesterday']);
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toMatch(/--since: expected a span back from now \(24h, 7d, 2w\) or an ISO date/);
    const nothingToResume = await runCli(['resync', '--resume']);
    expect(nothingToResume.code).toBe(2);
    expect(nothingToResume.stderr).toMatch(/no unfinished resync/);
  }, 90_000); // four CLI starts (a second or more each on a loaded 2-core machine)

  it('a customer REF that names no record exits 1 with one clear line', async () => {
    const r = await runCli(['resync', '--customer', 'nobody@nowhere.example']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no customer record for nobody@nowhere\.example/);
  });

  it('--dry-run lists the portal fields that would change and stores nothing', async () => {
    const r = await runCli(['resync', '--source', 'zendesk', '--dry-run', '--json'], 120_000);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.dryRun).toBe(true);
    expect(out.customers, `read ${out.read}; stderr ${r.stderr.slice(0, 300)}`).toHaveLength(N);
    const first = out.customers.find((c: { ref: string }) => c.ref === `zdorg:${customers[0]!.orgId}`);
    expect(first.customerId).toBeNull(); // not in the store yet
    expect(first.changes).toContainEqual({
      field: `tickets[${customers[0]!.ticketId}].status`,
      from: null,
      to: 'solved',
    });
    const redis = new Redis(p.daemon.config.redis.url);
    expect(await redis.scard(`${p.daemon.prefix}:customers`)).toBe(0); // nothing stored
    expect(await redis.llen(`${p.daemon.prefix}:events:prioritized`).catch(() => 0)).toBe(0);
    redis.disconnect();
  }, 120_000);

  it('killed half-way with SIGKILL, --resume completes without re-reading finished pages; the result equals an uninterrupted run', async () => {
    const before = zd.calls.length;
    // node itself (not a wrapper, whose SIGKILL would leave its node child running on).
    const child = spawn(process.execPath, cliArgv(['resync', '--source', 'zendesk,salesforce', '--no-progress']), {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // 3 Zendesk streams × 3-4 pages of 100, 2 Salesforce streams × 2 pages: kill once two pages were checkpointed.
    const watch = new Redis(p.daemon.config.redis.url);
    await until(
      'two checkpointed pages',
      async () => {
        const run = await new ResyncRuns(watch, p.daemon.prefix).latest();
        return (
          run !== null && run.status === 'running' && Object.values(run.cursors).filter((c) => c !== null).length >= 2
        );
      },
      30_000,
    );
    watch.disconnect();
    child.kill('SIGKILL');
    await exited;
    const firstRun = zd.calls
      .slice(before)
      .filter((c) => c.path.includes('/incremental/'))
      .map(callKey);

    const redis = new Redis(p.daemon.config.redis.url);
    const run = await new ResyncRuns(redis, p.daemon.prefix).latest();
    redis.disconnect();
    expect(run?.status).toBe('running');
    expect(Object.keys(run!.cursors).length).toBeGreaterThan(0);

    const mark = zd.calls.length;
    const resumed = await runCli(['resync', '--resume', '--json', '--no-progress'], 60_000).catch(
      async (err: Error) => {
        const r = new Redis(p.daemon.config.redis.url);
        const info = await new ResyncRuns(r, p.daemon.prefix).latest();
        r.disconnect();
        throw new Error(`${err.message}\n${JSON.stringify(info)}`);
      },
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming ${run!.id}`);
    const summary = JSON.parse(resumed.stdout);
    expect(summary.runId).toBe(run!.id);
    expect(summary.complete).toBe(true);
    const secondRun = exportCalls()
      .slice(0)
      .filter((c) => zd.calls.indexOf(c) >= mark)
      .map(callKey);
    // Pages whose checkpoint was saved are not asked for again; at most the one in flight per stream is.
    const again = secondRun.filter((k) => firstRun.includes(k));
    expect(again.length).toBeLessThanOrEqual(3);
    expect(secondRun.length).toBeGreaterThan(0);

    // The same sources read in one go by another daemon give the same records.
    const r2 = new Redis(reference.daemon.config.redis.url);
    const queue = createEventsQueue(r2, reference.daemon.prefix);
    const runs = new ResyncRuns(r2, reference.daemon.prefix);
    const runId = await runs.create({ sources: ['zendesk', 'salesforce'], since: null, customer: null, dryRun: false });
    await runResync({
      runs,
      runId,
      queue,
      streams: await createSnapshotStreams(reference.daemon.config, {
        sources: ['zendesk', 'salesforce'],
        since: null,
      }),
      logger: createLogger('silent'),
    });
    await queue.close();
    r2.disconnect();
    await p.drain();
    for (const c of customers)
      expect(await visibleRecord(p.worker.store, c), `customer ${c.i}`).toEqual(
        await visibleRecord(reference.worker.store, c),
      );
  }, 180_000);

  it('--customer reads one customer fresh from every source and reports what changed', async () => {
    const c = customers[42]!;
    const t = zd.state.tickets.get(c.ticketId)!;
    t.status = 'hold';
    t.updated_at = new Date(Date.now() - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const r = await runCli(['resync', '--customer', c.email, '--json', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.streams.map((s: { stream: string }) => s.stream).sort()).toEqual([
      `salesforce.account.${c.accountId}`,
      `zendesk.organization.${c.orgId}`,
    ]);
    // Account + Contact; organization + user + ticket.
    expect(summary.counts).toMatchObject({ read: 5, applied: 5, changed: 1, failed: 0 });
  }, 60_000);

  it('`reconcile --json` runs a pass now, and `status --json` shows it with the last resync and processing rates', async () => {
    const r = await runCli(['reconcile', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(Object.keys(report.sources).sort()).toEqual(['salesforce', 'zendesk']);
    expect(report).toMatchObject({ drift: expect.any(Number), driftIds: expect.any(Array) });
    const s = await runCli(['status', '--json']);
    expect(s.code, s.stderr).toBe(0);
    const status = JSON.parse(s.stdout);
    expect(status.reconcile).toMatchObject({ startedAt: report.startedAt, drift: report.drift });
    expect(status.resync).toMatchObject({ status: 'finished', counts: expect.objectContaining({ failed: 0 }) });
    expect(status.queues.events).toMatchObject({ completedPerMinute: expect.any(Number), failedPerMinute: 0 });
    expect(status.queues.events.completedPerMinute).toBeGreaterThan(0);
    const text = await runCli(['status']);
    expect(text.stdout).toMatch(/last reconcile: .*drift/);
    expect(text.stdout).toMatch(/^ {2}QUEUE +WAITING +ACTIVE +DELAYED +FAILED +LAG +DONE\/MIN +FAILED\/MIN$/m);
    // Batch jobs (src/sync/events/batch-job.ts): the table says what it counts.
    expect(text.stdout).toContain('counts are jobs: an events job is one event, or up to 20 under load');
  }, 60_000);
});
