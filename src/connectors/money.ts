/**
 * What portals show of an invoice, in the platform's field names. Amounts in
 * major units come from src/sync/money.ts (shared with the customer's own view).
 */
import { toMajorUnits } from '../sync/money.js';
import type { InvoiceView } from '../sync/events/record.js';

export { toMajorUnits };

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
