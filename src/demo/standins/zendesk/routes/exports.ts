/** The Zendesk stand-in's incremental exports: tickets and users by cursor, users and organizations by time. */
import type express from 'express';
import { echoRouter, query, type ZendeskApi } from '../http.js';

export function exportRoutes({ echoes, store, paging }: ZendeskApi): express.Router {
  const { state, presentUser, presentOrganization } = store;
  const { router, on } = echoRouter(echoes);
  on('get', '/incremental/tickets/cursor', (_req, res) =>
    paging.cursorExport(
      res,
      query(res),
      'incremental/tickets/cursor',
      'tickets',
      state.tickets,
      (t) => t.generated_timestamp,
      (t) => t,
    ),
  );
  on('get', '/incremental/users/cursor', (_req, res) =>
    paging.cursorExport(
      res,
      query(res),
      'incremental/users/cursor',
      'users',
      state.users,
      paging.updatedTs,
      presentUser,
    ),
  );
  on('get', '/incremental/users', (_req, res) =>
    paging.timeExport(res, query(res), 'incremental/users', 'users', state.users, presentUser),
  );
  on('get', '/incremental/organizations', (_req, res) =>
    paging.timeExport(
      res,
      query(res),
      'incremental/organizations',
      'organizations',
      state.organizations,
      presentOrganization,
    ),
  );
  return router;
}
