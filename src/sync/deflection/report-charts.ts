/**
 * Inline SVG charts of the deflection report: no script, no external file.
 * Colours come from CSS classes of the page (`.c-sessions`, `.c-deflected`,
 * `.c-escalated`), so one stylesheet themes the charts and the legend.
 */
import { escapeHtml } from '../escape-html.js';
import type { CategoryFigures, WeekFigures } from './report.js';
import { formatRate } from './report-text.js';

/** The smallest 1, 2 or 5 × 10ⁿ at or above `n` (at least 1): round, whole-number gridlines. */
export function niceCeiling(n: number): number {
  if (n <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * power >= n) return step * power;
  return 10 * power;
}

/** Sized at its natural width, growing a little on a wide screen; wider than a phone, it scrolls (see `.scroll`). */
const sizeStyle = (width: number, minWidth: number) =>
  `style="${width > minWidth ? `min-width:${width}px;` : ''}max-width:${Math.round(width * 1.25)}px"`;

const f = (n: number) => String(Math.round(n * 10) / 10);

/**
 * Per ISO week: a grey bar of sessions started, and beside it a bar of the
 * outcomes decided, deflected stacked under escalated.
 */
export function weeklyTrendSvg(weeks: WeekFigures[]): string {
  const left = 36,
    top = 10,
    bottom = 34,
    plotH = 150,
    groupW = 34;
  const width = Math.max(320, left + 8 + weeks.length * groupW);
  const plotW = width - left - 8;
  const slot = plotW / Math.max(1, weeks.length);
  const barW = Math.min(14, slot * 0.36);
  // Four gridlines a whole, round step apart: counts are never 3.8.
  const step = niceCeiling(Math.max(1, ...weeks.map((w) => Math.max(w.sessions, w.deflected + w.escalated))) / 4);
  const max = step * 4;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = step * i;
    parts.push(`<line class="grid" x1="${left}" x2="${width - 8}" y1="${f(y(v))}" y2="${f(y(v))}"/>`);
    parts.push(`<text class="axis" x="${left - 4}" y="${f(y(v) + 4)}" text-anchor="end">${f(v)}</text>`);
  }
  // Label every week when they fit, otherwise every few, always the first.
  const labelEvery = Math.ceil(weeks.length / Math.max(1, Math.floor(plotW / 34)));
  weeks.forEach((w, i) => {
    const x0 = left + i * slot + slot / 2;
    const title = `${w.week}${w.partial ? ' (part of the week)' : ''}: ${w.sessions} sessions, ${w.deflected} deflected, ${w.escalated} escalated`;
    parts.push(`<g><title>${escapeHtml(title)}</title>`);
    parts.push(
      `<rect class="c-sessions" x="${f(x0 - barW - 1)}" y="${f(y(w.sessions))}" width="${f(barW)}" height="${f(top + plotH - y(w.sessions))}"/>`,
    );
    parts.push(
      `<rect class="c-deflected" x="${f(x0 + 1)}" y="${f(y(w.deflected))}" width="${f(barW)}" height="${f(top + plotH - y(w.deflected))}"/>`,
    );
    parts.push(
      `<rect class="c-escalated" x="${f(x0 + 1)}" y="${f(y(w.deflected + w.escalated))}" width="${f(barW)}" height="${f(y(w.deflected) - y(w.deflected + w.escalated))}"/>`,
    );
    parts.push('</g>');
    if (i % labelEvery === 0) {
      parts.push(
        `<text class="axis" x="${f(x0)}" y="${top + plotH + 14}" text-anchor="middle">${escapeHtml(w.week.slice(5))}${w.partial ? '*' : ''}</text>`,
      );
      parts.push(
        `<text class="axis small" x="${f(x0)}" y="${top + plotH + 26}" text-anchor="middle">${escapeHtml(w.start.slice(5))}</text>`,
      );
    }
  });
  parts.push(`<line class="baseline" x1="${left}" x2="${width - 8}" y1="${top + plotH}" y2="${top + plotH}"/>`);
  const height = top + plotH + bottom;
  return `<svg class="chart" role="img" aria-label="Sessions, deflected and escalated per ISO week" viewBox="0 0 ${width} ${height}" ${sizeStyle(width, 320)} xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

/** One row per category with classified sessions: a 100% bar split into deflected and escalated. */
export function categorySvg(categories: CategoryFigures[]): string {
  const rows = categories.filter((c) => c.deflected + c.escalated > 0);
  const width = 360,
    labelW = 84,
    valueW = 116,
    rowH = 28,
    barH = 16;
  const barW = width - labelW - valueW;
  const parts = rows.map((c, i) => {
    const total = c.deflected + c.escalated;
    const dW = (c.deflected / total) * barW;
    const yBar = i * rowH + (rowH - barH) / 2;
    const yText = i * rowH + rowH / 2 + 4;
    const title = `${c.category}: ${formatRate(c.rate)} deflected (${c.deflected} of ${total})`;
    return (
      `<g><title>${escapeHtml(title)}</title>` +
      `<text class="label" x="0" y="${f(yText)}">${escapeHtml(c.category)}</text>` +
      `<rect class="c-deflected" x="${labelW}" y="${f(yBar)}" width="${f(dW)}" height="${barH}"/>` +
      `<rect class="c-escalated" x="${f(labelW + dW)}" y="${f(yBar)}" width="${f(barW - dW)}" height="${barH}"/>` +
      `<text class="label" x="${width}" y="${f(yText)}" text-anchor="end">${formatRate(c.rate)} (${c.deflected}/${total})</text></g>`
    );
  });
  const height = Math.max(1, rows.length) * rowH;
  return `<svg class="chart" role="img" aria-label="Deflection rate by category" viewBox="0 0 ${width} ${height}" ${sizeStyle(width, width)} xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}
