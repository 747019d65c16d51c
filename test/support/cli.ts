/** Runs `portal-sync` as an operator would (a child process through tsx), capturing exactly what it prints and its exit code. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
const tsx = resolve(ROOT, 'node_modules/.bin/tsx');
const cliMain = resolve(ROOT, 'src/cli/main.ts');

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
      tsx,
      [cliMain, ...args],
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
