/** The Stripe stand-in's scenario helpers: state changed the way a dashboard user or Stripe's billing engine would, each change with its events and webhooks. */
import {
  invoiceTotal,
  type Metadata,
  type StripeCharge,
  type StripeCustomer,
  type StripeCustomerRow,
  type StripeDeletedCustomer,
  type StripeInvoice,
  type StripeInvoiceRow,
  type StripePaymentMethod,
  type StripeSubscription,
  type StripeSubscriptionRow,
  type SubscriptionStatus,
} from './state.js';
import {
  deletedCustomer,
  renderCharge,
  renderCustomer,
  renderInvoice,
  renderPaymentMethod,
  renderSubscription,
} from './render.js';
import { HttpError, stripeErrors } from './params.js';
import { SECONDS_PER_DAY, type StripeStore } from './store.js';
import type { StripeEvents } from './events.js';
import type {
  StripeCustomerInput,
  StripeInvoiceInput,
  StripeSubscriptionInput,
  StripeSubscriptionPatch,
} from './types.js';

type CustomerPatch = Omit<StripeCustomerInput, 'id' | 'created'>;

function applyCustomerPatch(row: StripeCustomerRow, patch: CustomerPatch): void {
  if (patch.email !== undefined) row.email = patch.email;
  if (patch.name !== undefined) row.name = patch.name;
  if (patch.description !== undefined) row.description = patch.description;
  if (patch.phone !== undefined) row.phone = patch.phone;
  if (patch.currency !== undefined) row.currency = patch.currency;
  if (patch.balance !== undefined) row.balance = patch.balance;
  if (patch.metadata !== undefined) {
    // Stripe merges metadata; an empty value removes the key.
    const merged: Metadata = { ...row.metadata };
    for (const [k, v] of Object.entries(patch.metadata)) {
      if (v === '') delete merged[k];
      else merged[k] = v;
    }
    row.metadata = merged;
  }
}

/** Every helper throws HttpError with Stripe's body; the stand-in's handle turns that into a plain Error. */
export class StripeScenarios {
  constructor(
    private readonly store: StripeStore,
    private readonly events: StripeEvents,
  ) {}

  private get view() {
    return this.store.view;
  }

  createCustomer = (input: StripeCustomerInput = {}): StripeCustomer => {
    const row = this.store.newCustomer(input);
    const rendered = renderCustomer(this.view, row);
    this.events.emit('customer.created', rendered);
    return rendered;
  };

  updateCustomer = (id: string, patch: CustomerPatch): StripeCustomer =>
    this.events.changeAndEmit(
      this.store.liveCustomer(id),
      (r) => renderCustomer(this.view, r),
      () => applyCustomerPatch(this.store.liveCustomer(id), patch),
      'customer.updated',
    ) as StripeCustomer;

  private endSubscription(s: StripeSubscriptionRow): StripeSubscription {
    const at = this.store.nowSeconds();
    const rendered = this.events.changeAndEmit(
      s,
      (r) => renderSubscription(this.view, r),
      () => {
        s.status = 'canceled';
        s.canceledAt = at;
        s.endedAt = at;
      },
      'customer.subscription.deleted',
    );
    return rendered as StripeSubscription;
  }

  deleteCustomer = (id: string): StripeDeletedCustomer => {
    const row = this.store.liveCustomer(id);
    // Deleting a customer cancels its subscriptions at once, each with its own event.
    for (const s of this.store.ownedBy(id, 'subscriptions')) {
      if (s.status !== 'canceled' && s.status !== 'incomplete_expired') this.endSubscription(s);
    }
    const last = renderCustomer(this.view, row);
    row.deleted = true;
    this.events.emit('customer.deleted', last);
    return deletedCustomer(id);
  };

  createSubscription = (customerId: string, input: StripeSubscriptionInput): StripeSubscription => {
    const row = this.store.newSubscription(this.store.liveCustomer(customerId), input);
    const rendered = renderSubscription(this.view, row);
    this.events.emit('customer.subscription.created', rendered);
    return rendered;
  };

  updateSubscription = (id: string, patch: StripeSubscriptionPatch): StripeSubscription => {
    const s = this.store.subscriptionOr(id);
    if (s.status === 'canceled')
      throw new HttpError(
        400,
        stripeErrors.invalid('A canceled subscription can only update its cancellation_details and metadata.'),
      );
    const wasPaused = s.status === 'paused';
    const rendered = this.events.changeAndEmit(
      s,
      (r) => renderSubscription(this.view, r),
      () => {
        if (patch.status !== undefined) s.status = patch.status;
        if (patch.cancel_at_period_end !== undefined) s.cancelAtPeriodEnd = patch.cancel_at_period_end;
        if (patch.default_payment_method !== undefined) s.defaultPaymentMethod = patch.default_payment_method;
        if (patch.metadata !== undefined) s.metadata = { ...s.metadata, ...patch.metadata };
        if (patch.items !== undefined) s.items = this.store.subscriptionItems(patch.items, this.store.nowSeconds());
      },
      'customer.subscription.updated',
    ) as StripeSubscription;
    // Stripe announces entering and leaving `paused` with their own events too.
    if (!wasPaused && s.status === 'paused') this.events.emit('customer.subscription.paused', rendered);
    if (wasPaused && s.status !== 'paused') this.events.emit('customer.subscription.resumed', rendered);
    return rendered;
  };

  cancelSubscription = (id: string, cancelOpts: { atPeriodEnd?: boolean } = {}): StripeSubscription => {
    const s = this.store.subscriptionOr(id);
    if (cancelOpts.atPeriodEnd) return this.updateSubscription(id, { cancel_at_period_end: true });
    if (s.status === 'canceled') return renderSubscription(this.view, s);
    return this.endSubscription(s);
  };

  /** Emits customer.updated with the customer as `set` leaves it (nothing changed: no event). */
  private changeCustomer(customer: StripeCustomerRow, set: () => void): void {
    this.events.changeAndEmit(customer, (r) => renderCustomer(this.view, r), set, 'customer.updated');
  }

  // --- invoices, payments, payment methods and refunds -----------------------------------

  createInvoice = (customerId: string, input: StripeInvoiceInput = {}): StripeInvoice => {
    const row = this.store.newInvoice(this.store.liveCustomer(customerId), input);
    this.events.emit('invoice.created', renderInvoice(this.view, row));
    if (input.finalize !== false) this.finalizeRowAndEmit(row, input.days_until_due);
    return renderInvoice(this.view, row);
  };

  private finalizeRowAndEmit(row: StripeInvoiceRow, daysUntilDue?: number): void {
    if (row.status !== 'draft')
      throw new HttpError(
        400,
        stripeErrors.invalid(
          `This invoice is already finalized, you can't re-finalize a non-draft invoice.`,
          undefined,
          'invoice_not_editable',
        ),
      );
    this.store.finalizeRow(row, this.store.nowSeconds(), daysUntilDue);
    this.events.emit('invoice.finalized', renderInvoice(this.view, row));
  }

  finalizeInvoice = (id: string): StripeInvoice => {
    this.finalizeRowAndEmit(this.store.invoiceOr(id));
    return renderInvoice(this.view, this.store.invoiceOr(id));
  };

  private openInvoice(id: string): StripeInvoiceRow {
    const row = this.store.invoiceOr(id);
    if (row.status === 'draft') this.finalizeRowAndEmit(row);
    if (row.status !== 'open')
      throw new HttpError(400, stripeErrors.invalid(`Invoice is already ${row.status}`, undefined, 'invoice_not_open'));
    return row;
  }

  /** The customer's delinquency follows its latest payment outcome, as Stripe's does. */
  private setDelinquent(customerId: string, delinquent: boolean): void {
    const c = this.store.state.customers.get(customerId);
    if (!c || c.deleted || c.delinquent === delinquent) return;
    this.changeCustomer(c, () => (c.delinquent = delinquent));
  }

  private setSubscriptionStatus(
    subscriptionId: string | null,
    from: readonly SubscriptionStatus[],
    to: SubscriptionStatus,
  ): void {
    const s = subscriptionId === null ? undefined : this.store.state.subscriptions.get(subscriptionId);
    if (s && from.includes(s.status)) this.updateSubscription(s.id, { status: to });
  }

  payInvoice = (id: string): StripeInvoice => {
    const row = this.openInvoice(id);
    const charge = this.store.newCharge(row, 'succeeded');
    this.events.emit('charge.succeeded', renderCharge(this.view, charge));
    const at = this.store.nowSeconds();
    row.amountPaid = invoiceTotal(row);
    row.attemptCount += 1;
    row.attempted = true;
    row.nextPaymentAttempt = null;
    row.paidAt = at;
    row.status = 'paid';
    const rendered = renderInvoice(this.view, row);
    this.events.emit('invoice.paid', rendered);
    this.events.emit('invoice.payment_succeeded', rendered);
    this.setSubscriptionStatus(row.subscription, ['past_due', 'unpaid', 'incomplete'], 'active');
    this.setDelinquent(row.customer, false);
    return rendered;
  };

  failInvoicePayment = (id: string, failOpts: { code?: string; message?: string } = {}): StripeInvoice => {
    const row = this.openInvoice(id);
    const charge = this.store.newCharge(row, 'failed', {
      code: failOpts.code ?? 'card_declined',
      message: failOpts.message ?? 'Your card was declined.',
    });
    this.events.emit('charge.failed', renderCharge(this.view, charge));
    row.attemptCount += 1;
    row.attempted = true;
    // Smart Retries: the next attempt a few days later.
    row.nextPaymentAttempt = this.store.nowSeconds() + 3 * SECONDS_PER_DAY;
    const rendered = renderInvoice(this.view, row);
    this.events.emit('invoice.payment_failed', rendered);
    // A failed subscription payment makes the subscription past_due (incomplete for its first invoice).
    this.setSubscriptionStatus(
      row.subscription,
      ['active', 'trialing'],
      row.billingReason === 'subscription_create' ? 'incomplete' : 'past_due',
    );
    this.setDelinquent(row.customer, true);
    return rendered;
  };

  voidInvoice = (id: string): StripeInvoice => {
    const row = this.openInvoice(id);
    row.status = 'void';
    row.voidedAt = this.store.nowSeconds();
    row.nextPaymentAttempt = null;
    const rendered = renderInvoice(this.view, row);
    this.events.emit('invoice.voided', rendered);
    return rendered;
  };

  attachPaymentMethod = (
    customerId: string,
    input: { brand?: string; last4?: string; makeDefault?: boolean } = {},
  ): StripePaymentMethod => {
    const customer = this.store.liveCustomer(customerId);
    const row = this.store.newPaymentMethod(customer, input);
    const rendered = renderPaymentMethod(this.view, row);
    this.events.emit('payment_method.attached', rendered);
    if (input.makeDefault) this.changeCustomer(customer, () => (customer.defaultPaymentMethod = row.id));
    return rendered;
  };

  detachPaymentMethod = (id: string): StripePaymentMethod => {
    const row = this.store.paymentMethodOr(id);
    if (row.customer === null)
      throw new HttpError(
        400,
        stripeErrors.invalid(
          'The payment method you provided is not attached to a customer so detachment is impossible.',
        ),
      );
    const customer = this.store.state.customers.get(row.customer);
    const rendered = this.events.changeAndEmit(
      row,
      (r) => renderPaymentMethod(this.view, r),
      () => (row.customer = null),
      'payment_method.detached',
    ) as StripePaymentMethod;
    if (customer && customer.defaultPaymentMethod === id)
      this.changeCustomer(customer, () => (customer.defaultPaymentMethod = null));
    return rendered;
  };

  refundCharge = (id: string, amount?: number): StripeCharge => {
    const row = this.store.chargeOr(id);
    if (row.status !== 'succeeded')
      throw new HttpError(
        400,
        stripeErrors.invalid(`Charge ${id} has not been captured.`, undefined, 'charge_not_refundable'),
      );
    const refund = amount ?? row.amount - row.amountRefunded;
    if (refund <= 0 || row.amountRefunded + refund > row.amount)
      throw new HttpError(
        400,
        stripeErrors.invalid(`Charge ${id} has already been refunded.`, undefined, 'charge_already_refunded'),
      );
    return this.events.changeAndEmit(
      row,
      (r) => renderCharge(this.view, r),
      () => (row.amountRefunded += refund),
      'charge.refunded',
    ) as StripeCharge;
  };
}
