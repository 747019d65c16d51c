/** The deflection report as a plain-text summary for a terminal, and the formats shared with the HTML page. */
import type { BrandFigures, DeflectionReport, TicketFigures } from './report.js';

/** 0.625 → `62.5%`; no denominator → `n/a`. */
export function formatRate(rate: number | null): string {
  return rate === null ? 'n/a' : `${(Math.round(rate * 1000) / 10).toFixed(1)}%`;
}

export function formatPerCustomer(n: number | null): string {
  return n === null ? 'n/a' : n.toFixed(2);
}

/** `2026-10-24 → 2026-11-23 (30 days)`, the time shown only when it is not midnight. */
export function formatPeriod(p: { from: string; to: string; days: number }): string {
  const short = (iso: string) =>
    iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 16).replace('T', ' ') + ' UTC';
  return `${short(p.from)} → ${short(p.to)} (${p.days} day${p.days === 1 ? '' : 's'})`;
}

function describeTickets(t: TicketFigures): string {
  return `${t.tickets} ticket${t.tickets === 1 ? '' : 's'}, ${formatPerCustomer(t.perCustomer)} per customer`;
}

/** `Acme (360000000001)`, `brand 360000000002` without a name, `no brand` for activity that named none. */
export function brandName(b: Pick<BrandFigures, 'brandId' | 'name'>): string {
  if (b.brandId === null) return 'no brand';
  return b.name ? `${b.name} (${b.brandId})` : `brand ${b.brandId}`;
}

export function renderDeflectionText(r: DeflectionReport): string {
  const classified = r.deflected + r.escalated;
  const row = (label: string, value: string | number, note = '') =>
    `  ${label.padEnd(26)}${String(value).padStart(8)}${note ? `  (${note})` : ''}`;
  const lines = [
    `Self-service deflection, ${formatPeriod(r.period)}${r.brand ? `, ${brandName({ brandId: r.brand.id, name: r.brand.name })} only` : ''}`,
    row('self-service sessions', r.sessions),
    row('deflected', r.deflected),
    row('escalated', r.escalated),
    row(
      'self-service resolution',
      formatRate(r.selfServiceResolutionRate),
      `${r.deflected} of ${classified} classified`,
    ),
    row(
      'portal adoption',
      formatRate(r.portalAdoption.rate),
      `${r.portalAdoption.customersWithSession} of ${r.portalAdoption.customers} customers`,
    ),
    row(
      'ticket deflection',
      formatRate(r.ticketDeflection.rate),
      `${describeTickets(r.ticketDeflection.current)}; prior period ${describeTickets(r.ticketDeflection.prior)}`,
    ),
    '',
    'Deflection rate by category:',
  ];
  const used = r.byCategory.filter((c) => c.deflected + c.escalated > 0);
  if (used.length === 0) lines.push('  (no classified sessions)');
  for (const c of used)
    lines.push(
      `  ${c.category.padEnd(12)}${formatRate(c.rate).padStart(7)}  (${c.deflected} deflected, ${c.escalated} escalated)`,
    );

  if (r.byBrand.length > 0) {
    lines.push('', 'By brand (sessions / deflected / escalated / resolution / tickets):');
    const width = Math.max(...r.byBrand.map((b) => brandName(b).length));
    for (const b of r.byBrand) {
      const n = (v: number) => String(v).padStart(5);
      lines.push(
        `  ${brandName(b).padEnd(width)}  ${n(b.sessions)} ${n(b.deflected)} ${n(b.escalated)} ${formatRate(b.rate).padStart(7)} ${n(b.tickets)}`,
      );
    }
  }

  lines.push(
    '',
    `Top searches with no result (${r.noResultSearches.total} in all, ${r.noResultSearches.distinctQueries} distinct):`,
  );
  if (r.noResultSearches.top.length === 0) lines.push('  (none)');
  for (const s of r.noResultSearches.top) lines.push(`  ${String(s.count).padStart(5)}  ${s.query}`);

  lines.push('', 'Per ISO week (sessions / deflected / escalated):');
  for (const w of r.trend)
    lines.push(
      `  ${w.week} (from ${w.start})${w.partial ? '*' : ' '}  ${String(w.sessions).padStart(5)} ${String(w.deflected).padStart(5)} ${String(w.escalated).padStart(5)}`,
    );
  if (r.trend.some((w) => w.partial)) lines.push('  * only part of the week lies in the period');
  return `${lines.join('\n')}\n`;
}
