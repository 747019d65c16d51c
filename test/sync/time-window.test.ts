/** The one time grammar (`--since` / `--until`): spans and ISO dates, as properties. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTimePoint, parseTimeWindow, retentionWarning, TimeGrammarError } from '../../src/sync/time-window.js';

const now = new Date('2026-11-23T12:00:00Z');
const UNIT = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

describe('the time grammar', () => {
  it('reads any span in hours, days or weeks as that long before now', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.constantFrom('h', 'd', 'w') as fc.Arbitrary<keyof typeof UNIT>,
        (n, unit) => {
          expect(parseTimePoint(`${n}${unit}`, now).getTime()).toBe(now.getTime() - n * UNIT[unit]);
        },
      ),
    );
  });

  it('reads any ISO date-time back as the instant it names, with or without an offset (none means UTC)', () => {
    const instant = fc
      .integer({ min: Date.UTC(2017, 0, 1), max: now.getTime() })
      .map((t) => Math.floor(t / 1000) * 1000);
    fc.assert(
      fc.property(instant, fc.integer({ min: -12 * 60, max: 14 * 60 }), (t, offsetMin) => {
        const iso = new Date(t).toISOString();
        expect(parseTimePoint(iso, now).getTime()).toBe(t);
        expect(parseTimePoint(iso.replace(/\.000Z$/, ''), now).getTime()).toBe(t);
        const shifted = new Date(t + offsetMin * 60_000).toISOString().slice(0, 19);
        const sign = offsetMin < 0 ? '-' : '+';
        const abs = Math.abs(offsetMin);
        const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        expect(parseTimePoint(`${shifted}${zone}`, now).getTime()).toBe(t);
      }),
    );
  });

  it('reads a date as midnight UTC and refuses days the calendar does not have', () => {
    expect(parseTimePoint('2026-10-01', now)).toEqual(new Date('2026-10-01T00:00:00Z'));
    for (const bad of ['2026-02-30', '2026-13-01', '2026-10-01T24:00', '2026-10-01T08:61Z'])
      expect(() => parseTimePoint(bad, now), bad).toThrow(TimeGrammarError);
  });

  it('refuses anything else with one error that says what it accepts', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          parseTimePoint(s, now);
        } catch (err) {
          expect(err).toBeInstanceOf(TimeGrammarError);
          expect((err as Error).message).toMatch(/^since: /);
        }
      }),
    );
    for (const bad of ['30', 'd30', '30m', '0d', 'yesterday', '99999d', '', 'last tuesday'])
      expect(() => parseTimePoint(bad, now), bad).toThrow(TimeGrammarError);
    expect(() => parseTimePoint('soon', now)).toThrow(
      'since: expected a span back from now (24h, 7d, 2w) or an ISO date (2026-10-01)',
    );
  });

  it('makes a window only when since comes before until and neither lies ahead', () => {
    const point = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 400 }), fc.constantFrom('h', 'd', 'w')).map(([n, u]) => `${n}${u}`),
      fc
        .integer({ min: Date.UTC(2020, 0, 1), max: now.getTime() + 30 * 86_400_000 })
        .map((t) => new Date(t).toISOString()),
    );
    fc.assert(
      fc.property(point, fc.option(point, { nil: undefined }), (since, until) => {
        let window;
        try {
          window = parseTimeWindow({ since, until }, now, '30d');
        } catch (err) {
          expect(err).toBeInstanceOf(TimeGrammarError);
          return;
        }
        expect(window.from.getTime()).toBeLessThan(window.to.getTime());
        expect(window.to.getTime()).toBeLessThanOrEqual(now.getTime());
        if (until === undefined) expect(window.to).toEqual(now);
      }),
    );
    expect(() => parseTimeWindow({ since: '7d', until: '14d' }, now, '30d')).toThrow(/since .* must be before until/);
    expect(() => parseTimeWindow({ until: '2026-12-01' }, now, '30d')).toThrow(/until: 2026-12-01 is in the future/);
    expect(parseTimeWindow({ until: '7d' }, now, '30d')).toEqual({
      from: new Date('2026-10-24T12:00:00Z'),
      to: new Date('2026-11-16T12:00:00Z'),
    });
  });

  it('warns when a start reaches back past what is kept, naming the retention', () => {
    const kept = 30 * 86_400_000;
    expect(
      retentionWarning(new Date(now.getTime() - kept), now, kept, 'deflection sessions', 'deflection.historyDays'),
    ).toBeNull();
    expect(
      retentionWarning(parseTimePoint('60d', now), now, kept, 'deflection sessions', 'deflection.historyDays'),
    ).toBe(
      '--since 2026-09-24T12:00:00.000Z reaches back past what is kept: deflection sessions are kept for 30 days (deflection.historyDays), so nothing before 2026-10-24T12:00:00.000Z can be shown',
    );
  });
});
