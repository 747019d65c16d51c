/** The Stripe stand-in's /v1/customers: list (by email), retrieve (deleted ones too), create, update, delete, and a customer's payment methods. */
import express from 'express';
import { renderCustomer, renderPaymentMethod, deletedCustomer } from '../render.js';
import { HttpError, integerParam, isRecord, rejectUnknown, stringParam, stripeErrors } from '../params.js';
import { form, param, query, retrieve, type Params, type StripeApi } from '../http.js';
import { list } from '../paging.js';
import type { StripeCustomerInput } from '../types.js';

function customerInput(p: Params): Omit<StripeCustomerInput, 'id' | 'created'> {
  rejectUnknown(p, ['email', 'name', 'description', 'phone', 'balance', 'metadata', 'expand']);
  const metadata = p['metadata'];
  if (metadata !== undefined && metadata !== '' && !isRecord(metadata))
    throw new HttpError(400, stripeErrors.invalid('Invalid hash', 'metadata'));
  return {
    ...(p['email'] !== undefined && { email: stringParam(p['email'], 'email') || null }),
    ...(p['name'] !== undefined && { name: stringParam(p['name'], 'name') || null }),
    ...(p['description'] !== undefined && { description: stringParam(p['description'], 'description') || null }),
    ...(p['phone'] !== undefined && { phone: stringParam(p['phone'], 'phone') || null }),
    ...(p['balance'] !== undefined && { balance: integerParam(p['balance'], 'balance') }),
    ...(isRecord(metadata) && {
      metadata: Object.fromEntries(
        Object.entries(metadata).map(([k, v]) => [k, stringParam(v, `metadata[${k}]`) ?? '']),
      ),
    }),
  };
}

export function customerRoutes({ store, scenarios, writes }: StripeApi): express.Router {
  const api = express.Router();
  const { state, view } = store;
  api.get('/customers', (req, res) => {
    const email = stringParam(query(req)['email'], 'email');
    list(view, req, res, {
      url: '/v1/customers',
      allowed: ['created', 'email', 'test_clock'],
      collection: state.customers,
      kind: 'customer',
      rows: state.order.customers,
      keep: (c) => !c.deleted && (email === undefined || c.email === email),
      draw: (r) => renderCustomer(view, r),
    });
  });
  api.get('/customers/:id', (req, res) => {
    const row = store.customerOr(param(req, 'id'));
    retrieve(view, req, res, row.deleted ? deletedCustomer(row.id) : renderCustomer(view, row));
  });
  api.post('/customers', (req, res) =>
    writes.run(req, res, () => {
      const input = customerInput(form(req));
      return scenarios.createCustomer(input);
    }),
  );
  api.post('/customers/:id', (req, res) =>
    writes.run(req, res, () => scenarios.updateCustomer(param(req, 'id'), customerInput(form(req)))),
  );
  api.delete('/customers/:id', (req, res) => writes.run(req, res, () => scenarios.deleteCustomer(param(req, 'id'))));
  api.get('/customers/:id/payment_methods', (req, res) => {
    const customer = store.liveCustomer(param(req, 'id'));
    const type = stringParam(query(req)['type'], 'type');
    list(view, req, res, {
      url: `/v1/customers/${customer.id}/payment_methods`,
      allowed: ['type', 'allow_redisplay'],
      collection: state.paymentMethods,
      kind: 'payment_method',
      rows: store.ownedBy(customer.id, 'paymentMethods'),
      keep: (pm) => pm.customer === customer.id && (type === undefined || type === 'card'),
      draw: (r) => renderPaymentMethod(view, r),
    });
  });
  return api;
}
