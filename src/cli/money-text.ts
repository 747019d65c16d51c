/**
 * Money as an admin reads it in the CLI: Stripe's minor units turned into major
 * units (the same decimals the portals get), with the ISO currency code, by
 * Intl.NumberFormat ("USD 245.00", "JPY 5,000"); and an invoice's one line, which
 * says what is due only while something is.
 */
import { toMajorUnits } from '../connectors/money.js';
import type { BillingView, InvoiceView } from '../sync/events/record.js';

const formats = new Map<string, Intl.NumberFormat>();

function formatFor(currency: string, decimals: number): Intl.NumberFormat {
  const key = `${currency}:${decimals}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency,
      currencyDisplay: 'code',
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
    formats.set(key, f);
  }
  return f;
}

/** 24500 usd → "USD 245.00"; 5000 jpy → "JPY 5,000"; no currency → "245.00 (currency unknown)". */
function formatMoney(minor: number, currency: string | null | undefined): string {
  const major = toMajorUnits(minor, currency);
  // The decimals Stripe counts in (not Intl's idea of the currency: they differ for ISK and HUF).
  const decimals = Math.round(-Math.log10(toMajorUnits(1, currency)));
  const code = currency?.trim().toUpperCase() ?? '';
  if (!/^[A-Z]{3}$/.test(code)) return `${major.toFixed(decimals)} (currency unknown)`;
  // Intl separates the code from the number with a no-break space; a terminal reader copies a plain one.
  return formatFor(code, decimals)
    .format(major)
    .replace(/\u00a0/g, ' ');
}

/** "invoice INV-7: open, USD 245.00 due by 2026-12-01 (of USD 245.00)" — or "paid USD 245.00" once it is paid. */
export function invoiceLine(i: InvoiceView): string {
  const total = formatMoney(i.total, i.currency);
  const due = i.dueDate ? ` by ${i.dueDate.slice(0, 10)}` : '';
  let what: string;
  if (i.status === 'open' && i.amountRemaining > 0)
    what = `${formatMoney(i.amountRemaining, i.currency)} due${due} (of ${total})`;
  else if (i.status === 'paid') what = `paid ${formatMoney(i.amountPaid, i.currency)}`;
  else what = `total ${total}`;
  const refunded = i.amountRefunded > 0 ? `, ${formatMoney(i.amountRefunded, i.currency)} refunded` : '';
  return `invoice ${i.number ?? i.id}: ${i.status ?? 'no status'}, ${what}${refunded}${i.hostedInvoiceUrl ? `, ${i.hostedInvoiceUrl}` : ''}`;
}

/** "billing: active on Team, MRR USD 49.00, balance USD 0.00, next invoice 2026-12-01". */
export function billingLine(b: BillingView): string {
  return (
    `billing: ${b.status ?? '-'}${b.endedAt ? ` (ended on ${b.endedAt.slice(0, 10)})` : ''} on ${b.plan ?? '-'}, MRR ${formatMoney(b.mrr, b.currency)}, ` +
    `balance ${b.balance === null ? '-' : formatMoney(b.balance, b.currency)}, next invoice ${b.nextInvoiceDate?.slice(0, 10) ?? '-'}` +
    `${b.delinquent ? ', DELINQUENT' : ''}`
  );
}
