/** The Stripe stand-in's /v1/payment_methods and /v1/charges: list (by customer) and retrieve. */
import express from 'express';
import { renderCharge, renderPaymentMethod } from '../render.js';
import { stringParam } from '../params.js';
import { param, query, retrieve, type StripeApi } from '../http.js';
import { list } from '../paging.js';

export function paymentRoutes({ store }: StripeApi): express.Router {
  const api = express.Router();
  const { state, view } = store;
  api.get('/payment_methods', (req, res) => {
    const q = query(req);
    const customer = stringParam(q['customer'], 'customer');
    const type = stringParam(q['type'], 'type');
    list(view, req, res, {
      url: '/v1/payment_methods',
      allowed: ['customer', 'type', 'customer_account', 'allow_redisplay'],
      collection: state.paymentMethods,
      kind: 'payment_method',
      rows: customer === undefined ? state.order.paymentMethods : store.ownedBy(customer, 'paymentMethods'),
      keep: (pm) => (customer === undefined || pm.customer === customer) && (type === undefined || type === 'card'),
      draw: (r) => renderPaymentMethod(view, r),
    });
  });
  api.get('/payment_methods/:id', (req, res) =>
    retrieve(view, req, res, renderPaymentMethod(view, store.paymentMethodOr(param(req, 'id')))),
  );

  api.get('/charges', (req, res) => {
    const customer = stringParam(query(req)['customer'], 'customer');
    list(view, req, res, {
      url: '/v1/charges',
      allowed: ['customer', 'created', 'payment_intent', 'transfer_group'],
      collection: state.charges,
      kind: 'charge',
      rows: customer === undefined ? state.order.charges : store.ownedBy(customer, 'charges'),
      keep: (ch) => customer === undefined || ch.customer === customer,
      draw: (r) => renderCharge(view, r),
    });
  });
  api.get('/charges/:id', (req, res) => retrieve(view, req, res, renderCharge(view, store.chargeOr(param(req, 'id')))));
  return api;
}
