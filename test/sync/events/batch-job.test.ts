/** How a flush is cut into jobs, and the ids of batch and split-out jobs (src/sync/events/batch-job.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BATCH_MAX_EVENTS,
  BATCH_MIN_EVENTS,
  batchJobId,
  batchSizes,
  isBatchData,
  isBatchJobId,
  isSplitJobId,
  splitJobId,
} from '../../../src/sync/events/batch-job.js';
import { jobIdFor } from '../../../src/sync/events/source-event.js';

describe('batchSizes', () => {
  it('puts every event of a flush in exactly one job, one per event below BATCH_MIN_EVENTS', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000 }), (events) => {
        const sizes = batchSizes(events);
        expect(sizes.reduce((n, s) => n + s, 0)).toBe(events);
        if (events < BATCH_MIN_EVENTS) expect(sizes.every((s) => s === 1)).toBe(true);
        else {
          expect(Math.max(...sizes)).toBeLessThanOrEqual(BATCH_MAX_EVENTS);
          // Even: no straggler job of a few events beside full ones.
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          expect(sizes).toHaveLength(Math.ceil(events / BATCH_MAX_EVENTS));
        }
      }),
    );
  });
});

describe('batch and split-out job ids', () => {
  it('are unique, free of the colon BullMQ refuses, and never an event job id', () => {
    const a = batchJobId();
    const b = batchJobId();
    expect(a).not.toBe(b);
    for (const id of [a, splitJobId(a, 12)]) expect(id).not.toContain(':');
    expect(isBatchJobId(a)).toBe(true);
    expect(isSplitJobId(a)).toBe(false);
    expect(isSplitJobId(splitJobId(a, 0))).toBe(true);
    expect(isBatchJobId(splitJobId(a, 0))).toBe(false);
    // Every source's job ids start with the source's name: `b-` is none of them.
    for (const id of [jobIdFor('stripe', 'evt_1'), jobIdFor('zendesk', 'b-x'), jobIdFor('portal', 'é')]) {
      expect(isBatchJobId(id) || isSplitJobId(id)).toBe(false);
    }
  });

  it("tells a batch's data from a single event's", () => {
    expect(isBatchData({ v: 1, events: [] })).toBe(true);
    expect(isBatchData({ v: 1, source: 'stripe', eventId: 'evt_1', events: 'no' })).toBe(false);
    expect(isBatchData({ v: 1, source: 'stripe', eventId: 'evt_1' })).toBe(false);
    expect(isBatchData(null)).toBe(false);
  });
});
