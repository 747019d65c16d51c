/** The Stripe stand-in's object shapes: rows rendered as the API version the repo's stripe SDK pins, for GET, lists, expand and events. */
import {
  amountRemaining,
  invoicePrefix,
  invoiceTotal,
  STRIPE_STANDIN_API_VERSION,
  type Json,
  type StripeCharge,
  type StripeChargeRow,
  type StripeCustomer,
  type StripeCustomerRow,
  type StripeDeletedCustomer,
  type StripeEvent,
  type StripeEventRow,
  type StripeInvoice,
  type StripeInvoiceLineItem,
  type StripeInvoiceLineRow,
  type StripeInvoiceRow,
  type StripeObject,
  type StripePaymentMethod,
  type StripePaymentMethodRow,
  type StripePriceRow,
  type StripeState,
  type StripeSubscription,
  type StripeSubscriptionItem,
  type StripeSubscriptionItemRow,
  type StripeSubscriptionRow,
} from './state.js';

/** What rendering reads besides a row: the account, its mode, and the origin of hosted invoice pages (known once listening). */
export interface StripeView {
  readonly state: StripeState;
  readonly livemode: boolean;
  readonly accountId: string;
  /** Events carry `account` (a Connect account's stand-in). */
  readonly connected: boolean;
  hostedOrigin: string;
}

const hostedToken = (view: StripeView, invoiceId: string) => `${view.livemode ? 'live' : 'test'}_${invoiceId}`;

export const renderCustomer = (view: StripeView, c: StripeCustomerRow): StripeCustomer => ({
  id: c.id,
  object: 'customer',
  address: null,
  balance: c.balance,
  created: c.created,
  currency: c.currency,
  customer_account: null,
  default_source: null,
  delinquent: c.delinquent,
  description: c.description,
  discount: null,
  email: c.email,
  invoice_prefix: invoicePrefix(c.id),
  invoice_settings: {
    custom_fields: null,
    default_payment_method: c.defaultPaymentMethod,
    footer: null,
    rendering_options: null,
  },
  livemode: view.livemode,
  metadata: { ...c.metadata },
  name: c.name,
  next_invoice_sequence: c.nextInvoiceSequence,
  phone: c.phone,
  preferred_locales: [],
  shipping: null,
  tax_exempt: 'none',
  test_clock: null,
});

const renderPrice = (view: StripeView, p: StripePriceRow) => ({
  id: p.id,
  object: 'price' as const,
  active: true,
  billing_scheme: 'per_unit' as const,
  created: p.created,
  currency: p.currency,
  custom_unit_amount: null,
  livemode: view.livemode,
  lookup_key: null,
  metadata: {},
  nickname: p.nickname,
  product: p.product,
  recurring: {
    interval: p.interval,
    interval_count: p.intervalCount,
    meter: null,
    trial_period_days: null,
    usage_type: p.usageType,
  },
  tax_behavior: 'unspecified' as const,
  tiers_mode: null,
  transform_quantity: null,
  type: 'recurring' as const,
  unit_amount: p.unitAmount,
  unit_amount_decimal: p.unitAmount === null ? null : String(p.unitAmount),
});

const renderItem = (
  view: StripeView,
  s: StripeSubscriptionRow,
  item: StripeSubscriptionItemRow,
): StripeSubscriptionItem => ({
  id: item.id,
  object: 'subscription_item',
  billing_thresholds: null,
  created: item.created,
  current_period_end: s.periodEnd,
  current_period_start: s.periodStart,
  current_trial: null,
  discounts: [],
  metadata: {},
  plan: {
    id: item.price.id,
    object: 'plan',
    active: true,
    amount: item.price.unitAmount,
    amount_decimal: item.price.unitAmount === null ? null : String(item.price.unitAmount),
    billing_scheme: 'per_unit',
    created: item.price.created,
    currency: item.price.currency,
    interval: item.price.interval,
    interval_count: item.price.intervalCount,
    livemode: view.livemode,
    metadata: {},
    meter: null,
    nickname: item.price.nickname,
    product: item.price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: item.price.usageType,
  },
  price: renderPrice(view, item.price),
  quantity: item.quantity,
  subscription: s.id,
  tax_rates: [],
});

export const renderSubscription = (view: StripeView, s: StripeSubscriptionRow): StripeSubscription => ({
  id: s.id,
  object: 'subscription',
  application: null,
  application_fee_percent: null,
  automatic_tax: { disabled_reason: null, enabled: false, liability: null },
  billing_cycle_anchor: s.startDate,
  billing_cycle_anchor_config: null,
  billing_mode: { flexible: { proration_discounts: 'included' }, type: 'flexible', updated_at: s.created },
  billing_schedules: [],
  billing_thresholds: null,
  cancel_at: s.cancelAtPeriodEnd ? s.periodEnd : null,
  cancel_at_period_end: s.cancelAtPeriodEnd,
  canceled_at: s.canceledAt,
  cancellation_details: {
    comment: null,
    feedback: null,
    feedback_option: null,
    reason: s.canceledAt !== null || s.cancelAtPeriodEnd ? 'cancellation_requested' : null,
  },
  collection_method: s.collectionMethod,
  created: s.created,
  currency: s.currency,
  customer: s.customer,
  customer_account: null,
  days_until_due: s.daysUntilDue,
  default_payment_method: s.defaultPaymentMethod,
  default_source: null,
  default_tax_rates: [],
  description: null,
  discounts: [],
  ended_at: s.endedAt,
  invoice_settings: {
    account_tax_ids: null,
    custom_fields: null,
    description: null,
    footer: null,
    issuer: { type: 'self' },
  },
  items: {
    object: 'list',
    data: s.items.map((item) => renderItem(view, s, item)),
    has_more: false,
    url: `/v1/subscription_items?subscription=${s.id}`,
  },
  latest_invoice: s.latestInvoice,
  livemode: view.livemode,
  managed_payments: null,
  metadata: { ...s.metadata },
  next_pending_invoice_item_invoice: null,
  on_behalf_of: null,
  pause_collection: null,
  payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' },
  pending_invoice_item_interval: null,
  pending_setup_intent: null,
  pending_update: null,
  schedule: null,
  start_date: s.startDate,
  status: s.status,
  test_clock: null,
  transfer_data: null,
  trial_end: s.trialEnd,
  trial_settings: { end_behavior: { billing_cycle_anchor: null, missing_payment_method: 'create_invoice' } },
  trial_start: s.trialStart,
});

const renderLine = (view: StripeView, i: StripeInvoiceRow, l: StripeInvoiceLineRow): StripeInvoiceLineItem => ({
  id: l.id,
  object: 'line_item',
  amount: l.amount,
  currency: i.currency,
  description: l.description ?? (l.price ? `${l.quantity} × ${l.price.nickname ?? l.price.product}` : null),
  discount_amounts: [],
  discountable: true,
  discounts: [],
  invoice: i.id,
  livemode: view.livemode,
  metadata: {},
  parent:
    l.subscriptionItem !== null && i.subscription !== null
      ? {
          invoice_item_details: null,
          subscription_item_details: {
            invoice_item: null,
            proration: false,
            proration_details: { credited_items: null },
            subscription: i.subscription,
            subscription_item: l.subscriptionItem,
          },
          type: 'subscription_item_details',
        }
      : null,
  period: { end: l.periodEnd, start: l.periodStart },
  pretax_credit_amounts: [],
  pricing: l.price
    ? {
        price_details: { price: l.price.id, product: l.price.product },
        type: 'price_details',
        unit_amount_decimal: l.price.unitAmount === null ? null : String(l.price.unitAmount),
      }
    : null,
  quantity: l.quantity,
  quantity_decimal: String(l.quantity),
  subscription: i.subscription,
  subtotal: l.amount,
  taxes: [],
});

export const renderInvoice = (view: StripeView, i: StripeInvoiceRow): StripeInvoice => {
  const customer = view.state.customers.get(i.customer);
  const subscription = i.subscription === null ? undefined : view.state.subscriptions.get(i.subscription);
  const total = invoiceTotal(i);
  const finalized = i.status !== 'draft';
  return {
    id: i.id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'Portal Sync Stand-in',
    account_tax_ids: null,
    amount_due: total,
    amount_overpaid: 0,
    amount_paid: i.amountPaid,
    amount_remaining: amountRemaining(i),
    amount_shipping: 0,
    application: null,
    attempt_count: i.attemptCount,
    attempted: i.attempted,
    auto_advance: i.status === 'draft' || i.status === 'open',
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: i.billingReason,
    collection_method: i.collectionMethod,
    created: i.created,
    currency: i.currency,
    custom_fields: null,
    customer: i.customer,
    customer_account: null,
    customer_address: null,
    customer_email: customer?.email ?? null,
    customer_name: customer?.name ?? null,
    customer_phone: customer?.phone ?? null,
    customer_shipping: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: i.description,
    discounts: [],
    due_date: i.dueDate,
    effective_at: i.finalizedAt,
    ending_balance: finalized ? 0 : null,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: finalized ? `${view.hostedOrigin}/i/${view.accountId}/${hostedToken(view, i.id)}` : null,
    invoice_pdf: finalized
      ? `${view.hostedOrigin}/invoice/${view.accountId}/${hostedToken(view, i.id)}/pdf?s=ap`
      : null,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: {
      object: 'list',
      data: i.lines.map((l) => renderLine(view, i, l)),
      has_more: false,
      url: `/v1/invoices/${i.id}/lines`,
    },
    livemode: view.livemode,
    metadata: { ...i.metadata },
    next_payment_attempt: i.nextPaymentAttempt,
    number: i.number,
    on_behalf_of: null,
    parent: subscription
      ? {
          quote_details: null,
          subscription_details: { metadata: { ...subscription.metadata }, subscription: subscription.id },
          type: 'subscription_details',
        }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: i.periodEnd,
    period_start: i.periodStart,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: i.status,
    status_transitions: {
      finalized_at: i.finalizedAt,
      marked_uncollectible_at: i.markedUncollectibleAt,
      paid_at: i.paidAt,
      voided_at: i.voidedAt,
    },
    subtotal: total,
    subtotal_excluding_tax: total,
    test_clock: null,
    total,
    total_discount_amounts: [],
    total_excluding_tax: total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: i.finalizedAt,
  };
};

export const renderPaymentMethod = (view: StripeView, pm: StripePaymentMethodRow): StripePaymentMethod => ({
  id: pm.id,
  object: 'payment_method',
  allow_redisplay: 'unspecified',
  billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
  card: {
    brand: pm.brand,
    checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
    country: 'US',
    display_brand: pm.brand,
    exp_month: pm.expMonth,
    exp_year: pm.expYear,
    fingerprint: pm.id.slice(3, 19),
    funding: 'credit',
    generated_from: null,
    last4: pm.last4,
    networks: { available: [pm.brand], preferred: null },
    regulated_status: 'unregulated',
    three_d_secure_usage: { supported: true },
    wallet: null,
  },
  created: pm.created,
  customer: pm.customer,
  customer_account: null,
  livemode: view.livemode,
  metadata: { ...pm.metadata },
  type: 'card',
});

export const renderCharge = (view: StripeView, ch: StripeChargeRow): StripeCharge => {
  const paid = ch.status === 'succeeded';
  return {
    id: ch.id,
    object: 'charge',
    amount: ch.amount,
    amount_captured: paid ? ch.amount : 0,
    amount_refunded: ch.amountRefunded,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: paid ? `txn_${ch.id.slice(3)}` : null,
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    calculated_statement_descriptor: 'PORTAL SYNC',
    captured: paid,
    created: ch.created,
    currency: ch.currency,
    customer: ch.customer,
    description: null,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: ch.failureCode,
    failure_message: ch.failureMessage,
    fraud_details: {},
    livemode: view.livemode,
    metadata: { ...ch.metadata },
    on_behalf_of: null,
    outcome: null,
    paid,
    payment_intent: `pi_${ch.id.slice(3)}`,
    payment_method: ch.paymentMethod,
    payment_method_details: null,
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: ch.amountRefunded > 0 && ch.amountRefunded >= ch.amount,
    refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${ch.id}/refunds` },
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: ch.status,
    transfer_data: null,
    transfer_group: null,
  };
};

export const renderEvent = (view: StripeView, e: StripeEventRow): StripeEvent => ({
  id: e.id,
  object: 'event',
  api_version: STRIPE_STANDIN_API_VERSION,
  created: e.created,
  data: { object: e.object, ...(e.previous && { previous_attributes: e.previous }) },
  livemode: view.livemode,
  pending_webhooks: e.pendingWebhooks,
  request: e.request,
  type: e.type,
  ...(view.connected && { account: view.accountId }),
});

export const deletedCustomer = (id: string): StripeDeletedCustomer => ({ id, object: 'customer', deleted: true });

/** Any object by id, as GET renders it; what `expand[]` replaces an id with. */
export const renderObject = (
  view: StripeView,
  id: string,
): StripeObject | StripeDeletedCustomer | StripeEvent | undefined => {
  const customer = view.state.customers.get(id);
  if (customer) return customer.deleted ? deletedCustomer(id) : renderCustomer(view, customer);
  const subscription = view.state.subscriptions.get(id);
  if (subscription) return renderSubscription(view, subscription);
  const invoice = view.state.invoices.get(id);
  if (invoice) return renderInvoice(view, invoice);
  const pm = view.state.paymentMethods.get(id);
  if (pm) return renderPaymentMethod(view, pm);
  const charge = view.state.charges.get(id);
  if (charge) return renderCharge(view, charge);
  const event = view.state.events.get(id);
  return event ? renderEvent(view, event) : undefined;
};

/** An account as `GET /v1/account` and `GET /v1/accounts` render it: the fields a sync reads, in Stripe's shape. */
export function renderAccount(id: string, created: number, email: string | null = null): Json {
  return {
    id,
    object: 'account',
    business_type: null,
    charges_enabled: true,
    country: 'US',
    created,
    default_currency: 'usd',
    details_submitted: true,
    email,
    metadata: {},
    payouts_enabled: true,
    type: 'standard',
  };
}

/** A one-page PDF with one line of text: enough for a browser or a PDF reader to open. */
export function minimalPdf(text: string): Buffer {
  const safe = text.replace(/[()\\]/g, (c) => `\\${c}`);
  const content = `BT /F1 14 Tf 72 720 Td (${safe}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
