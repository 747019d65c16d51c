/** Job ids and dedupe keys: one per (source, event id), never shared by two different events. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SOURCES, jobIdFor } from '../../../src/sync/events/source-event.js';

const anyId = fc.string({ minLength: 1, maxLength: 200, unit: 'binary' });
const source = fc.constantFrom(...SOURCES);

describe('jobIdFor', () => {
  it('two different event ids never share a job id', () => {
    fc.assert(
      fc.property(source, anyId, source, anyId, (s1, id1, s2, id2) => {
        fc.pre(s1 !== s2 || id1 !== id2);
        expect(jobIdFor(s1, id1)).not.toBe(jobIdFor(s2, id2));
      }),
      { numRuns: 2000 },
    );
  });

  it('ids that differ only in a character BullMQ or the old escaping could not keep get different job ids', () => {
    expect(jobIdFor('portal', 'X:1')).not.toBe(jobIdFor('portal', 'X_1'));
    expect(jobIdFor('portal', 'X:1')).not.toBe(jobIdFor('portal', 'X/1'));
    expect(jobIdFor('portal', '注文')).not.toBe(jobIdFor('portal', '請求'));
    expect(jobIdFor('portal', 'a-b')).not.toBe(jobIdFor('portal', 'a_b'));
    expect(jobIdFor('portal', '\uD800')).not.toBe(jobIdFor('portal', '\uFFFD'));
  });

  it('every job id is one BullMQ accepts: no colon, never an integer, bounded length', () => {
    fc.assert(
      fc.property(source, anyId, (s, id) => {
        const jobId = jobIdFor(s, id);
        expect(jobId).not.toContain(':');
        expect(Number.isInteger(Number(jobId))).toBe(false);
        expect(jobId.length).toBeLessThanOrEqual(s.length + 1 + 200);
      }),
    );
  });

  it('an id of plain characters keeps the job id and dedupe key it had before, so a rolling deploy still drops its redelivery', () => {
    expect(jobIdFor('stripe', 'evt_1NZ2abc')).toBe('stripe-evt_1NZ2abc');
    expect(jobIdFor('zendesk', '01HV000000000000000000QRT1')).toBe('zendesk-01HV000000000000000000QRT1');
    expect(jobIdFor('salesforce', '04l5g00000ABCDE-0035g00000XYZ12')).toBe(
      'salesforce-04l5g00000ABCDE-0035g00000XYZ12',
    );
    fc.assert(
      fc.property(source, fc.stringMatching(/^[A-Za-z0-9_.-]{1,200}$/), (s, id) => {
        expect(jobIdFor(s, id)).toBe(`${s}-${id}`);
      }),
    );
  });
});
