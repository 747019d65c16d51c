/** The Stripe stand-in's /v1/subscriptions: list (by customer, price, status, collection method) and retrieve. */
import express from 'express';
import type { StripeSubscriptionRow } from '../state.js';
import { renderSubscription } from '../render.js';
import { HttpError, stringParam, stripeErrors } from '../params.js';
import { param, query, retrieve, type StripeApi } from '../http.js';
import { list } from '../paging.js';

const SUBSCRIPTION_STATUSES = [
  'active',
  'all',
  'canceled',
  'ended',
  'incomplete',
  'incomplete_expired',
  'past_due',
  'paused',
  'trialing',
  'unpaid',
];

/** `status` of a subscription list: none hides canceled ones, `ended` is canceled or incomplete_expired. */
function statusFilter(status: string | undefined): (s: StripeSubscriptionRow) => boolean {
  if (status !== undefined && !SUBSCRIPTION_STATUSES.includes(status)) {
    throw new HttpError(
      400,
      stripeErrors.invalid(`Invalid status: must be one of ${SUBSCRIPTION_STATUSES.join(', ')}`, 'status'),
    );
  }
  return (s) =>
    status === 'all' ||
    (status === undefined
      ? s.status !== 'canceled'
      : status === 'ended'
        ? s.status === 'canceled' || s.status === 'incomplete_expired'
        : s.status === status);
}

export function subscriptionRoutes({ store }: StripeApi): express.Router {
  const api = express.Router();
  const { state, view } = store;
  api.get('/subscriptions', (req, res) => {
    const q = query(req);
    const customer = stringParam(q['customer'], 'customer');
    const price = stringParam(q['price'], 'price');
    const collectionMethod = stringParam(q['collection_method'], 'collection_method');
    const statusOk = statusFilter(stringParam(q['status'], 'status'));
    list(view, req, res, {
      url: '/v1/subscriptions',
      allowed: [
        'customer',
        'price',
        'status',
        'created',
        'collection_method',
        'current_period_end',
        'current_period_start',
        'test_clock',
        'automatic_tax',
      ],
      collection: state.subscriptions,
      kind: 'subscription',
      rows: customer === undefined ? state.order.subscriptions : store.ownedBy(customer, 'subscriptions'),
      keep: (s) =>
        (customer === undefined || s.customer === customer) &&
        statusOk(s) &&
        (price === undefined || s.items.some((i) => i.price.id === price)) &&
        (collectionMethod === undefined || s.collectionMethod === collectionMethod),
      draw: (r) => renderSubscription(view, r),
    });
  });
  api.get('/subscriptions/:id', (req, res) =>
    retrieve(view, req, res, renderSubscription(view, store.subscriptionOr(param(req, 'id')))),
  );
  return api;
}
