/** The report as a reader sees it: the terminal summary and the self-contained HTML page. */
import { describe, expect, it } from 'vitest';
import { buildDeflectionReport } from '../../../src/sync/deflection/report.js';
import { niceCeiling } from '../../../src/sync/deflection/report-charts.js';
import { renderDeflectionHtml } from '../../../src/sync/deflection/report-html.js';
import { formatRate, renderDeflectionText } from '../../../src/sync/deflection/report-text.js';
import { loadDeflectionFixture } from '../../fixtures/deflection/fixture.js';

const fx = loadDeflectionFixture('two-weeks');
const report = buildDeflectionReport({ ...fx, ticketsOpened: fx.tickets, priorTicketsOpened: fx.tickets }, fx.period);

describe('text summary', () => {
  it('states every headline figure with what it is out of', () => {
    const text = renderDeflectionText(report);
    expect(text).toContain('Self-service deflection, 2026-11-04 → 2026-11-18 (14 days)');
    expect(text).toMatch(/self-service sessions\s+5\n/);
    expect(text).toMatch(/self-service resolution\s+66\.7%\s+\(4 of 6 classified\)/);
    expect(text).toMatch(/portal adoption\s+50\.0%\s+\(4 of 8 customers\)/);
    expect(text).toMatch(
      /ticket deflection\s+50\.0%\s+\(3 tickets, 0\.38 per customer; prior period 6 tickets, 0\.75 per customer\)/,
    );
    expect(text).toMatch(/billing\s+66\.7%\s+\(2 deflected, 1 escalated\)/);
    expect(text).not.toMatch(/onboarding/); // nothing classified there
    expect(text).toMatch(/3 {2}download invoice/);
    expect(text).toMatch(/2026-W46 \(from 2026-11-09\) +2 +2 +0/);
  });

  it('writes n/a for a rate without a denominator', () => {
    expect(formatRate(null)).toBe('n/a');
    expect(formatRate(0)).toBe('0.0%');
    expect(formatRate(2 / 3)).toBe('66.7%');
  });
});

describe('HTML page', () => {
  const html = renderDeflectionHtml(report);

  it('is one self-contained document, readable on a phone', () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|\ssrc=|\shref=/i);
    expect(html.match(/<svg /g)).toHaveLength(2); // the weekly trend and the categories
  });

  it('shows the figures, the categories and the no-result searches', () => {
    for (const s of [
      '66.7%',
      '4 of 8 customers had a session',
      '2026-W45*',
      'billing',
      'documents',
      'account',
      'download invoice',
      'cancel plan',
    ])
      expect(html).toContain(s);
  });

  it('escapes what customers typed, so a search cannot inject markup', () => {
    const hostile = buildDeflectionReport(
      {
        ...fx,
        ticketsOpened: [],
        priorTicketsOpened: [],
        noResultSearches: [{ query: '<script>alert("x")</script> & <b>', at: '2026-11-05T00:00:00Z', customerId: 'c' }],
      },
      fx.period,
    );
    const page = renderDeflectionHtml(hostile);
    expect(page).not.toContain('<script>');
    expect(page).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#60;b&#62;');
    expect(renderDeflectionText(hostile)).toContain('<script>alert("x")</script> & <b>'); // a terminal shows it as typed
  });

  it('says so when a section has nothing to show', () => {
    const none = buildDeflectionReport(
      { events: [], sessions: [], noResultSearches: [], ticketsOpened: [], priorTicketsOpened: [], customerCount: 3 },
      fx.period,
    );
    const page = renderDeflectionHtml(none);
    expect(page).toContain('No classified sessions in this period.');
    expect(page).toContain('0 in all, 0 distinct queries');
    expect(page).not.toMatch(/NaN|undefined|Infinity/);
  });

  it('scales the trend axis to round numbers', () => {
    expect([0, 1, 3, 7, 10, 11, 180, 501].map(niceCeiling)).toEqual([1, 1, 5, 10, 10, 20, 200, 1000]);
  });
});
