/** The Salesforce stand-in's sObject rows: create, read (all or some fields), update and delete by id, and read or upsert by an external id field (300 with the candidates when several match). */
import express, { type Response } from 'express';
import { ID_SHAPE, apiError, dmlFailure, noSuchColumn, noSuchExternalIdField, notFound, toId18 } from '../errors.js';
import type { SObjectDef } from '../schema.js';
import { type Values, coerce, matchKey } from '../state.js';
import { type Ctx, bodyObject, lookupFieldOr404, objectOr404, send, sobjectUrl, versionOf } from '../http.js';
import type { SalesforceField, SalesforceRecord } from '../types.js';

function projectRecord(def: SObjectDef, rec: SalesforceRecord, version: string, only?: SalesforceField[]): Values {
  const out: Values = { attributes: { type: def.name, url: sobjectUrl(version, def, rec.Id) } };
  for (const f of only ?? def.fields) out[f.name] = rec[f.name] ?? null;
  return out;
}

export function recordRoutes(ctx: Ctx): express.Router {
  const { state } = ctx;
  const r = express.Router();

  r.post('/sobjects/:sobject', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const result = state.save(def, state.deserialize(def, bodyObject(req)), undefined);
    if ('errors' in result) throw dmlFailure(result.errors);
    ctx.echo(def, [result.id]);
    send(res, 201, { id: result.id, success: true, errors: [] });
  });

  /** A bad id is read as an external id field name, which is what Salesforce's 404 then says. */
  const recordOr404 = (def: SObjectDef, id: string | undefined): SalesforceRecord => {
    if (!ID_SHAPE.test(id ?? '')) throw noSuchExternalIdField(id ?? '');
    const rec = state.table(def).get(toId18(id!));
    if (!rec) throw notFound();
    return rec;
  };

  r.get('/sobjects/:sobject/:id', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const rec = recordOr404(def, req.params['id']);
    const wanted =
      typeof req.query['fields'] === 'string'
        ? req.query['fields']
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : null;
    const only = wanted?.map((name) => {
      const f = def.byName.get(name.toLowerCase());
      if (!f) throw apiError(400, 'INVALID_FIELD', noSuchColumn(name, def.name));
      return f;
    });
    send(res, 200, projectRecord(def, rec, versionOf(res), only));
  });

  r.patch('/sobjects/:sobject/:id', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const rec = recordOr404(def, req.params['id']);
    const result = state.save(def, state.deserialize(def, bodyObject(req)), rec);
    if ('errors' in result) throw dmlFailure(result.errors);
    ctx.echo(def, [result.id]);
    res.status(204).end();
  });

  r.delete('/sobjects/:sobject/:id', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    state.remove(def, recordOr404(def, req.params['id']).Id);
    res.status(204).end();
  });

  const matchOrAnswer300 = (
    res: Response,
    def: SObjectDef,
    field: SalesforceField,
    value: string,
  ): SalesforceRecord | null | undefined => {
    const ids = state.match(def, field, value);
    if (ids.length > 1) {
      send(
        res,
        300,
        ids.map((id) => sobjectUrl(versionOf(res), def, id)),
      );
      return undefined;
    }
    return ids[0] ? state.table(def).get(ids[0])! : null;
  };

  r.get('/sobjects/:sobject/:field/:value', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const field = lookupFieldOr404(def, req.params['field']);
    const rec = matchOrAnswer300(res, def, field, req.params['value'] as string);
    if (rec === null) throw notFound();
    if (rec) send(res, 200, projectRecord(def, rec, versionOf(res)));
  });

  r.patch('/sobjects/:sobject/:field/:value', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const field = lookupFieldOr404(def, req.params['field']);
    const value = req.params['value'] as string;
    const values = state.deserialize(def, bodyObject(req));
    if (field.name in values && matchKey(field, values[field.name]) !== matchKey(field, value)) {
      throw apiError(
        400,
        'INVALID_FIELD',
        `${field.name}: the value in the request body does not match the external id in the URL`,
        [field.name],
      );
    }
    const existing = matchOrAnswer300(res, def, field, value);
    if (existing === undefined) return;
    if (existing === null && (field.type === 'id' || req.query['updateOnly'] === 'true')) throw notFound();
    if (existing === null) values[field.name] = coerce(field, value);
    const result = state.save(def, values, existing ?? undefined);
    if ('errors' in result) throw dmlFailure(result.errors);
    ctx.echo(def, [result.id]);
    // Since API 46.0 an update answers 200 with a body; before, 204.
    if (!result.created && Number.parseFloat(versionOf(res)) < 46) return void res.status(204).end();
    send(res, result.created ? 201 : 200, { id: result.id, success: true, errors: [], created: result.created });
  });
  return r;
}
