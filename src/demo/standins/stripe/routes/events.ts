/** The Stripe stand-in's /v1/events: events kept 30 days, listed by type (wildcards), created and delivery_success, or retrieved. */
import express from 'express';
import type { StripeEventRow } from '../state.js';
import { renderEvent } from '../render.js';
import { HttpError, arrayParam, stringParam, stripeErrors } from '../params.js';
import { param, query, retrieve, type StripeApi } from '../http.js';
import { list } from '../paging.js';
import { SECONDS_PER_DAY } from '../store.js';
import { eventTypeMatches } from '../webhooks.js';

const EVENT_RETENTION_SECONDS = 30 * SECONDS_PER_DAY;

export function eventRoutes({ store }: StripeApi): express.Router {
  const api = express.Router();
  const { state, view } = store;
  const retained = (e: StripeEventRow) => e.created > store.nowSeconds() - EVENT_RETENTION_SECONDS;
  api.get('/events', (req, res) => {
    const q = query(req);
    const type = stringParam(q['type'], 'type');
    const types = arrayParam(q['types'], 'types', 20);
    if (type !== undefined && types.length > 0)
      throw new HttpError(400, stripeErrors.invalid('You may only specify one of these parameters: type, types.'));
    const delivery = stringParam(q['delivery_success'], 'delivery_success');
    if (delivery !== undefined && delivery !== 'true' && delivery !== 'false')
      throw new HttpError(400, stripeErrors.invalid('Invalid boolean: ' + delivery, 'delivery_success'));
    const patterns = type !== undefined ? [type] : types;
    list(view, req, res, {
      url: '/v1/events',
      allowed: ['type', 'types', 'created', 'delivery_success'],
      collection: state.events,
      kind: 'event',
      rows: state.order.events,
      keep: (e) =>
        retained(e) &&
        (patterns.length === 0 || eventTypeMatches(patterns, e.type)) &&
        (delivery === undefined || (delivery === 'true') === (e.deliverySuccess === true)),
      draw: (r) => renderEvent(view, r),
    });
  });
  api.get('/events/:id', (req, res) => {
    const row = state.events.get(param(req, 'id'));
    if (!row || !retained(row)) throw new HttpError(404, stripeErrors.missing('event', param(req, 'id')));
    retrieve(view, req, res, renderEvent(view, row));
  });
  return api;
}
