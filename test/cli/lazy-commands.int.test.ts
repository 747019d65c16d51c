/** The CLI loads the module of the command it runs, and no other: what `--help` and one command pull in. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { Help } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, invokedCommand, type CommandName } from '../../src/cli/commands.js';
import { buildProgram } from '../../src/cli/index.js';
import { cliArgv, ROOT } from '../support/cli.js';

const HOOK = resolve(import.meta.dirname, '../support/loaded-packages.mjs');

/** The packages the bin loaded for `args` (the hook's line on stderr), with its exit code. */
function packagesLoadedBy(args: string[]): Promise<{ code: number | null; packages: string[] }> {
  return new Promise((done, fail) =>
    execFile(
      process.execPath,
      ['--import', HOOK, ...cliArgv(args)],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, encoding: 'utf8' },
      (err, _stdout, stderr) => {
        const line = stderr.split('\n').find((l) => l.startsWith('loaded-packages '));
        if (!line) return fail(new Error(`no loaded-packages line; stderr: ${stderr}`));
        done({ code: err ? (err.code as number) : 0, packages: JSON.parse(line.slice('loaded-packages '.length)) });
      },
    ),
  );
}

describe('the CLI loads only the command it runs', () => {
  it('prints the root help with no command module loaded: no BullMQ, Stripe SDK, express or Redis client', async () => {
    const { code, packages } = await packagesLoadedBy(['--help']);
    expect(code).toBe(0);
    expect(packages).toContain('commander');
    for (const heavy of ['bullmq', 'stripe', 'express', 'ioredis', 'jsforce', 'node-zendesk'])
      expect(packages).not.toContain(heavy);
  });

  it("loads a command's own module for its help: status reads queues through BullMQ", async () => {
    const { code, packages } = await packagesLoadedBy(['status', '--help']);
    expect(code).toBe(0);
    expect(packages).toContain('bullmq');
  });

  it('prints the same root help as with every command loaded', async () => {
    const [lazy, full] = await Promise.all([buildProgram([]), buildProgram()]);
    expect(lazy.helpInformation()).toBe(full.helpInformation());
  });

  it.each(Object.keys(COMMANDS) as CommandName[])(
    'names `%s` in the root help as commander names the loaded command',
    async (name) => {
      const program = await buildProgram([name]);
      const command = program.commands.find((c) => c.name() === name)!;
      expect(Help.prototype.subcommandTerm.call(new Help(), command)).toBe(COMMANDS[name].term);
      expect(command.description()).toBe(COMMANDS[name].summary);
    },
  );

  it.each([
    [['status', '--json'], 'status'],
    [['--verbose', 'inspect', 'ann@example.com'], 'inspect'],
    [['help', 'dlq'], 'dlq'],
    [['dlq', 'list'], 'dlq'],
    [['--help'], null],
    [[], null],
    [['statu'], null],
    [['__proto__'], null],
  ] as const)('finds the command argv %j runs: %s', (args, name) => {
    expect(invokedCommand(['node', 'portal-sync', ...args])).toBe(name);
  });
});
