/**
 * What every command shares, as printed: `--version`, required options marked in `--help`, `dlq list`
 * naming each dead letter's source and event id, `status` listing every queue the dashboard shows
 * (deflection and outbound included) as one aligned table, and the dashboard saying when it was read
 * and reloading itself.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatus } from '../../src/sync/admin/status.js';
import { loadConfig } from '../../src/config.js';
import { renderDashboardHtml } from '../../src/webhooks/admin/dashboard.js';
import { outboundEnv } from '../outbound/support/setup.js';
import { ROOT, runCli } from '../support/cli.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';

const prefix = uniquePrefix();
let env: Record<string, string>;

beforeAll(async () => {
  env = {
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    ...outboundEnv([
      {
        id: 'billing-service',
        url: 'http://127.0.0.1:9/hook',
        secret: `whsec_${Buffer.from('s'.repeat(32)).toString('base64')}`,
      },
    ]),
  };
  // One event job that fails for good, as the worker leaves a permanent failure.
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const events = new Queue('events', { connection: redis, prefix });
  await events.add(
    'customer.updated',
    { v: 1, source: 'stripe', eventId: 'evt_1DeadLetter', objectId: 'cus_1', type: 'customer.updated' },
    { jobId: 'stripe-evt_1DeadLetter', attempts: 1 },
  );
  const worker = new Worker(
    'events',
    async () => {
      throw new Error('refused by the record schema');
    },
    { connection: redis.duplicate(), prefix },
  );
  await new Promise<void>((done) => worker.on('failed', () => done()));
  await worker.close();
  await events.close();
  redis.disconnect();
});
afterAll(() => deleteByPrefix(redisUrl(), prefix));

describe('the CLI surface', { timeout: 400_000 }, () => {
  it('prints its version with --version, exit 0', async () => {
    const r = await runCli(['--version']);
    const { version } = JSON.parse(
      await import('node:fs').then((fs) => fs.readFileSync(`${ROOT}/package.json`, 'utf8')),
    );
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('marks the options a command cannot do without as (required) in its --help', async () => {
    const link = await runCli(['identity', 'link', '--help']);
    expect(link.stdout).toMatch(/--reason <text> +why \(kept in the audit trail\) \(required\)/);
    const replay = await runCli(['webhooks', 'replay', '--help']);
    expect(replay.stdout).toMatch(/--since <when>[\s\S]*?\(required\)/);
    expect(replay.stdout).not.toMatch(/--until <when>[^\n]*\(required\)/);
  });

  it("dlq list names each dead letter's source and event id, in aligned columns", async () => {
    const r = await runCli(['dlq', 'list'], env);
    expect(r.code).toBe(0);
    const [head, row] = r.stdout.split('\n');
    expect(head).toMatch(/^DEAD-LETTERED +QUEUE +SOURCE +EVENT +ID \(for dlq replay --id\) +REASON$/);
    expect(row).toMatch(
      /^\d{4}-\d\d-\d\dT\S+Z +events +stripe +evt_1DeadLetter +stripe-evt_1DeadLetter +refused by the record schema$/,
    );
    expect(row!.indexOf('stripe ')).toBe(head!.indexOf('SOURCE'));
    expect(row!.indexOf('evt_1DeadLetter')).toBe(head!.indexOf('EVENT'));
  });

  it('status lists every queue the dashboard shows, deflection and outbound included, as one aligned table', async () => {
    const r = await runCli(['status'], env);
    const lines = r.stdout.split('\n');
    const head = lines.findIndex((l) =>
      /^ {2}QUEUE +WAITING +ACTIVE +DELAYED +FAILED +LAG +DONE\/MIN +FAILED\/MIN$/.test(l),
    );
    expect(head, r.stdout).toBeGreaterThan(-1);
    const rows = lines.slice(head + 1, head + 6);
    expect(rows.map((l) => l.trim().split(/\s+/)[0])).toEqual([
      'events',
      'push-zendesk',
      'push-salesforce',
      'deflection',
      'outbound-billing-service',
    ]);
    // Right-aligned numbers: every row ends its FAILED column where the header does.
    const end = lines[head]!.indexOf('FAILED') + 'FAILED'.length;
    for (const row of rows) expect(row.slice(0, end), row).toMatch(/\d$/);
    expect(rows[0]).toMatch(/^ {2}events +0 +0 +0 +1 /);

    const loaded = loadConfig(env);
    if (!loaded.ok) throw new Error(loaded.problems.join('; '));
    const redis = new Redis(redisUrl());
    const status = await readStatus(redis, loaded.config);
    redis.disconnect();
    const html = renderDashboardHtml({
      generatedAt: new Date('2026-11-23T10:15:30Z'),
      queues: Object.entries(status.queues).map(([name, q]) => ({ name, ...q })),
      deadLetters: { total: 0, first: [] },
      quarantined: 0,
      conflicts: { total: 0, first: [] },
      events: { rows: [], windowSeconds: 60 },
      lastReconcile: null,
      subscriptions: [],
      bulk: {},
    });
    const dashboardQueues = [...html.matchAll(/<tr><th scope="row">([^<]+)<\/th><td class="[^"]*">/g)].map((m) => m[1]);
    expect(dashboardQueues).toEqual([
      'events',
      'push-zendesk',
      'push-salesforce',
      'deflection',
      'outbound-billing-service',
    ]);
    expect(html).toContain('<meta http-equiv="refresh" content="30">');
    expect(html).toContain('Read at 10:15:30 UTC; reloads every 30 s.');
  });
});
