/** The Zendesk stand-in's /organization_fields and /user_fields: list, create, show. */
import type express from 'express';
import { listOf, positiveInt, send } from '../render.js';
import { body, echoRouter, notFound, param, type ZendeskApi } from '../http.js';

export function fieldRoutes({ echoes, store }: ZendeskApi): express.Router {
  const { router, on } = echoRouter(echoes);
  for (const [path, single, defs] of [
    ['organization_fields', 'organization_field', store.state.organizationFields],
    ['user_fields', 'user_field', store.state.userFields],
  ] as const) {
    on('get', `/${path}`, (_req, res) => send(res, 200, listOf(path, defs)));
    on('post', `/${path}`, (req, res) =>
      send(res, 201, { [single]: store.createField(defs, path, body(req)[single]) }),
    );
    on('get', `/${path}/:id`, (req, res) => {
      const field = defs.find((d) => d.id === positiveInt(param(req, 'id')));
      if (!field) throw notFound();
      send(res, 200, { [single]: field });
    });
  }
  return router;
}
