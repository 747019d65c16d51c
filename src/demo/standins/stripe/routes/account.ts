/** The Stripe stand-in's /v1/account: the account of the key, which is how a deployment learns its own account id. */
import express from 'express';
import { renderAccount } from '../render.js';
import { rejectUnknown } from '../params.js';
import { query, send, type StripeApi } from '../http.js';

export function accountRoutes({ store }: StripeApi): express.Router {
  const api = express.Router();
  api.get('/account', (req, res) => {
    rejectUnknown(query(req), ['expand']);
    send(res, 200, renderAccount(store.accountId, store.accountCreated));
  });
  return api;
}
