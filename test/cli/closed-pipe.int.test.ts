/** `portal-sync … | head`: the CLI's output read by a reader that stops early, as a shell pipe does. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliArgv, ROOT } from '../support/cli.js';

describe('output to a pipe its reader closed', () => {
  it('ends the CLI quietly with exit 0, no EPIPE stack trace', async () => {
    const child = spawn(process.execPath, cliArgv(['--help']), {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader is gone before the CLI prints anything, as `head` is once it has its lines.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
