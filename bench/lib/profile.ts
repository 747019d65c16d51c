/**
 * A CPU profile summary for benchmarks: runs a measured part under V8's sampling profiler (node:inspector,
 * in this process) and gives the functions with the most self time, as JSON-ready rows. The profile
 * itself costs a little CPU: the summary says where the time goes, the bench's rates say how much.
 */
import { writeFileSync } from 'node:fs';
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
