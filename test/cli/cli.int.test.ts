/**
 * The CLI as a newcomer meets it: the README's commands exist, `config check`
 * names every missing variable, and `start` brings up a daemon that answers
 * /healthz and stops cleanly on SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ZENDESK_TICKET_TRIGGER_TEMPLATE } from '../../src/connectors/zendesk/events.js';
import { until } from '../support/e2e.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { cliArgv } from '../support/cli.js';

const root = resolve(import.meta.dirname, '../..');

function runCli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, cliArgv(args), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('README', () => {
  it('shows one command that runs the daemon (in its demo) and one that runs the tests, both real npm scripts', () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    const quickstart = /## Quickstart[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const commands = quickstart
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter(Boolean);
    expect(commands).toEqual(['npm install && npm run demo', 'npm test']);
    const scripts = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')).scripts;
    expect(scripts.demo).toContain('portal-sync.js demo');
    expect(scripts.start).toContain('portal-sync.js start');
    expect(scripts.test).toContain('vitest run');
    expect(readFileSync(resolve(root, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
  });

  it('links the Zendesk setup, which shows the exact trigger body that the receiver parses', () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    expect(readme).toContain('](docs/setup-zendesk.md');
    const setup = readFileSync(resolve(root, 'docs/setup-zendesk.md'), 'utf8');
    expect(setup).toContain(ZENDESK_TICKET_TRIGGER_TEMPLATE.trim());
  });
});

describe('portal-sync config check', () => {
  it('lists every missing or invalid variable by name at once, and exits 2', () => {
    const r = runCli(['config', 'check'], {
      PORTAL_TARGET: 'zendesk,salesforce',
      STRIPE_WEBHOOK_SECRET: 'not-a-whsec',
      PORT: 'eighty',
      REDIS_URL: 'http://wrong',
    });
    expect(r.code).toBe(2);
    for (const name of ['STRIPE_WEBHOOK_SECRET', 'PORT', 'REDIS_URL']) expect(r.stderr).toContain(name);
    // Completeness is only judged once the values themselves parse; check it separately.
    const missing = runCli(['config', 'check'], { PORTAL_TARGET: 'zendesk,salesforce' });
    expect(missing.code).toBe(2);
    for (const name of [
      'ZENDESK_SUBDOMAIN',
      'ZENDESK_EMAIL',
      'ZENDESK_API_TOKEN',
      'SALESFORCE_CLIENT_ID',
      'SALESFORCE_CLIENT_SECRET',
    ]) {
      expect(missing.stderr).toContain(name);
    }
  });

  it('reports an unknown key in the YAML override by name', () => {
    const r = runCli(['config', 'check', '--json'], {
      PORTAL_SYNC_CONFIG: resolve(root, 'test/fixtures/config/unknown-key.yaml'),
    });
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.problems).toContainEqual({
      key: 'server.bodyLimitByte',
      message: expect.stringMatching(/^unknown key/),
    });
  });

  it('passes the example environment, noting what is off', () => {
    const env = Object.fromEntries(
      readFileSync(resolve(root, 'config/example.env'), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const r = runCli(['config', 'check'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('config ok');
    expect(r.stdout).toContain('PORTAL_TARGET is not set');
  });

  it('answers an unknown command with usage help and exit 2', () => {
    const r = runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
  });
});

async function startCli(args: string[], env: Record<string, string>, readyLine: string) {
  const child = spawn(process.execPath, cliArgv(args), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const line = await new Promise<Record<string, string>>((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error(`not started: ${out}`)), 20_000);
    child.stdout.on('data', () => {
      const found = out.split('\n').find((l) => l.includes(readyLine));
      if (found) {
        clearTimeout(timer);
        resolveLine(JSON.parse(found));
      }
    });
  });
  const stop = () =>
    new Promise<number | null>((r) => {
      child.once('exit', r);
      child.kill('SIGTERM');
    });
  return { line, stop, output: () => out };
}

describe('portal-sync start', () => {
  it('runs the worker alone with --role worker, answering /healthz and /metrics', async () => {
    const prefix = uniquePrefix();
    const w = await startCli(
      ['start', '--role', 'worker'],
      { REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, PORT: '0', HOST: '127.0.0.1' },
      'worker probe listening',
    );
    expect(await (await fetch(`${w.line.url}/healthz`)).json()).toEqual({ status: 'ok', role: 'worker' });
    expect(await (await fetch(`${w.line.url}/metrics`)).text()).toContain('portal_sync_events_applied_total');
    // The probe may answer before the worker's own start-up line is written.
    await until('the worker running', () => w.output().includes('events worker running'), 20_000);
    expect(await w.stop()).toBe(0);
    await deleteByPrefix(redisUrl(), prefix);
  });

  it('refuses an unknown role with exit 2', () => {
    const r = runCli(['start', '--role', 'both']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--role must be all, web or worker/);
  });

  it('serves /healthz and exits 0 on SIGTERM', async () => {
    const prefix = uniquePrefix();
    const child = spawn(process.execPath, cliArgv(['start']), {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL: redisUrl(),
        REDIS_PREFIX: prefix,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`daemon did not start: ${out}`)), 20_000);
      child.stdout.on('data', () => {
        const line = out.split('\n').find((l) => l.includes('portal-sync listening'));
        if (line) {
          clearTimeout(timer);
          resolveUrl(JSON.parse(line).url);
        }
      });
    });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    // With no secrets, the receivers are off and say which variable turns them on.
    const off = await fetch(`${url}/webhooks/stripe`, { method: 'POST', body: '{}' });
    expect(off.status).toBe(404);
    expect(((await off.json()) as { error: string }).error).toContain('STRIPE_WEBHOOK_SECRET');
    const code = await new Promise<number | null>((r) => {
      child.once('exit', r);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(out).toContain('"msg":"stopped"');
    await deleteByPrefix(redisUrl(), prefix);
  });
});
