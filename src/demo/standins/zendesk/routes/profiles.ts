/** The Zendesk stand-in's user profiles: POST and GET /user_profiles/events, profiles by identifier, id or user, and DELETE (which takes the profile's events with it). */
import type express from 'express';
import { HttpError, presentEvent, presentProfile, send, zendeskErrors } from '../render.js';
import { fileProfileEvent, parseIdentifierQuery, profileMatching, profileNotFound } from '../profiles.js';
import { body, echoRouter, idParam, notFound, param, query, type ZendeskApi } from '../http.js';

export function profileRoutes({ echoes, store, writes }: ZendeskApi): express.Router {
  const { state } = store;
  const { router, on } = echoRouter(echoes);
  on('post', '/user_profiles/events', (req, res) => {
    fileProfileEvent(store, writes, body(req));
    send(res, 202, { status: 'received' });
  });
  on('get', '/user_profiles/events', (_req, res) => {
    const parsed = parseIdentifierQuery(query(res).get('identifier') ?? '');
    if (!parsed)
      throw new HttpError(
        400,
        zendeskErrors.errorsList(400, 'InvalidRequest', 'identifier is required, e.g. email:jane@example.com'),
      );
    const wanted = parsed.idType === 'email' ? parsed.value.toLowerCase() : parsed.value;
    const events = state.profileEvents.filter(
      (e) =>
        (parsed.source === undefined || e.profile.source === parsed.source) &&
        (parsed.type === undefined || e.profile.type === parsed.type) &&
        e.profile.identifiers.some(
          (i) => i.type === parsed.idType && (i.type === 'email' ? i.value.toLowerCase() : i.value) === wanted,
        ),
    );
    send(res, 200, {
      data: events.map(presentEvent),
      meta: { has_more: false, after_cursor: null, before_cursor: null },
      links: { next: null, prev: null },
    });
  });
  // profiles: by identifier query (all four parts), by id, by user; DELETE takes the profile's events with it
  on('get', '/user_profiles', (_req, res) => {
    const parsed = parseIdentifierQuery(query(res).get('identifier') ?? '');
    if (!parsed || parsed.source === undefined || parsed.type === undefined || !parsed.idType || !parsed.value) {
      throw new HttpError(
        400,
        zendeskErrors.errorsList(
          400,
          'InvalidRequest',
          'identifier must be <source>:<type>:<identifier_type>:<identifier_value>',
        ),
      );
    }
    const found = profileMatching(store, parsed.source, parsed.type, [{ type: parsed.idType, value: parsed.value }]);
    if (!found) throw profileNotFound();
    send(res, 200, { profile: presentProfile(found) });
  });
  on('get', '/user_profiles/:id', (req, res) => {
    const found = state.profiles.get(param(req, 'id'));
    if (!found) throw profileNotFound();
    send(res, 200, { profile: presentProfile(found) });
  });
  on('delete', '/user_profiles/:id', (req, res) => {
    const id = param(req, 'id');
    if (!state.profiles.delete(id)) throw profileNotFound();
    state.profileEvents = state.profileEvents.filter((e) => e.profile_id !== id);
    send(res, 204, undefined);
  });
  on('get', '/users/:id/profiles', (req, res) => {
    const id = idParam(req);
    if (!state.users.has(id)) throw notFound();
    send(res, 200, { profiles: [...state.profiles.values()].filter((p) => p.user_id === id).map(presentProfile) });
  });
  return router;
}
