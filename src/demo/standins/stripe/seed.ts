/** The Stripe stand-in's silent seeding: customers, subscriptions and invoices put straight into the store, without events or webhooks, fast (100,000 customers well under a second). */
import { invoiceTotal, type StripeInvoiceRow } from './state.js';
import type { StripeStore } from './store.js';
import type { StripeSeedCustomerInput, StripeSeedInvoiceInput } from './types.js';

/** An invoice in the given status (default open), finalized, paid, voided or marked uncollectible at its creation time. */
export function seedInvoice(
  store: StripeStore,
  customerId: string,
  input: StripeSeedInvoiceInput = {},
): StripeInvoiceRow {
  const row = store.newInvoice(store.customerOr(customerId), input);
  const status = input.status ?? 'open';
  if (status === 'draft') return row;
  store.finalizeRow(row, row.created, input.days_until_due);
  if (status === 'paid') {
    row.amountPaid = invoiceTotal(row);
    row.attemptCount = 1;
    row.attempted = true;
    row.paidAt = row.created;
  } else if (status === 'void') {
    row.voidedAt = row.created;
  } else if (status === 'uncollectible') {
    row.markedUncollectibleAt = row.created;
  }
  row.status = status;
  return row;
}

/** n customers, each with its subscriptions and invoices; their ids, oldest first. */
export function seedCustomers(store: StripeStore, n: number, make?: (i: number) => StripeSeedCustomerInput): string[] {
  const ids: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const input = make?.(i) ?? {};
    const customer = store.newCustomer(input);
    ids[i] = customer.id;
    const subs = (input.subscriptions ?? []).map((s) => store.newSubscription(customer, s));
    for (const inv of input.invoices ?? []) {
      const subscription = inv.subscription === true ? subs[0]?.id : inv.subscription;
      seedInvoice(store, customer.id, {
        ...inv,
        ...(subscription !== undefined ? { subscription } : { subscription: undefined }),
      } as StripeSeedInvoiceInput);
    }
  }
  return ids;
}
