/** The Zendesk stand-in's POST /custom_objects/:key/jobs: bulk create, update, upsert by external id and delete of records, answered with a job whose failed items carry the record's error. */
import type express from 'express';
import { BULK_LIMIT, HttpError, isRecord, jobOf, send } from '../render.js';
import { recordInvalid, recordNotFound, type ZendeskCustomObjects } from '../custom-objects.js';
import { body, echoRouter, param, type ZendeskApi } from '../http.js';
import type { ZendeskJobResult } from '../types.js';

const KNOWN_ACTIONS = ['create', 'update', 'create_or_update_by_external_id', 'delete', 'delete_by_external_id'];

/** One item of the job, done; throws HttpError for the item's failure. */
function runItem(
  objects: ZendeskCustomObjects,
  key: string,
  action: unknown,
  item: unknown,
  index: number,
): ZendeskJobResult {
  const r = isRecord(item) ? item : {};
  switch (action) {
    case 'create': {
      const { record } = objects.writeRecord(key, undefined, r);
      return {
        id: record.id,
        index,
        action: 'create',
        status: 'Created',
        success: true,
        ...(record.external_id && { external_id: record.external_id }),
      };
    }
    case 'update': {
      const existing = typeof r.id === 'string' ? objects.recordBy(key, { id: r.id }) : undefined;
      if (!existing) throw recordNotFound();
      objects.writeRecord(key, existing, r);
      return { id: existing.id, index, action: 'update', status: 'Updated', success: true };
    }
    case 'create_or_update_by_external_id': {
      const externalId = typeof r.external_id === 'string' && r.external_id ? r.external_id : undefined;
      if (!externalId) throw recordInvalid('external_id is required');
      const { record, created } = objects.writeRecord(key, objects.recordBy(key, { externalId }), r, externalId);
      return {
        id: record.id,
        index,
        action: created ? 'create' : 'update',
        status: created ? 'Created' : 'Updated',
        success: true,
        external_id: externalId,
      };
    }
    case 'delete':
    case 'delete_by_external_id': {
      const ref = typeof item === 'string' ? item : String(r.id ?? r.external_id ?? '');
      const existing =
        action === 'delete' ? objects.recordBy(key, { id: ref }) : objects.recordBy(key, { externalId: ref });
      if (!existing) throw recordNotFound();
      objects.deleteRecord(key, existing);
      return { id: existing.id, index, action: 'delete', status: 'Deleted', success: true };
    }
    default:
      throw recordInvalid(`job.action ${String(action)} is not supported`);
  }
}

/** A failed item: the record error's code and detail (anything else reads as RecordInvalid). */
function failedRecord(err: unknown, item: unknown, action: unknown, index: number): ZendeskJobResult {
  const r = isRecord(item) ? item : {};
  const first =
    err instanceof HttpError && isRecord(err.body) && Array.isArray(err.body.errors) && isRecord(err.body.errors[0])
      ? err.body.errors[0]
      : undefined;
  return {
    index,
    action: String(action),
    status: 'Failed',
    success: false,
    error: first ? String(first.code) : 'RecordInvalid',
    details: first ? String(first.detail) : String(err),
    ...(typeof r.external_id === 'string' && { external_id: r.external_id }),
  };
}

export function recordJobRoutes({ echoes, objects, jobs }: ZendeskApi): express.Router {
  const { router, on } = echoRouter(echoes);
  on('post', '/custom_objects/:key/jobs', (req, res) => {
    const key = param(req, 'key');
    objects.objectOr404(key);
    const job = body(req).job;
    const action = isRecord(job) ? job.action : undefined;
    const items = isRecord(job) ? job.items : undefined;
    if (!Array.isArray(items) || items.length === 0) throw recordInvalid('job.items must be a non-empty array');
    if (items.length > BULK_LIMIT) throw recordInvalid(`job.items: at most ${BULK_LIMIT} per job`);
    if (typeof action !== 'string' || !KNOWN_ACTIONS.includes(action))
      throw recordInvalid(`job.action must be one of ${KNOWN_ACTIONS.join(', ')}`);
    const one = (item: unknown, index: number): ZendeskJobResult => {
      try {
        return runItem(objects, key, action, item, index);
      } catch (err) {
        return failedRecord(err, item, action, index);
      }
    };
    send(res, 200, jobOf(jobs.start('Custom Object Record Bulk Job', items.map(one))));
  });
  return router;
}
