/** The Zendesk stand-in's /tickets (show_many, show, update with an audit; deleted ones are not found) and /brands (offset pages, or cursor pages with page[size]). */
import type express from 'express';
import { HttpError, csv, isRecord, listOf, send, zendeskErrors } from '../render.js';
import { updateTicket } from '../tickets.js';
import { body, echoRouter, idParam, notFound, query, type ZendeskApi } from '../http.js';
import type { ZendeskTicket } from '../types.js';

export function ticketRoutes({ echoes, store, paging }: ZendeskApi): express.Router {
  const { state } = store;
  const { router, on } = echoRouter(echoes);
  on('get', '/tickets/show_many', (_req, res) => {
    const found = csv(query(res).get('ids'))
      .map((id) => state.tickets.get(Number(id)))
      .filter((t): t is ZendeskTicket => t !== undefined && t.status !== 'deleted');
    send(res, 200, listOf('tickets', found));
  });
  // brands (brands.ts): offset pagination, or cursor pagination when page[size] is given
  on('get', '/brands', (_req, res) => {
    const q = query(res);
    const all = store.brandBook.listed();
    if (q.has('page[size]'))
      return paging.cursorPage(
        res,
        q,
        'brands',
        'brands',
        all,
        (b) => String(b.id),
        (b) => b,
      );
    send(res, 200, listOf('brands', all));
  });
  on('get', '/brands/:id', (req, res) => {
    const brand = state.brands.get(idParam(req));
    if (!brand || brand.is_deleted) throw notFound();
    send(res, 200, { brand });
  });
  on('get', '/tickets/:id', (req, res) => {
    const ticket = state.tickets.get(idParam(req));
    if (!ticket || ticket.status === 'deleted') throw notFound();
    send(res, 200, { ticket });
  });
  on('put', '/tickets/:id', (req, res) => {
    const ticket = state.tickets.get(idParam(req));
    if (!ticket || ticket.status === 'deleted') throw notFound();
    const input = body(req).ticket;
    if (!isRecord(input)) throw new HttpError(400, zendeskErrors.invalidValue('ticket is required'));
    updateTicket(store.now, ticket, input);
    send(res, 200, {
      ticket,
      audit: {
        id: ++store.sequences.audit,
        ticket_id: ticket.id,
        created_at: ticket.updated_at,
        author_id: 1,
        events: [],
      },
    });
  });
  return router;
}
