/**
 * `portal-sync demo` as a newcomer runs it, the built CLI, as a child process on the test Redis:
 * the scripted day must reach both portal stand-ins, the dashboard must answer, and the demo
 * must leave nothing behind in Redis, whether it ends by itself or by Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisUrl } from '../support/redis.js';
import { cliArgv } from '../support/cli.js';

const root = resolve(import.meta.dirname, '../..');
const BOUND_MS = 90_000;

interface Line {
  type: string;
  [key: string]: any;
}

interface Run {
  child: ChildProcess;
  lines: Line[];
  stderr: () => string;
  /** Resolves with the first line of that type. */
  line(type: string): Promise<Line>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runDemo(args: string[], env: Record<string, string> = {}): Run {
  // node itself: a signal reaches the demo, not a wrapper process that reports it as 130.
  const child = spawn(process.execPath, cliArgv(['demo', '--json', '--port', '0', '--speed', '20', ...args]), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', REDIS_URL: redisUrl(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  const waiting: { type: string; resolve: (l: Line) => void }[] = [];
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = JSON.parse(out.slice(0, nl)) as Line; // every stdout line must be JSON under --json
      out = out.slice(nl + 1);
      lines.push(line);
      for (const w of waiting.filter((x) => x.type === line.type)) w.resolve(line);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), BOUND_MS);
  void exit.then(() => clearTimeout(timer));
  return {
    child,
    lines,
    stderr: () => err,
    exit,
    line: (type) =>
      new Promise((resolve, reject) => {
        const seen = lines.find((l) => l.type === type);
        if (seen) return resolve(seen);
        waiting.push({ type, resolve });
        void exit.then(() => reject(new Error(`the demo exited before printing a ${type} line; stderr:\n${err}`)));
      }),
  };
}

async function keysUnder(prefix: string): Promise<number> {
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  } finally {
    redis.disconnect();
  }
}

describe('portal-sync demo', () => {
  it(
    'plays the scripted day into both portals, checks the dashboard, and exits 0 with --exit-after-script',
    async () => {
      const started = Date.now();
      const run = runDemo(['--exit-after-script']);
      const { code } = await run.exit;
      expect(run.stderr()).toBe(''); // nothing went wrong, and nothing was logged
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(BOUND_MS);

      const environment = run.lines.find((l) => l.type === 'environment')!;
      expect(environment).toMatchObject({
        zendeskFieldsCreated: 26,
        prefix: expect.stringMatching(/^portal-sync-demo-/),
      });
      const steps = run.lines.filter((l) => l.type === 'step');
      expect(steps.map((s) => s.actor)).toEqual([
        'salesforce',
        'stripe',
        'zendesk',
        'stripe',
        'stripe',
        'stripe',
        'zendesk',
        'zendesk',
        'portal',
        'portal-sync',
        'portal',
        'zendesk',
        'portal-sync',
      ]);
      expect(JSON.stringify(steps)).not.toMatch(/@/); // no emails in what it prints

      const summary = run.lines.find((l) => l.type === 'summary')!;
      // Zendesk Help Center: the organization's billing fields, the invoices with their links, the tickets.
      expect(summary.zendesk.organization.fields).toMatchObject({
        billing_status: 'past_due',
        billing_plan: 'Team (monthly)',
        billing_mrr: 245,
        billing_delinquent: true,
        portal_open_invoices: 1,
      });
      const [paid, open] = summary.stripe.invoices;
      expect(summary.zendesk.invoices).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            id: paid.id,
            number: paid.number,
            status: 'paid',
            hostedUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/i\/acct_/),
          }),
          expect.objectContaining({ id: open.id, status: 'open' }),
        ]),
      );
      expect(summary.zendesk.tickets.map((t: any) => t.status)).toEqual(['solved', 'new']);
      expect(summary.zendesk.profileEvents.map((e: any) => e.type).sort()).toEqual([
        'self_service_deflected',
        'self_service_escalated',
      ]);
      // Salesforce Experience Cloud: the Account's fields and the records the daemon upserted.
      expect(summary.salesforce.account.fields).toMatchObject({
        Billing_Status__c: 'past_due',
        Billing_Delinquent__c: true,
        Billing_MRR__c: 245,
        Open_Support_Tickets__c: 1,
      });
      expect(summary.salesforce.invoices.map((i: any) => [i.id, i.status]).sort()).toEqual(
        [
          [paid.id, 'paid'],
          [open.id, 'open'],
        ].sort(),
      );
      expect(summary.salesforce.invoices.find((i: any) => i.id === paid.id).hostedUrl).toBe(
        summary.zendesk.invoices.find((i: any) => i.id === paid.id).hostedUrl,
      );
      expect(summary.salesforce.tickets.map((t: any) => [t.subject, t.status])).toEqual(
        expect.arrayContaining([
          ['Please add two more seats', 'solved'],
          ['Locked out after a password reset', 'new'],
        ]),
      );
      expect(summary.salesforce.deflectionEvents.map((e: any) => e.type).sort()).toEqual(['deflected', 'escalated']);
      expect(summary.deflection).toMatchObject({ deflected: 1, escalated: 1 });
      expect(summary.deflection.sessions).toEqual([
        { outcome: 'deflected', category: 'billing' },
        { outcome: 'escalated', category: 'account', ticketId: expect.any(String) },
      ]);

      const dashboard = run.lines.find((l) => l.type === 'dashboard')!;
      expect(dashboard).toMatchObject({
        url: expect.stringMatching(/\/admin$/),
        loginUrl: expect.stringMatching(/\/admin\/login$/),
        status: 200,
      });
      expect(run.lines.at(-1)).toEqual({ type: 'stopped', reason: 'end of script' });
      expect(await keysUnder(environment.prefix)).toBe(0);
    },
    BOUND_MS + 10_000,
  );

  it(
    'stays up with the dashboard answering until Ctrl-C, then stops cleanly with exit 0',
    async () => {
      const run = runDemo([]);
      const environment = await run.line('environment');
      const dashboard = await run.line('dashboard');
      const page = await fetch(dashboard.url, { headers: { authorization: `Bearer ${dashboard.adminToken}` } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      expect((await fetch(dashboard.url)).status).toBe(401); // still the real admin area: no token, no dashboard
      expect(await keysUnder(environment.prefix)).toBeGreaterThan(0);

      run.child.kill('SIGINT');
      const { code } = await run.exit;
      expect(code).toBe(0);
      expect(run.lines.at(-1)).toEqual({ type: 'stopped', reason: 'SIGINT' });
      // The daemon's own log (JSON on stderr) has only the refused request above, without the token.
      const logs = run
        .stderr()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string; reason?: string });
      expect(logs.map((l) => [l.msg, l.reason])).toEqual([['admin request refused', 'missing_token']]);
      expect(run.stderr()).not.toContain(dashboard.adminToken);
      await expect(fetch(dashboard.url)).rejects.toThrow(); // nothing listens any more
      expect(await keysUnder(environment.prefix)).toBe(0);
    },
    BOUND_MS + 10_000,
  );

  const redisServerOnPath = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!redisServerOnPath)(
    'with no Redis answering, runs on a private redis-server and says so',
    async () => {
      const port = await new Promise<number>((done) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as { port: number }).port;
          s.close(() => done(p));
        });
      });
      const run = runDemo(['--exit-after-script'], { REDIS_URL: `redis://127.0.0.1:${port}` });
      const { code } = await run.exit;
      expect(code).toBe(0);
      expect(run.stderr()).toMatch(
        new RegExp(
          `^portal-sync demo: no Redis answered at redis://127\\.0\\.0\\.1:${port}: started a private redis-server at redis://127\\.0\\.0\\.1:\\d+`,
        ),
      );
      const environment = run.lines.find((l) => l.type === 'environment')!;
      expect(environment.redis).not.toBe(`redis://127.0.0.1:${port}`);
      expect(run.lines.find((l) => l.type === 'summary')).toMatchObject({ deflection: { deflected: 1, escalated: 1 } });
    },
    BOUND_MS + 10_000,
  );
});
