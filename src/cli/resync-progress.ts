/**
 * How `resync` shows its progress on stderr. On a terminal: a bar per stream
 * (with an ETA only once there is one to give) and one for what the worker
 * applied. Otherwise (a log, CI): a line at most every few seconds and a
 * final line as each stream finishes. Either way, a wait for a platform (its
 * rate limit, export pacing) is said with its length and cause.
 */
import { MultiBar, Presets } from 'cli-progress';
import type { ResyncProgress, StreamProgress } from '../sync/resync/runner.js';

/** Progress lines without a terminal come at most this often. */
export const PROGRESS_EVERY_MS = 5_000;
/** Waits shorter than this are not worth a line (Stripe's pacing spaces calls by milliseconds). */
const WAIT_WORTH_SAYING_MS = 1_000;

export interface ProgressSink {
  isTTY: boolean;
  /** One line of text (no newline). */
  line(text: string): void;
  now(): number;
}

export interface ProgressReporter {
  update(p: ResyncProgress): void;
  wait(w: { ms: number; reason: string }): void;
  stop(): void;
}

const seconds = (ms: number): string =>
  ms < 60_000
    ? `${Math.round(ms / 100) / 10} s`
    : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;

/** " | ETA 1 min 5 s" when the stream's total is known and it has read something; otherwise nothing (never "ETA NFs"). */
export function etaText(s: StreamProgress, elapsedMs: number): string {
  if (s.done || s.total === null || s.read <= 0 || s.total <= s.read || elapsedMs <= 0) return '';
  const remaining = ((s.total - s.read) * elapsedMs) / s.read;
  return Number.isFinite(remaining) ? ` | ETA ${seconds(remaining)}` : '';
}

export function progressReporter(enabled: boolean, sink: ProgressSink): ProgressReporter {
  if (!enabled) return { update: () => undefined, wait: () => undefined, stop: () => undefined };
  const started = new Map<string, number>();
  const saidWait = new Map<string, number>();
  const elapsed = (s: StreamProgress) => sink.now() - (started.get(s.stream) ?? sink.now());
  const track = (p: ResyncProgress) => {
    for (const s of p.streams) if (!started.has(s.stream)) started.set(s.stream, sink.now());
  };
  const waitLine = (w: { ms: number; reason: string }): string | null => {
    if (w.ms < WAIT_WORTH_SAYING_MS) return null;
    const last = saidWait.get(w.reason);
    if (last !== undefined && sink.now() - last < PROGRESS_EVERY_MS) return null;
    saidWait.set(w.reason, sink.now());
    return `resync: waiting ${seconds(w.ms)} for ${w.reason}`;
  };

  if (sink.isTTY) {
    const bars = new MultiBar(
      {
        format: ' {stream} |{bar}| {value}/{total} {unit}{eta}',
        hideCursor: true,
        clearOnComplete: false,
        stream: process.stderr,
      },
      Presets.shades_classic,
    );
    const byStream = new Map<string, ReturnType<MultiBar['create']>>();
    let applied: ReturnType<MultiBar['create']> | null = null;
    return {
      update(p) {
        track(p);
        for (const s of p.streams) {
          let bar = byStream.get(s.stream);
          const total = s.total ?? Math.max(s.read, 1);
          if (!bar)
            byStream.set(
              s.stream,
              (bar = bars.create(total, 0, { stream: s.stream.padEnd(24), unit: 'read', eta: '' })),
            );
          bar.setTotal(s.done ? Math.max(s.read, 1) : Math.max(total, s.read));
          bar.update(s.read, { eta: etaText(s, elapsed(s)) });
        }
        applied ??= bars.create(1, 0, { stream: 'applied by the worker'.padEnd(24), unit: 'events', eta: '' });
        applied.setTotal(Math.max(p.counts.enqueued, 1));
        applied.update(p.counts.applied + p.counts.failed);
      },
      wait(w) {
        const text = waitLine(w);
        if (text) bars.log(`${text}\n`);
      },
      stop: () => bars.stop(),
    };
  }

  let last = Number.NEGATIVE_INFINITY;
  const finished = new Set<string>();
  return {
    update(p) {
      track(p);
      for (const s of p.streams) {
        if (!s.done || finished.has(s.stream)) continue;
        finished.add(s.stream);
        sink.line(
          `resync: ${s.stream} done: read ${s.read} in ${s.pages} page(s), queued ${s.enqueued}, in ${seconds(elapsed(s))}`,
        );
      }
      if (sink.now() - last < PROGRESS_EVERY_MS) return;
      last = sink.now();
      const read = p.streams
        .map((s) => `${s.stream} ${s.read}${s.total !== null ? `/${s.total}` : ''}${s.done ? ' (done)' : ''}`)
        .join(', ');
      sink.line(`resync: read ${read}; applied ${p.counts.applied + p.counts.failed}/${p.counts.enqueued}`);
    },
    wait(w) {
      const text = waitLine(w);
      if (text) sink.line(text);
    },
    stop: () => undefined,
  };
}
