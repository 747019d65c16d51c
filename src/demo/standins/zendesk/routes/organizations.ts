/** The Zendesk stand-in's /organizations: show_many, create_or_update, create_many and update_many (jobs), the cursor-paged list, one organization with its users and tickets, PUT and POST. */
import type express from 'express';
import { HttpError, csv, isRecord, jobOf, listOf, positiveInt, send, zendeskErrors } from '../render.js';
import { bulkItems, failedItem } from '../jobs.js';
import { body, echoRouter, idParam, notFound, query, type ZendeskApi } from '../http.js';
import { updateMany, writeOne } from './writes.js';
import type { ZendeskJobResult, ZendeskOrganization } from '../types.js';

export function organizationRoutes(api: ZendeskApi): express.Router {
  const { store, writes, jobs, paging } = api;
  const { state, presentOrganization, presentUser } = store;
  const { router, on } = echoRouter(api.echoes);
  on('get', '/organizations/show_many', (_req, res) => {
    const ids = csv(query(res).get('ids')).map(Number);
    const externalIds = csv(query(res).get('external_ids'));
    const found = [
      ...ids.map((id) => state.organizations.get(id)),
      ...externalIds.map((e) => store.organizationByExternalId(e)),
    ].filter((o): o is ZendeskOrganization => o !== undefined);
    send(res, 200, listOf('organizations', found.map(presentOrganization)));
  });
  on('post', '/organizations/create_or_update', (req, res) => {
    const input = body(req).organization;
    if (!isRecord(input)) throw new HttpError(400, zendeskErrors.invalidValue('organization is required'));
    const id = positiveInt(input.id);
    const existing =
      id !== undefined
        ? state.organizations.get(id)
        : typeof input.external_id === 'string' && input.external_id
          ? store.organizationByExternalId(input.external_id)
          : undefined;
    if (id !== undefined && !existing) throw notFound();
    const { org, created } = writes.organization(existing, input);
    send(res, created ? 201 : 200, { organization: presentOrganization(org) });
  });
  on('post', '/organizations/create_many', (req, res) => {
    const items = bulkItems(body(req).organizations, 'organizations');
    const results = items.map((item, index): ZendeskJobResult => {
      try {
        const { id: _ignored, ...attrs } = item;
        const { org } = writes.organization(undefined, attrs);
        return { id: org.id, index, action: 'create', status: 'Created', success: true };
      } catch (err) {
        return failedItem(index, 'create', err);
      }
    });
    send(res, 200, jobOf(jobs.start('Bulk Create Organizations', results)));
  });
  on(
    'put',
    '/organizations/update_many',
    updateMany(api, {
      plural: 'organizations',
      singular: 'organization',
      byId: (id) => state.organizations.get(id),
      byExternalId: store.organizationByExternalId,
      write: writes.organization,
      title: 'Bulk Update Organizations',
    }),
  );
  on('get', '/organizations', (_req, res) =>
    paging.cursorPage(
      res,
      query(res),
      'organizations',
      'organizations',
      [...state.organizations.values()],
      (o) => String(o.id),
      presentOrganization,
    ),
  );
  on('get', '/organizations/:id', (req, res) => {
    const org = state.organizations.get(idParam(req));
    if (!org) throw notFound();
    send(res, 200, { organization: presentOrganization(org) });
  });
  // An organization's users and tickets (cursor-paged like other lists); 404 for an unknown organization.
  on('get', '/organizations/:id/users', (req, res) => {
    const id = idParam(req);
    if (!state.organizations.has(id)) throw notFound();
    const users = [...state.users.values()].filter((u) => u.organization_id === id);
    paging.cursorPage(res, query(res), `organizations/${id}/users`, 'users', users, (u) => String(u.id), presentUser);
  });
  on('get', '/organizations/:id/tickets', (req, res) => {
    const id = idParam(req);
    if (!state.organizations.has(id)) throw notFound();
    const tickets = [...state.tickets.values()].filter((t) => t.organization_id === id);
    paging.cursorPage(
      res,
      query(res),
      `organizations/${id}/tickets`,
      'tickets',
      tickets,
      (t) => String(t.id),
      (t) => t,
    );
  });
  writeOne<ZendeskOrganization>(
    on,
    'organization',
    (e, a) => writes.organization(e, a).org,
    presentOrganization,
    (id) => state.organizations.get(id),
  );
  return router;
}
