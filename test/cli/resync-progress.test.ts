/** resync's progress on stderr, as printed: throttled lines and a final line per stream without a terminal, an ETA only when there is one, waits said with their length and cause. */
import { describe, expect, it } from 'vitest';
import { etaText, progressReporter, PROGRESS_EVERY_MS } from '../../src/cli/resync-progress.js';
import type { ResyncProgress, StreamProgress } from '../../src/sync/resync/runner.js';

const counts = { read: 0, enqueued: 0, applied: 0, failed: 0, changed: 0, unchanged: 0, conflicts: 0, rejected: 0 };
const stream = (name: string, read: number, done = false, total: number | null = null): StreamProgress => ({
  stream: name,
  pages: Math.ceil(read / 100),
  read,
  enqueued: read,
  total,
  done,
});
const progress = (...streams: StreamProgress[]): ResyncProgress => ({
  streams,
  counts: { ...counts, enqueued: streams.reduce((n, s) => n + s.enqueued, 0) } as ResyncProgress['counts'],
});

function sink() {
  let now = 1_000_000;
  const lines: string[] = [];
  return {
    lines,
    tick: (ms: number) => (now += ms),
    sink: { isTTY: false, line: (t: string) => void lines.push(t), now: () => now },
  };
}

describe('resync progress without a terminal', () => {
  it('prints a progress line at most every few seconds, and one final line per stream as it finishes', () => {
    const s = sink();
    const r = progressReporter(true, s.sink);
    r.update(progress(stream('zendesk.users', 100), stream('zendesk.tickets', 0)));
    for (let i = 1; i <= 40; i++) {
      s.tick(250); // 10 s of updates, four a second
      r.update(progress(stream('zendesk.users', 100 + i * 10, i >= 20), stream('zendesk.tickets', i * 5, false, 400)));
    }
    const progressLines = s.lines.filter((l) => l.startsWith('resync: read '));
    expect(progressLines.length).toBeLessThanOrEqual(1 + (40 * 250) / PROGRESS_EVERY_MS);
    expect(progressLines[0]).toBe('resync: read zendesk.users 100, zendesk.tickets 0; applied 0/100');
    const finals = s.lines.filter((l) => l.includes(' done: '));
    expect(finals).toEqual(['resync: zendesk.users done: read 300 in 3 page(s), queued 300, in 5 s']);
  });

  it('says what it waits for and how long, once per cause every few seconds, and not the tiny waits of pacing by milliseconds', () => {
    const s = sink();
    const r = progressReporter(true, s.sink);
    r.wait({ ms: 6_000, reason: 'Zendesk export pacing (10 per minute, resync.zendeskExportsPerMinute)' });
    r.wait({ ms: 12_000, reason: 'Zendesk export pacing (10 per minute, resync.zendeskExportsPerMinute)' });
    r.wait({ ms: 50, reason: 'Stripe read pacing (20 per second, resync.stripeReadsPerSecond)' });
    r.wait({ ms: 30_000, reason: 'zendesk rate limit (its Retry-After)' });
    s.tick(PROGRESS_EVERY_MS);
    r.wait({ ms: 6_000, reason: 'Zendesk export pacing (10 per minute, resync.zendeskExportsPerMinute)' });
    expect(s.lines).toEqual([
      'resync: waiting 6 s for Zendesk export pacing (10 per minute, resync.zendeskExportsPerMinute)',
      'resync: waiting 30 s for zendesk rate limit (its Retry-After)',
      'resync: waiting 6 s for Zendesk export pacing (10 per minute, resync.zendeskExportsPerMinute)',
    ]);
  });
});

describe('resync progress on a terminal', () => {
  it('shows an ETA only once the total and a rate are known: never "ETA NFs"', () => {
    expect(etaText(stream('zendesk.users', 0, false, null), 0)).toBe('');
    expect(etaText(stream('zendesk.users', 0, false, 1000), 5_000)).toBe('');
    expect(etaText(stream('zendesk.users', 500, false, null), 5_000)).toBe('');
    expect(etaText(stream('zendesk.users', 500, true, 1000), 5_000)).toBe('');
    expect(etaText(stream('zendesk.users', 250, false, 1000), 5_000)).toBe(' | ETA 15 s');
    expect(etaText(stream('zendesk.users', 100, false, 10_000), 6_000)).toBe(' | ETA 9 min 54 s');
  });
});
