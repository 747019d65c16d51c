/** The Zendesk stand-in's /users: show_many, create_or_update (one, or many as a job), update_many, a user's profile events, the cursor-paged list, one user, PUT and POST. */
import type express from 'express';
import { HttpError, csv, isRecord, jobOf, listOf, positiveInt, presentEvent, send, zendeskErrors } from '../render.js';
import { bulkItems, failedItem } from '../jobs.js';
import { body, echoRouter, idParam, notFound, query, type ZendeskApi } from '../http.js';
import { updateMany, writeOne } from './writes.js';
import type { ZendeskJobResult, ZendeskUser } from '../types.js';

export function userRoutes(api: ZendeskApi): express.Router {
  const { store, writes, jobs, paging } = api;
  const { state, presentUser } = store;
  const { router, on } = echoRouter(api.echoes);
  on('get', '/users/show_many', (_req, res) => {
    const q = query(res);
    const found = [
      ...csv(q.get('ids')).map((id) => state.users.get(Number(id))),
      ...csv(q.get('external_ids')).map((e) => store.userByExternalId(e)),
    ].filter((u): u is ZendeskUser => u !== undefined);
    send(res, 200, listOf('users', found.map(presentUser)));
  });
  on('post', '/users/create_or_update', (req, res) => {
    const input = body(req).user;
    if (!isRecord(input)) throw new HttpError(400, zendeskErrors.invalidValue('user is required'));
    const existing = store.matchUser(input);
    if (positiveInt(input.id) !== undefined && !existing) throw notFound();
    const { id: _ignored, ...attrs } = input;
    const { user, created } = writes.user(existing, attrs);
    send(res, created ? 201 : 200, { user: presentUser(user) });
  });
  on('post', '/users/create_or_update_many', (req, res) => {
    const items = bulkItems(body(req).users, 'users');
    const results = items.map((item, index): ZendeskJobResult => {
      const existing = store.matchUser(item);
      const echoKeys = {
        ...(typeof item.email === 'string' && { email: item.email }),
        ...(typeof item.external_id === 'string' && { external_id: item.external_id }),
      };
      try {
        const { id: _ignored, ...attrs } = item;
        const { user, created } = writes.user(existing, attrs);
        return created
          ? { id: user.id, index, action: 'create', status: 'Created', success: true, ...echoKeys }
          : { id: user.id, index, action: 'update', status: 'Updated', success: true, ...echoKeys };
      } catch (err) {
        return {
          ...failedItem(index, existing ? 'update' : 'create', err, existing?.id),
          ...echoKeys,
          error: existing ? 'UserUpdateError' : 'UserCreateError',
        };
      }
    });
    send(res, 200, jobOf(jobs.start('Bulk Create Or Update Users', results)));
  });
  on(
    'put',
    '/users/update_many',
    updateMany(api, {
      plural: 'users',
      singular: 'user',
      byId: (id) => state.users.get(id),
      byExternalId: store.userByExternalId,
      write: writes.user,
      title: 'Bulk Update Users',
    }),
  );
  on('get', '/users/:id/events', (req, res) => {
    const id = idParam(req);
    if (!state.users.has(id)) throw notFound();
    const events = state.profileEvents.filter((e) => e.user_id === id).map(presentEvent);
    send(res, 200, {
      data: events,
      meta: { has_more: false, after_cursor: null, before_cursor: null },
      links: { next: null, prev: null },
    });
  });
  on('get', '/users', (_req, res) =>
    paging.cursorPage(res, query(res), 'users', 'users', [...state.users.values()], (u) => String(u.id), presentUser),
  );
  on('get', '/users/:id', (req, res) => {
    const user = state.users.get(idParam(req));
    if (!user) throw notFound();
    send(res, 200, { user: presentUser(user) });
  });
  writeOne<ZendeskUser>(
    on,
    'user',
    (e, a) => writes.user(e, a).user,
    presentUser,
    (id) => state.users.get(id),
  );
  return router;
}
