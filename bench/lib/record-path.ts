/**
 * The record's own share of the pipeline's CPU: the events a bench run applied, replayed in this process with no
 * Redis, queue or hooks — each event's customer record parsed from its stored JSON, the event merged in (the
 * store's merge and projection, merge.ts), the result serialized — so a bench can say how much of its node CPU
 * per event the record work is, and how much the plumbing around it (commands, promises, BullMQ, GC of both).
 */
import { applyEvent } from '../../src/sync/events/merge.js';
import { emptyRecord } from '../../src/sync/events/record.js';
import type { SourceEvent } from '../../src/sync/events/source-event.js';

export interface RecordPathFigures {
  /** Node CPU per event of parse → merge → project → serialize, in ms (the median of `passes`). */
  cpuMsPerEvent: number;
  /** Events replayed (those the run filed under a record). */
  events: number;
  /** Mean bytes of the records the replay ended with. */
  recordBytes: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One pass: every event applied to its record's latest JSON, in order; returns node CPU µs per event and the mean size. */
function pass(events: ReadonlyArray<readonly [SourceEvent, string]>): { us: number; bytes: number } {
  const stored = new Map<string, string>();
  const cpu = process.cpuUsage();
  for (const [event, id] of events) {
    const raw = stored.get(id);
    const outcome = applyEvent(raw === undefined ? emptyRecord(id) : JSON.parse(raw), event);
    if (outcome.changed) stored.set(id, JSON.stringify(outcome.record));
  }
  const used = process.cpuUsage(cpu);
  let bytes = 0;
  for (const s of stored.values()) bytes += s.length;
  return { us: (used.user + used.system) / Math.max(1, events.length), bytes: bytes / Math.max(1, stored.size) };
}

/**
 * Replays `events` (each with the id of the record the run filed it under; events filed nowhere are left out)
 * `passes` times after one warm-up pass, and gives the median.
 */
export function recordPath(
  events: readonly SourceEvent[],
  recordIdOf: (event: SourceEvent) => string | undefined,
  passes = 5,
): RecordPathFigures {
  const filed = events.flatMap((e): Array<readonly [SourceEvent, string]> => {
    const id = recordIdOf(e);
    return id ? [[e, id] as const] : [];
  });
  pass(filed);
  const runs = Array.from({ length: passes }, () => pass(filed));
  return {
    cpuMsPerEvent: Number((median(runs.map((r) => r.us)) / 1000).toFixed(3)),
    events: filed.length,
    recordBytes: Math.round(runs[0]?.bytes ?? 0),
  };
}
