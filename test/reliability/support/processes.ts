/**
 * Real daemon processes: `portal-sync start --role …` run by node itself with
 * tsx's loader (`node --import tsx src/cli/main.ts`), so that the pid we signal
 * IS the daemon — the tsx CLI wrapper would forward SIGTERM but could not
 * forward a SIGKILL, leaving an orphan that still holds jobs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { logPath, logStream } from './logs.js';
import { ROOT } from './env.js';

const CLI = resolve(ROOT, 'src/cli/main.ts');

export interface DaemonProcess {
  child: ChildProcess;
  pid: number;
  /** http://127.0.0.1:PORT of its listener (the web app, or the worker's probe). */
  url: string;
  logPath: string;
  /** Resolves when the process has exited, with the time it did. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resident set size in bytes, from /proc (0 once it is gone). */
  rss(): number;
  kill(signal: NodeJS.Signals): void;
}

/** Writes a YAML override (JSON is YAML) for PORTAL_SYNC_CONFIG; unknown keys would be refused by the daemon. */
export function configOverride(name: string, settings: Record<string, unknown>): string {
  const path = logPath(`${name}-config`).replace(/\.log$/, '.yaml');
  writeFileSync(path, `${JSON.stringify(settings, null, 2)}\n`);
  return path;
}

const READY = { all: 'portal-sync listening', web: 'portal-sync listening', worker: 'worker probe listening' } as const;

export async function spawnDaemon(
  name: string,
  role: 'all' | 'web' | 'worker',
  env: Record<string, string>,
  readyTimeoutMs = 30_000,
): Promise<DaemonProcess> {
  const { path, stream } = logStream(name);
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'start', '--role', role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
    stream.write(d);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolveExit) => {
    child.once('exit', (code, signal) => {
      const at = Date.now();
      // Let the pipes drain into the log file before anyone reads it.
      setTimeout(() => stream.end(() => resolveExit({ code, signal, at })), 50);
    });
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within ${readyTimeoutMs} ms:\n${out.slice(-3000)}`)),
      readyTimeoutMs,
    );
    const look = () => {
      const line = out.split('\n').find((l) => l.includes(READY[role]));
      if (!line) return;
      clearTimeout(timer);
      child.stdout!.off('data', look);
      resolveUrl((JSON.parse(line) as { url: string }).url);
    };
    child.stdout!.on('data', look);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${out.slice(-3000)}`));
    });
  });
  // A worker's probe is up before the worker itself: wait for it too.
  if (role !== 'web') {
    const end = Date.now() + readyTimeoutMs;
    while (!out.includes('events worker running')) {
      if (Date.now() > end) throw new Error(`${name}: the events worker did not start:\n${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const pid = child.pid!;
  return {
    child,
    pid,
    url,
    logPath: path,
    exited,
    output: () => out,
    rss: () => {
      try {
        const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        return kb ? Number(kb) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    kill: (signal) => void child.kill(signal),
  };
}

/** Stops a daemon that may still run (SIGTERM, then SIGKILL after `ms`). */
export async function stopDaemon(d: DaemonProcess | undefined, ms = 30_000): Promise<void> {
  if (!d || d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.kill('SIGTERM');
  const timer = setTimeout(() => d.kill('SIGKILL'), ms);
  await d.exited;
  clearTimeout(timer);
}
