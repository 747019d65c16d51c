/**
 * A local stand-in for the Stripe API (`https://api.stripe.com/v1`), for end-to-end tests,
 * `portal-sync demo` and benchmarks. Point the real stripe SDK at it with
 * `createStripeClient(standIn.clientConfig)` (or STRIPE_SECRET_KEY / STRIPE_API_HOST /
 * STRIPE_API_PORT / STRIPE_API_PROTOCOL=http).
 *
 * What it keeps faithful, because the daemon and the SDK depend on it:
 * - secret-key auth (Bearer, or Basic with the key as user name), Stripe's error bodies
 *   (`{error:{type, code?, message, param?}}`: 401, 400, 404 `resource_missing`, 429
 *   `rate_limit`), and a `Request-Id` on every answer;
 * - list objects `{object:'list', data, has_more, url}` paged newest first by `limit` (1..100,
 *   default 10), `starting_after` / `ending_before`, `created[gt|gte|lt|lte]` and each list's own
 *   filters; unknown parameters are refused with 400, as Stripe does, so a caller's typo fails
 *   here rather than in production;
 * - objects rendered in the API version of the stripe SDK this repo pins (current_period_* on
 *   subscription items, an invoice's subscription under `parent.subscription_details`, no
 *   `invoice` on charges), typed with the SDK's own types;
 * - every change appends an Event (listed for 30 days by GET /v1/events, `data.object` as the
 *   object was then, `previous_attributes` on updates) and, with a webhook endpoint configured,
 *   POSTs it signed like Stripe (`Stripe-Signature: t=…,v1=…`), retrying with backoff when the
 *   endpoint fails; `dropWebhooks` loses a (seeded) fraction in transit, for reconciliation tests;
 * - read and write rate limits per second (Stripe: 100 live, 25 test): a plain `rate_limit` 429
 *   carries no `Stripe-Should-Retry`, so stripe-node does NOT retry it by itself (Stripe does not
 *   want rate limits hammered), while an object-lock 429 (`lock_timeout`, see failNext) carries
 *   `Stripe-Should-Retry: true`, which stripe-node retries.
 *
 * Scenario helpers (createCustomer, payInvoice, …) change state the way a dashboard user or
 * Stripe's billing engine would, with events and webhooks. seed* helpers change state silently
 * and fast (100,000 customers well under a second); rows are small and objects are rendered
 * only when asked for, and lists page by binary search over rows kept in creation order.
 *
 * Layout: types.ts (options and the handle), state.ts (rows, paging by rank), store.ts (the data,
 * ids, lookups, row builders), events.ts + webhooks.ts (the event log and its delivery),
 * scenarios.ts (helpers with events), render.ts (API shapes), params.ts (params and error bodies),
 * gate.ts (auth, rate limits, faults), http.ts + paging.ts (answers, expand, idempotency, lists),
 * routes/ (one router per API area), seed.ts (silent seeding), connect.ts (a Connect platform in
 * front of several stand-ins). This file wires them into one server.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { listenOnLoopback } from '../common.js';
import { renderEvent, renderObject } from './render.js';
import { HttpError, isRecord, stripeErrors } from './params.js';
import { StripeStore } from './store.js';
import { StripeWebhooks } from './webhooks.js';
import { StripeEvents } from './events.js';
import { StripeScenarios } from './scenarios.js';
import { StripeGate } from './gate.js';
import { IdempotentWrites, send, unrecognizedUrl, type StripeApi } from './http.js';
import { customerRoutes } from './routes/customers.js';
import { subscriptionRoutes } from './routes/subscriptions.js';
import { hostedInvoiceRoutes, invoiceRoutes } from './routes/invoices.js';
import { paymentRoutes } from './routes/payments.js';
import { accountRoutes } from './routes/account.js';
import { eventRoutes } from './routes/events.js';
import { seedCustomers, seedInvoice } from './seed.js';
import type {
  StripeSeedCustomerInput,
  StripeSeedInvoiceInput,
  StripeStandIn,
  StripeStandInOptions,
  StripeSubscriptionInput,
} from './types.js';

export * from './state.js';
export type { StripePriceInput, StripeStandIn, StripeStandInOptions } from './types.js';

/** The express app: the gate and the routers of /v1, the hosted invoice pages, Stripe's 404 and error bodies. */
function stripeApp(api: StripeApi, gate: StripeGate): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'extended');
  app.use('/v1', gate.middleware);
  app.use('/v1', express.urlencoded({ extended: true, limit: '1mb' }));
  const v1 = express.Router();
  app.use('/v1', v1);
  for (const routes of [customerRoutes, subscriptionRoutes, invoiceRoutes, paymentRoutes, accountRoutes, eventRoutes])
    v1.use(routes(api));
  v1.use(unrecognizedUrl);
  app.use(hostedInvoiceRoutes(api.store));
  app.use(unrecognizedUrl);
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpError) return send(res, err.status, err.body);
    if (isRecord(err) && (err['type'] === 'entity.parse.failed' || err['type'] === 'entity.too.large')) {
      return send(res, 400, stripeErrors.invalid('Invalid request body'));
    }
    send(res, 500, stripeErrors.apiError());
  });
  return app;
}

/** Scenario helpers throw Stripe's message as a plain Error, the way a failed dashboard action reads. */
const plain =
  <A extends unknown[], R>(fn: (...args: A) => R) =>
  (...args: A): R => {
    try {
      return fn(...args);
    } catch (err) {
      if (err instanceof HttpError) throw new Error(`Stripe stand-in: ${err.body.error.message}`);
      throw err;
    }
  };

export async function startStripeStandIn(opts: StripeStandInOptions = {}): Promise<StripeStandIn> {
  const secretKey = opts.secretKey ?? `sk_test_${randomUUID().replace(/-/g, '')}StandIn`;
  const store = new StripeStore(opts, secretKey);
  const { state, view, livemode } = store;
  const gate = new StripeGate(opts, store);
  const webhooks = new StripeWebhooks(opts, view);
  const events = new StripeEvents(store, webhooks);
  const scenarios = new StripeScenarios(store, events);
  const listening = await listenOnLoopback(stripeApp({ store, scenarios, writes: new IdempotentWrites(events) }, gate));
  const url = new URL(listening.origin);
  const port = Number(url.port);
  view.hostedOrigin ||= listening.origin;

  return {
    baseUrl: listening.origin,
    host: url.hostname,
    port,
    secretKey,
    livemode,
    get clientConfig() {
      const webhookSecrets = [...webhooks.secrets];
      return { secretKey, webhookSecrets, host: url.hostname, port, protocol: 'http' as const };
    },
    env: {
      STRIPE_SECRET_KEY: secretKey,
      STRIPE_API_HOST: url.hostname,
      STRIPE_API_PORT: String(port),
      STRIPE_API_PROTOCOL: 'http',
    },
    state,
    calls: gate.calls,
    webhookDeliveries: webhooks.deliveries,
    droppedWebhooks: webhooks.dropped,
    setFaults: (next) => gate.faults.set(next),
    setRate: (next) => gate.setRate(next),
    failNext: (n, failure, path) => gate.failNext(n, failure, path),
    setWebhook: (nextUrl, secret) => {
      webhooks.url = nextUrl;
      if (secret !== undefined) webhooks.secrets = [secret].flat();
    },
    setDropWebhooks: (fraction) => {
      webhooks.dropFraction = fraction;
    },
    createCustomer: plain(scenarios.createCustomer),
    updateCustomer: plain(scenarios.updateCustomer),
    deleteCustomer: plain(scenarios.deleteCustomer),
    createSubscription: plain(scenarios.createSubscription),
    updateSubscription: plain(scenarios.updateSubscription),
    cancelSubscription: plain(scenarios.cancelSubscription),
    createInvoice: plain(scenarios.createInvoice),
    finalizeInvoice: plain(scenarios.finalizeInvoice),
    payInvoice: plain(scenarios.payInvoice),
    failInvoicePayment: plain(scenarios.failInvoicePayment),
    voidInvoice: plain(scenarios.voidInvoice),
    attachPaymentMethod: plain(scenarios.attachPaymentMethod),
    detachPaymentMethod: plain(scenarios.detachPaymentMethod),
    refundCharge: plain(scenarios.refundCharge),
    seedCustomers: plain((n: number, make?: (i: number) => StripeSeedCustomerInput) => seedCustomers(store, n, make)),
    seedSubscription: plain((customerId: string, input: StripeSubscriptionInput) =>
      store.newSubscription(store.customerOr(customerId), input),
    ),
    seedInvoice: plain((customerId: string, input?: StripeSeedInvoiceInput) => seedInvoice(store, customerId, input)),
    render: (id: string) => renderObject(view, id),
    events: () => state.order.events.map((r) => renderEvent(view, r)),
    flushWebhooks: () => webhooks.flush(),
    close: async () => {
      webhooks.stop();
      gate.releaseHung();
      await listening.close();
      await webhooks.settled();
    },
  };
}
