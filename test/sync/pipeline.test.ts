/**
 * The lane of an events job (src/sync/pipeline.ts): the typed one its producer put in its data, and for jobs
 * of a release before that, the one its id says.
 */
import { describe, expect, it } from 'vitest';
import { laneOf } from '../../src/sync/pipeline.js';

describe('the lane of an events job', () => {
  it('is the one in its job data, whatever its id looks like', () => {
    expect(laneOf({ lane: 'realtime', jobId: 'rs-abc-stripe-evt_1' })).toBe('realtime');
    expect(laneOf({ lane: 'realtime', jobId: 'rc-pass1-stripe-evt_1' })).toBe('realtime');
    expect(laneOf({ lane: 'reconcile', jobId: 'stripe-evt_1' })).toBe('reconcile');
    expect(laneOf({ lane: 'resync', jobId: undefined })).toBe('resync');
  });

  it('is read from the id of a job queued by a release before lanes (no lane in its data)', () => {
    expect(laneOf({ lane: undefined, jobId: 'rs-m0abc-stripe-evt_1' })).toBe('resync');
    expect(laneOf({ lane: undefined, jobId: 'rc-pass1-stripe-evt_1' })).toBe('reconcile');
    expect(laneOf({ lane: undefined, jobId: 'stripe-evt_1' })).toBe('realtime');
    expect(laneOf({ lane: undefined, jobId: 'zendesk=0f3a' })).toBe('realtime');
    expect(laneOf({ lane: undefined, jobId: undefined })).toBe('realtime');
  });
});
