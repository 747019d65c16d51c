/**
 * The deflection report as one self-contained HTML page: inline CSS and SVG,
 * no script, font or other request, so it can be mailed, archived or served
 * under a `default-src 'none'` policy. Fluid down to a phone's width.
 */
import type { DeflectionReport } from './report.js';
import { escapeHtml } from '../escape-html.js';
import { categorySvg, weeklyTrendSvg } from './report-charts.js';
import { brandName, formatPerCustomer, formatPeriod, formatRate } from './report-text.js';

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--card:#f6f8fa;
--sessions:#8c959f;--deflected:#1a7f37;--escalated:#bc4c00}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--card:#151b23;
--sessions:#6e7681;--deflected:#3fb950;--escalated:#f0883e}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:960px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:0 0 4px}h2{font-size:1.15rem;margin:28px 0 8px}
.muted{color:var(--muted)}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px;margin-top:16px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.kpi h3{font-size:.8rem;font-weight:600;color:var(--muted);margin:0;text-transform:uppercase;letter-spacing:.03em}
.kpi .value{font-size:1.6rem;font-weight:700;margin:2px 0;font-variant-numeric:tabular-nums}
.kpi .note{font-size:.8rem;color:var(--muted);margin:0}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
.chart{display:block;width:100%;height:auto}
.chart text{fill:var(--fg);font-size:12px;font-family:inherit}.chart .axis{fill:var(--muted);font-size:11px}.chart .small{font-size:9px}
.chart .grid{stroke:var(--line);stroke-width:1}.chart .baseline{stroke:var(--muted);stroke-width:1}
.c-sessions{fill:var(--sessions);background:var(--sessions)}.c-deflected{fill:var(--deflected);background:var(--deflected)}
.c-escalated{fill:var(--escalated);background:var(--escalated)}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85rem;margin:6px 0;padding:0;list-style:none}
.legend span{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;font-size:.9rem;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line)}
td.n,th.n{text-align:right}td.q{word-break:break-word}
.bar{display:block;height:6px;border-radius:3px;background:var(--escalated);margin-top:3px}
details{margin-top:8px}summary{cursor:pointer;color:var(--muted);font-size:.9rem}
footer{margin-top:32px;font-size:.8rem;color:var(--muted)}
`;

const legend = (items: Array<[string, string]>) =>
  `<ul class="legend">${items.map(([cls, label]) => `<li><span class="${cls}"></span>${label}</li>`).join('')}</ul>`;

function kpi(title: string, value: string, note = ''): string {
  return `<div class="kpi"><h3>${title}</h3><p class="value">${escapeHtml(value)}</p>${note ? `<p class="note">${escapeHtml(note)}</p>` : ''}</div>`;
}

function trendSection(r: DeflectionReport): string {
  const rows = r.trend
    .map(
      (w) =>
        `<tr><td>${w.week}${w.partial ? '*' : ''}</td><td>${w.start}</td><td class="n">${w.sessions}</td><td class="n">${w.deflected}</td><td class="n">${w.escalated}</td></tr>`,
    )
    .join('');
  return `<section><h2>Per week</h2>
${legend([
  ['c-sessions', 'sessions started'],
  ['c-deflected', 'deflected'],
  ['c-escalated', 'escalated'],
])}
<div class="scroll">${weeklyTrendSvg(r.trend)}</div>
<details><summary>Figures per week</summary><div class="scroll"><table>
<thead><tr><th>ISO week</th><th>from</th><th class="n">sessions</th><th class="n">deflected</th><th class="n">escalated</th></tr></thead>
<tbody>${rows}</tbody></table></div></details>
${r.trend.some((w) => w.partial) ? '<p class="muted">* only part of the week lies in the period.</p>' : ''}</section>`;
}

function categorySection(r: DeflectionReport): string {
  const used = r.byCategory.filter((c) => c.deflected + c.escalated > 0);
  if (used.length === 0)
    return '<section><h2>Deflection rate by category</h2><p class="muted">No classified sessions in this period.</p></section>';
  const rows = used
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.category)}</td><td class="n">${formatRate(c.rate)}</td><td class="n">${c.deflected}</td><td class="n">${c.escalated}</td></tr>`,
    )
    .join('');
  return `<section><h2>Deflection rate by category</h2>
${legend([
  ['c-deflected', 'deflected'],
  ['c-escalated', 'escalated'],
])}
${categorySvg(r.byCategory)}
<table><thead><tr><th>category</th><th class="n">rate</th><th class="n">deflected</th><th class="n">escalated</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

function brandSection(r: DeflectionReport): string {
  if (r.byBrand.length === 0) return '';
  const rows = r.byBrand
    .map(
      (b) =>
        `<tr><td>${escapeHtml(brandName(b))}</td><td class="n">${b.sessions}</td><td class="n">${b.deflected}</td><td class="n">${b.escalated}</td><td class="n">${formatRate(b.rate)}</td><td class="n">${b.tickets}</td></tr>`,
    )
    .join('');
  return `<section><h2>By brand</h2><p class="muted">Sessions by the brand of the Help Center they were on; tickets by their own brand.</p>
<div class="scroll"><table><thead><tr><th>brand</th><th class="n">sessions</th><th class="n">deflected</th><th class="n">escalated</th><th class="n">resolution</th><th class="n">tickets</th></tr></thead>
<tbody>${rows}</tbody></table></div></section>`;
}

function searchSection(r: DeflectionReport): string {
  const s = r.noResultSearches;
  const heading = `<h2>Top searches with no result</h2><p class="muted">${s.total} in all, ${s.distinctQueries} distinct ${s.distinctQueries === 1 ? 'query' : 'queries'}: content the portal is missing.</p>`;
  if (s.top.length === 0) return `<section>${heading}</section>`;
  const max = s.top[0]?.count ?? 1;
  const rows = s.top
    .map(
      (q) =>
        `<tr><td class="q">${escapeHtml(q.query)}<span class="bar" style="width:${Math.max(2, Math.round((q.count / max) * 100))}%"></span></td><td class="n">${q.count}</td></tr>`,
    )
    .join('');
  return `<section>${heading}<table><thead><tr><th>query</th><th class="n">searches</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

export function renderDeflectionHtml(r: DeflectionReport, opts: { generatedAt?: Date } = {}): string {
  const t = r.ticketDeflection;
  const period =
    formatPeriod(r.period) + (r.brand ? ` · ${brandName({ brandId: r.brand.id, name: r.brand.name })} only` : '');
  const kpis = [
    kpi('Self-service sessions', String(r.sessions)),
    kpi('Deflected', String(r.deflected), 'resolved without a ticket'),
    kpi('Escalated', String(r.escalated), 'ended in a ticket'),
    kpi(
      'Self-service resolution',
      formatRate(r.selfServiceResolutionRate),
      `${r.deflected} of ${r.deflected + r.escalated} classified sessions`,
    ),
    kpi(
      'Portal adoption',
      formatRate(r.portalAdoption.rate),
      `${r.portalAdoption.customersWithSession} of ${r.portalAdoption.customers} customers had a session`,
    ),
    kpi(
      'Ticket deflection',
      formatRate(t.rate),
      `${t.current.tickets} tickets (${formatPerCustomer(t.current.perCustomer)} per customer) vs ${t.prior.tickets} (${formatPerCustomer(t.prior.perCustomer)}) in the ${r.period.days} days before`,
    ),
  ];
  const generated = opts.generatedAt
    ? ` Generated ${opts.generatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Self-service deflection · ${escapeHtml(period)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header><h1>Self-service deflection</h1><p class="muted">${escapeHtml(period)}</p></header>
<section class="kpis" aria-label="Summary">${kpis.join('')}</section>
${trendSection(r)}
${categorySection(r)}
${brandSection(r)}
${searchSection(r)}
<footer>Sessions count in the week they started, outcomes in the week they were decided (ISO weeks, UTC).
Ticket deflection = 1 − tickets per customer in the period ÷ tickets per customer in the equally long period before.${generated}</footer>
</main>
</body>
</html>
`;
}
