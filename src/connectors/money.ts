/**
 * Stripe amounts are integers in the currency's minor unit; portals show
 * decimals in major units. Stripe's own lists (docs.stripe.com/currencies):
 * zero-decimal currencies, three-decimal ones, two decimals for the rest
 * (ISK and HUF included: Stripe still takes their amounts with two).
 */
import type { InvoiceView } from '../sync/record.js';

const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** 1999 usd → 19.99; 500 jpy → 500; 5124 kwd → 5.124. An unknown or absent currency counts as two-decimal. */
export function toMajorUnits(amount: number, currency: string | null | undefined): number {
  const c = currency?.toLowerCase() ?? '';
  const decimals = ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2;
  // IEEE division is correctly rounded, so 1999 / 100 serializes as 19.99.
  return amount / 10 ** decimals;
}

/** Invoice field names on a platform, by what they hold. */
export interface InvoiceFieldNames {
  number: string;
  status: string;
  total: string;
  amountDue: string;
  amountPaid: string;
  currency: string;
  dueDate: string;
  hostedUrl: string;
  pdfUrl: string;
}

/** What every portal shows of an invoice, keyed by the platform's field names: amounts in major units, the due day, the links. */
export function invoiceValues(i: InvoiceView, f: InvoiceFieldNames): Record<string, string | number | null> {
  return {
    [f.number]: i.number,
    [f.status]: i.status,
    [f.total]: toMajorUnits(i.total, i.currency),
    [f.amountDue]: toMajorUnits(i.amountDue, i.currency),
    [f.amountPaid]: toMajorUnits(i.amountPaid, i.currency),
    [f.currency]: i.currency.toUpperCase(),
    [f.dueDate]: toIsoDay(i.dueDate),
    [f.hostedUrl]: i.hostedInvoiceUrl,
    [f.pdfUrl]: i.invoicePdf,
  };
}

/** The UTC calendar day of an ISO date-time, as Date fields take it (YYYY-MM-DD); null stays null. */
export function toIsoDay(iso: string | null): string | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().slice(0, 10);
}
