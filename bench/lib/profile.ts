/**
 * A CPU profile summary for benchmarks: runs a measured part under V8's sampling profiler (node:inspector,
 * in this process), or reads the profile a bench's child process wrote (`--cpu-prof`), and gives the functions
 * with the most self time, as JSON-ready rows. The profile itself costs a little CPU: the summary says where the
 * time goes, the bench's rates say how much.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session, type Profiler } from 'node:inspector/promises';

export interface ProfileRow {
  /** Function name and where it lives (file under src/ or bench/, or the package); V8's own work as V8 names it. */
  fn: string;
  /** Share of the busy (non-idle) samples spent in the function itself. */
  selfPercent: number;
}

const where = (url: string): string => {
  if (url === '') return '';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/((?:src|bench)\/.*)$/.exec(url);
  return own ? own[1]! : url.replace(/^node:/, 'node:');
};

/** The `top` functions by self time over the busy samples of a profile. */
export function topSelfTime(profile: Profiler.Profile, top = 10): ProfileRow[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let busy = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  samples.forEach((id, i) => {
    const frame = nodes.get(id)?.callFrame;
    // Idle, and the profiler's own calls (its start and stop run on this thread too), are not the bench's work.
    if (
      !frame ||
      frame.functionName === '(idle)' ||
      frame.url === 'node:inspector' ||
      frame.url.startsWith('node:inspector/')
    )
      return;
    const dt = deltas[i] ?? 0;
    busy += dt;
    const key = `${frame.functionName || '(anonymous)'}${frame.url ? ` ${where(frame.url)}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, t]) => ({ fn, selfPercent: busy > 0 ? Number(((100 * t) / busy).toFixed(1)) : 0 }));
}

/** Runs `work` under the profiler and returns its result with the summary. */
export async function profiled<T>(work: () => Promise<T>, top = 10): Promise<{ result: T; profileTop: ProfileRow[] }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 500 });
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = await session.post('Profiler.stop');
    // The whole profile of the measured part, for inclusive times (Chrome DevTools opens it).
    if (process.env.BENCH_PROFILE_OUT) writeFileSync(process.env.BENCH_PROFILE_OUT, JSON.stringify(profile));
    return { result, profileTop: topSelfTime(profile, top) };
  } finally {
    session.disconnect();
  }
}

/** `work` under the profiler when BENCH_PROFILE_TOP is set (its summary then as `profileTop`), as it is otherwise. */
export async function profiledIfAsked<T>(work: () => Promise<T>): Promise<{ result: T; profileTop?: ProfileRow[] }> {
  return process.env.BENCH_PROFILE_TOP ? profiled(work) : { result: await work() };
}

/** The `--cpu-prof` arguments for a bench's child process when BENCH_PROFILE names a folder; none otherwise. */
export function childProfileArgs(): string[] {
  const dir = process.env.BENCH_PROFILE;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
}

/**
 * The summary of the profile a child process wrote with `--cpu-prof --cpu-prof-dir dir` (Node names it
 * `CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile` when the process exits): its main thread's, the newest if
 * there are several; null when it wrote none.
 */
export function childProfileTop(dir: string, pid: number, top = 10): ProfileRow[] | null {
  const mine = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(pid) && f.split('.')[4] === '0')
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (mine.length === 0) return null;
  return topSelfTime(JSON.parse(readFileSync(mine[0]!, 'utf8')) as Profiler.Profile, top);
}

/**
 * With BENCH_PROFILE set: once the child has exited (it writes its profile then; at most `waitMs`), what it spent
 * its whole run on, as the bench's JSON prints it. Undefined without BENCH_PROFILE, so the field is left out.
 */
export async function childProfileSummary(
  child: ChildProcess,
  what: string,
  waitMs = 10_000,
): Promise<{ what: string; profileTop: ProfileRow[] | null } | undefined> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir || child.pid === undefined) return undefined;
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return { what, profileTop: childProfileTop(dir, child.pid) };
}
