/** The Stripe stand-in's /v1/invoices (list by customer, subscription, status, collection method; retrieve) and the hosted invoice pages and PDFs a customer opens from the portal. */
import express from 'express';
import { escapeHtml } from '../../../../sync/escape-html.js';
import { invoiceTotal, type StripeInvoiceRow } from '../state.js';
import { minimalPdf, renderInvoice } from '../render.js';
import { stringParam } from '../params.js';
import { param, query, retrieve, type StripeApi } from '../http.js';
import { list } from '../paging.js';
import type { StripeStore } from '../store.js';

export function invoiceRoutes({ store }: StripeApi): express.Router {
  const api = express.Router();
  const { state, view } = store;
  api.get('/invoices', (req, res) => {
    const q = query(req);
    const customer = stringParam(q['customer'], 'customer');
    const subscription = stringParam(q['subscription'], 'subscription');
    const status = stringParam(q['status'], 'status');
    const collectionMethod = stringParam(q['collection_method'], 'collection_method');
    const owner =
      customer ?? (subscription === undefined ? undefined : state.subscriptions.get(subscription)?.customer);
    list(view, req, res, {
      url: '/v1/invoices',
      allowed: ['customer', 'subscription', 'status', 'created', 'collection_method', 'due_date', 'customer_account'],
      collection: state.invoices,
      kind: 'invoice',
      rows:
        owner === undefined
          ? subscription === undefined
            ? state.order.invoices
            : []
          : store.ownedBy(owner, 'invoices'),
      keep: (i) =>
        (customer === undefined || i.customer === customer) &&
        (subscription === undefined || i.subscription === subscription) &&
        (status === undefined || i.status === status) &&
        (collectionMethod === undefined || i.collectionMethod === collectionMethod),
      draw: (r) => renderInvoice(view, r),
    });
  });
  api.get('/invoices/:id', (req, res) =>
    retrieve(view, req, res, renderInvoice(view, store.invoiceOr(param(req, 'id')))),
  );
  return api;
}

/** `/i/:account/:token` (the hosted page) and `/invoice/:account/:token/pdf`, outside /v1 and its auth. */
export function hostedInvoiceRoutes(store: StripeStore): express.Router {
  const app = express.Router();
  const hostedInvoice = (req: express.Request): StripeInvoiceRow | undefined => {
    const token = param(req, 'token');
    const row = store.state.invoices.get(token.replace(/^(test|live)_/, ''));
    return row && row.status !== 'draft' && param(req, 'account') === store.accountId ? row : undefined;
  };
  app.get('/i/:account/:token', (req, res) => {
    const row = hostedInvoice(req);
    if (!row) return void res.status(404).type('text/plain').send('Invoice not found');
    const amount = (invoiceTotal(row) / 100).toFixed(2);
    res
      .type('text/html')
      .send(
        `<!doctype html><meta charset="utf-8"><title>Invoice ${escapeHtml(row.number ?? row.id)}</title>` +
          `<h1>Invoice ${escapeHtml(row.number ?? row.id)}</h1><p>Status: ${row.status}</p><p>Amount: ${amount} ${row.currency.toUpperCase()}</p>`,
      );
  });
  app.get('/invoice/:account/:token/pdf', (req, res) => {
    const row = hostedInvoice(req);
    if (!row) return void res.status(404).type('text/plain').send('Invoice not found');
    res
      .type('application/pdf')
      .send(
        minimalPdf(
          `Invoice ${row.number ?? row.id}: ${(invoiceTotal(row) / 100).toFixed(2)} ${row.currency.toUpperCase()}, ${row.status}`,
        ),
      );
  });
  return app;
}
