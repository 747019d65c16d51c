/**
 * The README's demo-then-CLI walkthrough, played line by line as a newcomer would: the demo started
 * with --write-env, the file sourced in another shell, then each README command run there, checked
 * for its exit code and what it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN, ROOT } from '../support/cli.js';
import { redisUrl } from '../support/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'portal-sync-walkthrough-'));
let demo: ChildProcess;
let demoOut = '';

/** The README's walkthrough: the demo line, then the second terminal's lines. */
function walkthrough(): { demo: string; lines: string[] } {
  const section =
    /### Trying the CLI against the demo([\s\S]*?)\n## /.exec(readFileSync(resolve(ROOT, 'README.md'), 'utf8'))?.[1] ??
    '';
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter(Boolean),
  );
  return { demo: blocks[0]![0]!, lines: blocks[1]! };
}

/** Runs one README line in a fresh bash, after the lines that set the shell up (source, alias), as a second terminal would. */
function inShell(setup: string[], line: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // `portal-sync` as the README's alias runs it (the built bin), minus npm's build: the test run built it already.
  const prelude = [
    'shopt -s expand_aliases',
    ...setup.map((l) =>
      l.startsWith('alias portal-sync=') ? `alias portal-sync='${process.execPath} ${CLI_BIN}'` : l,
    ),
  ];
  return new Promise((done) => {
    const child = spawn('bash', ['-c', `${prelude.join('\n')}\n${line}`], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  const { demo: line } = walkthrough();
  expect(line).toBe('npm run demo -- --write-env demo.env');
  // `npm run demo --` builds first; the test runs the same command from source.
  demo = spawn(process.execPath, [CLI_BIN, 'demo', '--write-env', 'demo.env', '--port', '0', '--speed', '20'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', REDIS_URL: redisUrl() },
  });
  demo.stdout!.on('data', (b: Buffer) => (demoOut += b.toString()));
  demo.stderr!.on('data', (b: Buffer) => (demoOut += b.toString()));
  const end = Date.now() + 240_000;
  while (!demoOut.includes('stay up until Ctrl-C')) {
    if (Date.now() > end || demo.exitCode !== null) throw new Error(`the demo did not come up:\n${demoOut}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}, 300_000);
afterAll(async () => {
  if (demo && demo.exitCode === null) {
    const exited = new Promise((r) => demo.once('exit', r));
    demo.kill('SIGINT');
    await exited;
  }
});

describe('the README walkthrough: demo, then the CLI in another shell', { timeout: 600_000 }, () => {
  it('the demo writes an env file only its user can read, and prints the lines to paste and a sample inspect', () => {
    const file = join(dir, 'demo.env');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o077).toBe(0);
    const text = readFileSync(file, 'utf8');
    for (const name of [
      'REDIS_URL',
      'REDIS_PREFIX',
      'STRIPE_SECRET_KEY',
      'STRIPE_API_HOST',
      'ZENDESK_BASE_URL',
      'ZENDESK_API_TOKEN',
      'SALESFORCE_LOGIN_URL',
      'SALESFORCE_CLIENT_SECRET',
      'ADMIN_TOKEN',
    ])
      expect(text).toMatch(new RegExp(`^export ${name}='[^']+'$`, 'm'));
    expect(demoOut).toContain('Try the CLI against this demo from another shell: `. ./demo.env`');
    expect(demoOut).toContain("  portal-sync inspect 'Acme Logistics' --explain\n");
  });

  it('every command of the walkthrough exits 0 and prints what the README promises', async () => {
    const { lines } = walkthrough();
    const setup = lines.filter((l) => l.startsWith('. ') || l.startsWith('alias '));
    const commands = lines.filter((l) => !setup.includes(l));
    expect(commands.length).toBeGreaterThanOrEqual(6);
    const out: Record<string, string> = {};
    for (const line of commands) {
      const r = await inShell(setup, line);
      expect(r.code, `${line}\n${r.stdout}\n${r.stderr}`).toBe(0);
      out[line] = r.stdout;
    }
    expect(out['portal-sync status']).toMatch(/QUEUE +WAITING/);
    expect(out["portal-sync inspect 'Acme Logistics' --explain"]).toMatch(
      /^customer cust_\S+\n[\s\S]*invoice \S+: paid, paid USD [\d,]+\.\d\d, http/,
    );
    expect(out["portal-sync inspect 'Acme Logistics' --explain"]).toContain('lineage:');
    expect(out['portal-sync report deflection --since 24h']).toMatch(/deflected/i);
    expect(out['portal-sync resync --source zendesk --dry-run']).toMatch(/dry run: read \d+ object\(s\)/);
  });
});
