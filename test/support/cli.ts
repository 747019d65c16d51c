/**
 * Runs `portal-sync` as an operator would: the package's own bin (`bin/portal-sync.js`, the built CLI that `npm
 * start`, the demo and the Docker image run) in a child process, capturing exactly what it prints and its exit code.
 * The test run builds it first (test/global-setup.ts), so it is this tree's code.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
/** The CLI as a command line: node itself runs the bin, so a signal sent to the child reaches the CLI. */
export const CLI_BIN = resolve(ROOT, 'bin/portal-sync.js');
export const cliArgv = (args: readonly string[]): string[] => [CLI_BIN, ...args];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json: () => any;
}

/** Only PATH, HOME and `env` reach the child: nothing of the test runner's environment leaks into what is tested. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  opts: { timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      cliArgv(args),
      {
        cwd: opts.cwd ?? ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
        encoding: 'utf8',
        timeout: opts.timeoutMs ?? 170_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return fail(err);
        done({ code: err ? (err.code as number) : 0, stdout, stderr, json: () => JSON.parse(stdout) });
      },
    );
  });
}
