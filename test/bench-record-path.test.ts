/**
 * bench/lib/record-path.ts: the record work of a bench run replayed alone — every filed event merged into its
 * record's latest JSON in order, events filed nowhere left out, and the records it ends with measured.
 */
import { describe, expect, it } from 'vitest';
import { recordPath } from '../bench/lib/record-path.js';
import { applyEvent } from '../src/sync/events/merge.js';
import { emptyRecord } from '../src/sync/events/record.js';
import { invoice, subscription } from './sync/events/merge-events.js';

describe('the record path replay', () => {
  it('merges each filed event into its record in order and measures the records it ends with', () => {
    const events = [
      subscription('sub_rp', 'active', { version: 1_000 }),
      invoice('in_rp', 'paid', { version: 2_000 }),
      subscription('sub_other', 'active', { version: 1_500 }),
    ];
    const filed = new Map([
      [events[0]!, 'cust_a'],
      [events[1]!, 'cust_a'],
    ]);
    const figures = recordPath(events, (e) => filed.get(e), 3);
    let expected = emptyRecord('cust_a');
    for (const e of events.slice(0, 2)) expected = applyEvent(expected, e).record;
    expect(figures.events).toBe(2);
    expect(figures.recordBytes).toBe(JSON.stringify(expected).length);
    expect(figures.cpuMsPerEvent).toBeGreaterThanOrEqual(0);
  });
});
