/** The Zendesk stand-in's /custom_objects: objects, their fields, and their records (filtered list, show, create, upsert and delete by external id or id), end users seeing only what the access rules let them read. */
import type express from 'express';
import { closedPolicy, endUserMayRead } from '../access.js';
import { HttpError, csv, send, zendeskErrors, type Details } from '../render.js';
import { recordInvalid, recordNotFound } from '../custom-objects.js';
import { body, echoRouter, param, query, type On, type ZendeskApi } from '../http.js';
import type { ZendeskCustomObjectRecord, ZendeskUser } from '../types.js';

function objectAndFieldRoutes(on: On, { store, objects }: ZendeskApi): void {
  const { state } = store;
  on('get', '/custom_objects', (_req, res) => send(res, 200, { custom_objects: [...state.customObjects.values()] }));
  on('post', '/custom_objects', (req, res) =>
    send(res, 201, { custom_object: objects.createCustomObject(body(req).custom_object) }),
  );
  on('get', '/custom_objects/:key', (req, res) =>
    send(res, 200, { custom_object: objects.objectOr404(param(req, 'key')) }),
  );
  on('get', '/custom_objects/:key/fields', (req, res) => {
    objects.objectOr404(param(req, 'key'));
    send(res, 200, { custom_object_fields: state.customObjectFields.get(param(req, 'key')) ?? [] });
  });
  on('post', '/custom_objects/:key/fields', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    let defs = state.customObjectFields.get(key);
    if (!defs) state.customObjectFields.set(key, (defs = []));
    try {
      send(res, 201, {
        custom_object_field: store.createField(defs, `custom_objects/${key}/fields`, body(req).custom_object_field),
      });
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 422) throw err;
      const body422 = err.body as { details?: Details };
      const detail = Object.values(body422.details ?? {})
        .flat()
        .map((d) => d.description)
        .join('; ');
      throw recordInvalid(detail || 'Record validation errors');
    }
  });
}

function recordReadRoutes(on: On, { store, objects, paging }: ZendeskApi): void {
  const { state } = store;
  /** Whether the end user of a help center session (none: an agent) may read the record. */
  const readable = (key: string, endUser: ZendeskUser | undefined, r: ZendeskCustomObjectRecord) =>
    !endUser ||
    endUserMayRead(
      objects.accessOf(key).policies.get('end-user') ?? closedPolicy('end-user'),
      objects.accessOf(key).rules,
      state.customObjectFields.get(key) ?? [],
      r.custom_object_fields,
      endUser,
    );
  on('get', '/custom_objects/:key/records', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    const q = query(res);
    // The API filters with filter[external_ids]/filter[ids]; a plain external_id is accepted as a one-item filter.
    const externalIds = new Set([...csv(q.get('filter[external_ids]')), ...csv(q.get('external_id'))]);
    const ids = new Set(csv(q.get('filter[ids]')));
    const endUser = res.locals.endUser as ZendeskUser | undefined;
    const all = [...objects.recordsOf(key).values()].filter(
      (r) =>
        (externalIds.size === 0 || (r.external_id !== null && externalIds.has(r.external_id))) &&
        (ids.size === 0 || ids.has(r.id)) &&
        readable(key, endUser, r),
    );
    paging.cursorPage(
      res,
      q,
      `custom_objects/${key}/records`,
      'custom_object_records',
      all,
      (r) => r.id,
      (r) => r,
    );
  });
  on('get', '/custom_objects/:key/records/:id', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    const record = objects.recordBy(key, { id: param(req, 'id') });
    const endUser = res.locals.endUser as ZendeskUser | undefined;
    const policy = objects.accessOf(key).policies.get('end-user') ?? closedPolicy('end-user');
    // A record the end user may not read is not found, as if it did not exist.
    if (
      !record ||
      (endUser &&
        !endUserMayRead(
          policy,
          objects.accessOf(key).rules,
          state.customObjectFields.get(key) ?? [],
          record.custom_object_fields,
          endUser,
        ))
    )
      throw recordNotFound();
    send(res, 200, { custom_object_record: record });
  });
}

function recordWriteRoutes(on: On, { objects }: ZendeskApi): void {
  on('post', '/custom_objects/:key/records', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    const { record } = objects.writeRecord(key, undefined, body(req).custom_object_record);
    send(res, 201, { custom_object_record: record });
  });
  on('patch', '/custom_objects/:key/records', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    const externalId = query(res).get('external_id');
    if (!externalId)
      throw new HttpError(400, zendeskErrors.errorsList(400, 'InvalidParameter', 'external_id is required'));
    const { record, created } = objects.writeRecord(
      key,
      objects.recordBy(key, { externalId }),
      body(req).custom_object_record,
      externalId,
    );
    send(res, created ? 201 : 200, { custom_object_record: record });
  });
  on('patch', '/custom_objects/:key/records/:id', (req, res) => {
    const key = param(req, 'key');
    const id = param(req, 'id');
    objects.objectOr404(key);
    const existing = objects.recordBy(key, { id });
    if (!existing) throw recordNotFound();
    send(res, 200, {
      custom_object_record: objects.writeRecord(key, existing, body(req).custom_object_record).record,
    });
  });
  on('delete', '/custom_objects/:key/records', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    const externalId = query(res).get('external_id');
    const record = externalId ? objects.recordBy(key, { externalId }) : undefined;
    if (!record) throw recordNotFound();
    objects.deleteRecord(key, record);
    send(res, 204, undefined);
  });
  on('delete', '/custom_objects/:key/records/:id', (req, res) => {
    const key = param(req, 'key');
    const id = param(req, 'id');
    objects.objectOr404(key);
    const record = objects.recordBy(key, { id });
    if (!record) throw recordNotFound();
    objects.deleteRecord(key, record);
    send(res, 204, undefined);
  });
}

export function customObjectRoutes(api: ZendeskApi): express.Router {
  const { router, on } = echoRouter(api.echoes);
  objectAndFieldRoutes(on, api);
  recordReadRoutes(on, api);
  recordWriteRoutes(on, api);
  return router;
}
