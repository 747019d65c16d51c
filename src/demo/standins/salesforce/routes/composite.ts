/** The Salesforce stand-in's sObject collections (composite/sobjects): create, update, upsert by external id and delete up to 200 records, each with its own result, all rolled back on one failure with allOrNone. */
import express, { type Request } from 'express';
import { type DmlError, ID_SHAPE, apiError, dml, toId18 } from '../errors.js';
import type { SObjectDef } from '../schema.js';
import { type SaveResult, type Undo, type Values, matchKey } from '../state.js';
import { type Ctx, MAX_COLLECTION, bodyObject, lookupFieldOr404, objectOr404, send } from '../http.js';

type Item = { def: SObjectDef; run: (undo: Undo) => SaveResult | { errors: DmlError[] } };

const tooMany = () =>
  apiError(
    400,
    'EXCEEDED_ID_LIMIT',
    `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`,
  );
const rolledBack = () =>
  dml(
    'ALL_OR_NONE_OPERATION_ROLLED_BACK',
    'Record rolled back because not all records were valid and the request was using AllOrNone header',
  );

function collectionBody(req: Request): { allOrNone: boolean; records: Values[] } {
  const body = bodyObject(req);
  const records = body['records'];
  if (!Array.isArray(records) || records.some((r) => typeof r !== 'object' || r === null || Array.isArray(r))) {
    throw apiError(
      400,
      'JSON_PARSER_ERROR',
      'Cannot deserialize instance of list of sObjects or request may be missing a required field',
    );
  }
  if (records.length > MAX_COLLECTION) throw tooMany();
  return { allOrNone: body['allOrNone'] === true, records: records as Values[] };
}

function recordType(ctx: Ctx, record: Values): SObjectDef {
  const attributes = record['attributes'];
  const type = typeof attributes === 'object' && attributes !== null ? (attributes as Values)['type'] : undefined;
  if (typeof type !== 'string' || type === '') throw apiError(400, 'INVALID_TYPE', 'Must send a concrete entity type.');
  const def = ctx.state.objectOrNull(type);
  if (!def) throw apiError(400, 'INVALID_TYPE', `sObject type '${type}' is not supported.`);
  return def;
}

/** Runs one collections request in order; with allOrNone, one failure rolls everything back. */
function runCollection(ctx: Ctx, items: Item[], allOrNone: boolean, withCreated: boolean): unknown[] {
  const undo: Undo = [];
  const outcomes = items.map((item) => item.run(undo));
  const failed = outcomes.some((o) => 'errors' in o);
  if (allOrNone && failed) {
    ctx.state.rollback(undo);
    const rolled = rolledBack();
    return outcomes.map((o) => ({ success: false, errors: 'errors' in o ? o.errors : [rolled] }));
  }
  const written = new Map<SObjectDef, string[]>();
  outcomes.forEach((o, index) => {
    if ('errors' in o) return;
    const def = items[index]!.def;
    written.set(def, [...(written.get(def) ?? []), o.id]);
  });
  for (const [def, ids] of written) ctx.echo(def, ids);
  return outcomes.map((o) =>
    'errors' in o
      ? { success: false, errors: o.errors }
      : { id: o.id, success: true, errors: [], ...(withCreated ? { created: o.created } : {}) },
  );
}

/** PATCH composite/sobjects: each record names its Id, of the type its attributes say. */
function updateItem(ctx: Ctx, record: Values): Item {
  const { state } = ctx;
  const def = recordType(ctx, record);
  const idKey = Object.keys(record).find((k) => k.toLowerCase() === 'id');
  const id = idKey ? record[idKey] : undefined;
  const values = state.deserialize(def, record, (k) => k === idKey);
  return {
    def,
    run: (undo) => {
      if (typeof id !== 'string' || id === '')
        return { errors: [dml('MISSING_ARGUMENT', 'Id not specified in an update call')] };
      if (!ID_SHAPE.test(id) || id.slice(0, 3) !== def.keyPrefix) {
        return { errors: [dml('MALFORMED_ID', `${def.label} ID: id value of incorrect type: ${id}`, ['Id'])] };
      }
      const existing = state.table(def).get(toId18(id));
      if (!existing) return { errors: [dml('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id')] };
      return state.save(def, values, existing, undo);
    },
  };
}

/** PATCH composite/sobjects/:sobject/:field: upserts keyed by the field; a key twice in one request, or matching several records, fails that item. */
function upsertItems(ctx: Ctx, req: Request): { items: Item[]; allOrNone: boolean } {
  const { state } = ctx;
  const def = objectOr404(ctx, req.params['sobject'] as string | undefined);
  const field = lookupFieldOr404(def, req.params['field'] as string | undefined);
  const { allOrNone, records } = collectionBody(req);
  const prepared = records.map((record) => {
    if (recordType(ctx, record) !== def)
      throw apiError(400, 'INVALID_TYPE', `records must all be of type ${def.name}, as in the URL`);
    return state.deserialize(def, record);
  });
  const seen = new Map<string, number>();
  for (const values of prepared) {
    const v = values[field.name];
    if (v != null && v !== '') seen.set(matchKey(field, v), (seen.get(matchKey(field, v)) ?? 0) + 1);
  }
  const items = prepared.map((values): Item => ({
    def,
    run: (undo) => {
      const v = values[field.name];
      if (v === null || v === undefined || v === '')
        return { errors: [dml('MISSING_ARGUMENT', `${field.name} not specified`)] };
      if ((seen.get(matchKey(field, v)) ?? 0) > 1)
        return {
          errors: [dml('DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${String(v)}`, [field.name])],
        };
      const ids = state.match(def, field, v);
      if (ids.length > 1) {
        return {
          errors: [
            dml(
              'DUPLICATE_EXTERNAL_ID',
              `${field.name}: more than one record found for external id field: [${ids.join(', ')}]`,
              [field.name],
            ),
          ],
        };
      }
      return state.save(def, values, ids[0] ? state.table(def).get(ids[0]) : undefined, undo);
    },
  }));
  return { items, allOrNone };
}

/**
 * DELETE composite/sobjects?ids=…[&allOrNone=true]: up to 200 ids of any types, answered 200 with one
 * DeleteResult per id in request order; a deleted record (in the recycle bin) is ENTITY_IS_DELETED, an id of
 * no record INVALID_CROSS_REFERENCE_KEY, a malformed one MALFORMED_ID. With allOrNone one failure restores all.
 */
function deleteCollection(ctx: Ctx, req: Request): unknown[] {
  const { state } = ctx;
  const raw = req.query['ids'];
  if (typeof raw !== 'string' || raw.trim() === '')
    throw apiError(400, 'MISSING_ARGUMENT', 'ids parameter is required');
  const ids = raw.split(',').map((id) => id.trim());
  if (ids.length > MAX_COLLECTION) throw tooMany();
  const allOrNone = req.query['allOrNone'] === 'true';
  const removed: string[] = [];
  const outcomes = ids.map((given): { id: string; errors: DmlError[] } => {
    if (!ID_SHAPE.test(given)) return { id: given, errors: [dml('MALFORMED_ID', `malformed id ${given}`)] };
    const id = toId18(given);
    if (state.isRecycled(id)) return { id, errors: [dml('ENTITY_IS_DELETED', 'entity is deleted')] };
    const def = state.objectByPrefix(id.slice(0, 3));
    if (!def || !state.remove(def, id))
      return { id, errors: [dml('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id')] };
    removed.push(id);
    return { id, errors: [] };
  });
  const failed = outcomes.some((o) => o.errors.length > 0);
  if (allOrNone && failed) {
    for (const id of removed) state.unremove(id);
    const rolled = rolledBack();
    return outcomes.map((o) => ({
      ...(o.errors.length > 0 ? {} : { id: o.id }),
      success: false,
      errors: o.errors.length > 0 ? o.errors : [rolled],
    }));
  }
  return outcomes.map((o) =>
    o.errors.length > 0 ? { success: false, errors: o.errors } : { id: o.id, success: true, errors: [] },
  );
}

export function compositeRoutes(ctx: Ctx): express.Router {
  const { state } = ctx;
  const r = express.Router();
  r.post('/composite/sobjects', (req, res) => {
    const { allOrNone, records } = collectionBody(req);
    const items = records.map((record): Item => {
      const def = recordType(ctx, record);
      const hasId = Object.keys(record).some((k) => k.toLowerCase() === 'id');
      const values = state.deserialize(def, record, (k) => k.toLowerCase() === 'id');
      return {
        def,
        run: (undo) =>
          hasId
            ? { errors: [dml('INVALID_FIELD', 'cannot specify Id in an insert call', ['Id'])] }
            : state.save(def, values, undefined, undo),
      };
    });
    send(res, 200, runCollection(ctx, items, allOrNone, false));
  });
  r.patch('/composite/sobjects', (req, res) => {
    const { allOrNone, records } = collectionBody(req);
    send(
      res,
      200,
      runCollection(
        ctx,
        records.map((record) => updateItem(ctx, record)),
        allOrNone,
        false,
      ),
    );
  });
  r.patch('/composite/sobjects/:sobject/:field', (req, res) => {
    const { items, allOrNone } = upsertItems(ctx, req);
    send(res, 200, runCollection(ctx, items, allOrNone, true));
  });
  r.delete('/composite/sobjects', (req, res) => send(res, 200, deleteCollection(ctx, req)));
  return r;
}
