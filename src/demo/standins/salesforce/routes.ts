/** The Salesforce stand-in's HTTP routes: the data API (sobjects, composite, query with cursors, limits) and the token endpoint, with Salesforce's error bodies. */
import { createHmac, randomBytes } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { FaultInjector, FixedWindowRateLimiter } from '../common.js';
import type { FaultKind } from '../common.js';
import {
  ApiError,
  type DmlError,
  ID_SHAPE,
  apiError,
  dml,
  dmlFailure,
  noSuchColumn,
  noSuchExternalIdField,
  notFound,
  toId18,
} from './errors.js';
import { type SObjectDef } from './schema.js';
import { type Soql, holds, orderRecords, parseSoql } from './soql.js';
import { SalesforceState, type SaveResult, type Undo, type Values, coerce, jsonToken, matchKey } from './state.js';
import { type SalesforceCall, type SalesforceField, type SalesforceRecord } from './types.js';

// ---------------------------------------------------------------------------------------------
// HTTP: the data API and the token endpoint
// ---------------------------------------------------------------------------------------------

export type Ctx = {
  state: SalesforceState;
  apiVersion: string;
  dailyLimit: number;
  limiter: FixedWindowRateLimiter | null;
  faults: FaultInjector;
  armed: Array<{ status: number | 'reset' | 'timeout'; body: unknown; match: RegExp | undefined }>;
  tokens: Set<string>;
  credentials: { clientId: string; clientSecret: string };
  calls: SalesforceCall[];
  cursors: Map<string, { records: unknown[]; batch: number }>;
  instanceUrl: () => string;
  echo: (def: SObjectDef, ids: string[]) => void;
};

const JSON_TYPE = 'application/json;charset=UTF-8';
const MAX_COLLECTION = 200;
const MAX_OPEN_CURSORS = 10;

export function send(res: Response, status: number, body: unknown): void {
  res.status(status);
  if (typeof body === 'string') {
    res.setHeader('Content-Type', 'text/html;charset=UTF-8');
    res.end(body);
    return;
  }
  res.setHeader('Content-Type', JSON_TYPE);
  res.end(JSON.stringify(body));
}

function defaultFailureBody(status: number, errorId: number): unknown {
  if (status === 401) return [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }];
  if (status === 403) return [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }];
  if (status === 404) return [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }];
  if (status === 503)
    return [{ message: 'Too many requests waiting for connections', errorCode: 'SERVER_UNAVAILABLE' }];
  if (status >= 500) {
    const id = `${1_000_000_000 + errorId}-${10_000 + (errorId % 90_000)} (${-(1_500_000_000 + errorId)})`;
    return [
      {
        message: `An unexpected error occurred. Please include this ErrorId if you contact support: ${id}`,
        errorCode: 'UNKNOWN_EXCEPTION',
      },
    ];
  }
  return [{ message: `stand-in failure ${status}`, errorCode: 'INVALID_INPUT' }];
}

/** "v62.0" → the version, when this org serves it. */
function servedVersion(ctx: Ctx, segment: string | undefined): string | null {
  const m = /^v(\d+)\.0$/.exec(segment ?? '');
  if (!m) return null;
  const major = Number(m[1]);
  return major >= 20 && major <= Number.parseFloat(ctx.apiVersion) ? `${major}.0` : null;
}

export function releaseName(major: number): string {
  const offset = major - 62; // 62.0 shipped in Winter '25, three releases a year
  const season = ['Winter', 'Spring', 'Summer'][((offset % 3) + 3) % 3];
  return `${season} '${25 + Math.floor(offset / 3)}`;
}

const versionOf = (res: Response) => res.locals['version'] as string;
const sobjectUrl = (version: string, def: SObjectDef, id: string) =>
  `/services/data/v${version}/sobjects/${def.name}/${id}`;

function objectOr404(ctx: Ctx, name: string | undefined): SObjectDef {
  const def = ctx.state.objectOrNull(name ?? '');
  if (!def) throw notFound();
  return def;
}

/** A field usable as the key of an upsert or a get-by-value: an external id, an idLookup field, or Id. */
function lookupFieldOr404(def: SObjectDef, name: string | undefined): SalesforceField {
  const field = def.byName.get((name ?? '').toLowerCase());
  if (!field || !(field.externalId || field.idLookup)) throw noSuchExternalIdField(name ?? '');
  return field;
}

function bodyObject(req: Request): Values {
  const body: unknown = req.body;
  if (body === undefined) throw apiError(400, 'JSON_PARSER_ERROR', 'No content to map due to end-of-input');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw apiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of sObject from ${jsonToken(body)} value or request may be missing a required field`,
    );
  }
  return body as Values;
}

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
  if (records.length > MAX_COLLECTION) {
    throw apiError(
      400,
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`,
    );
  }
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

type Item = { def: SObjectDef; run: (undo: Undo) => SaveResult | { errors: DmlError[] } };

/** Runs one collections request in order; with allOrNone, one failure rolls everything back. */
function runCollection(ctx: Ctx, items: Item[], allOrNone: boolean, withCreated: boolean): unknown[] {
  const undo: Undo = [];
  const outcomes = items.map((item) => item.run(undo));
  const failed = outcomes.some((o) => 'errors' in o);
  if (allOrNone && failed) {
    ctx.state.rollback(undo);
    const rolledBack = dml(
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'Record rolled back because not all records were valid and the request was using AllOrNone header',
    );
    return outcomes.map((o) => ({ success: false, errors: 'errors' in o ? o.errors : [rolledBack] }));
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

function projectRecord(def: SObjectDef, rec: SalesforceRecord, version: string, only?: SalesforceField[]): Values {
  const out: Values = { attributes: { type: def.name, url: sobjectUrl(version, def, rec.Id) } };
  for (const f of only ?? def.fields) out[f.name] = rec[f.name] ?? null;
  return out;
}

function projectRow(state: SalesforceState, q: Soql, rec: SalesforceRecord, version: string): Values {
  const out: Values = { attributes: { type: q.def.name, url: sobjectUrl(version, q.def, rec.Id) } };
  for (const path of q.select) {
    if (!path.via) {
      out[path.field.name] = rec[path.field.name] ?? null;
      continue;
    }
    const rel = path.via.relationshipName!;
    const ref = rec[path.via.name];
    const parent = typeof ref === 'string' ? state.table(path.target).get(ref) : undefined;
    if (!parent) {
      out[rel] = null;
      continue;
    }
    const nested = (out[rel] as Values | null | undefined) ?? {
      attributes: { type: path.target.name, url: sobjectUrl(version, path.target, parent.Id) },
    };
    nested[path.field.name] = parent[path.field.name] ?? null;
    out[rel] = nested;
  }
  return out;
}

function queryPage(
  ctx: Ctx,
  version: string,
  cursorId: string | null,
  records: unknown[],
  offset: number,
  batch: number,
): Values {
  const done = offset + batch >= records.length;
  let id = cursorId;
  if (done && id) ctx.cursors.delete(id);
  if (!done && !id) {
    id = ctx.state.newId('01g');
    ctx.cursors.set(id, { records, batch });
    // A user holds at most 10 open cursors; opening another releases the oldest.
    for (const oldest of ctx.cursors.keys()) {
      if (ctx.cursors.size <= MAX_OPEN_CURSORS) break;
      ctx.cursors.delete(oldest);
    }
  }
  return {
    totalSize: records.length,
    done,
    ...(done ? {} : { nextRecordsUrl: `/services/data/v${version}/query/${id}-${offset + batch}` }),
    records: records.slice(offset, offset + batch),
  };
}

/** Sforce-Query-Options: batchSize=N, honoured within Salesforce's 200..2000 (default 2000). */
function batchSizeOf(header: string | undefined): number {
  const m = /batchSize\s*=\s*(\d+)/i.exec(header ?? '');
  return m ? Math.min(2000, Math.max(200, Number(m[1]))) : 2000;
}

export function dataApi(ctx: Ctx): express.Router {
  const { state } = ctx;
  const r = express.Router({ mergeParams: true });

  // Injected faults first: the edge fails before Salesforce even looks at the session.
  r.use((req, res, next) => {
    const call = res.locals['call'] as SalesforceCall;
    const line = `${req.method} ${req.originalUrl}`;
    const armedAt = ctx.armed.findIndex((a) => !a.match || a.match.test(line));
    const armed = armedAt >= 0 ? ctx.armed.splice(armedAt, 1)[0] : undefined;
    const kind = armed ? armed.status : ctx.faults.draw();
    if (kind === null || kind === undefined) return next();
    call.fault = armed ? 'failNext' : (kind as FaultKind);
    if (kind === 'reset') return void req.socket.destroy();
    if (kind === 'timeout') return; // never answered; close() drops the socket
    const status = typeof kind === 'number' ? kind : Number(kind);
    send(res, status, armed?.body ?? defaultFailureBody(status, ctx.calls.length));
  });

  r.use((req, res, next) => {
    const token = /^Bearer (.+)$/i.exec(req.header('authorization') ?? '')?.[1];
    if (!token || !ctx.tokens.has(token)) throw new ApiError(401, defaultFailureBody(401, 0));
    const version = servedVersion(ctx, req.params['version'] as string | undefined);
    if (!version) throw notFound();
    res.locals['version'] = version;
    const limited = (ctx.limiter && !ctx.limiter.take().allowed) || state.apiUsage >= ctx.dailyLimit;
    if (limited) throw new ApiError(403, defaultFailureBody(403, 0));
    state.apiUsage += 1;
    res.setHeader('Sforce-Limit-Info', `api-usage=${state.apiUsage}/${ctx.dailyLimit}`);
    next();
  });

  r.use(express.json({ limit: '50mb', type: () => true }), (req, res, next) => {
    const call = res.locals['call'] as SalesforceCall;
    call.body = req.body;
    const records = (req.body as { records?: unknown } | undefined)?.records;
    if (Array.isArray(records)) call.records = records.length;
    next();
  });

  r.get('/limits', (_req, res) => {
    const remaining = (max: number) => ({ Max: max, Remaining: max });
    send(res, 200, {
      DailyApiRequests: { Max: ctx.dailyLimit, Remaining: Math.max(0, ctx.dailyLimit - state.apiUsage) },
      DailyBulkV2QueryJobs: remaining(10000),
      DataStorageMB: remaining(5),
      FileStorageMB: remaining(20),
    });
  });

  r.get('/sobjects', (_req, res) => {
    send(res, 200, {
      encoding: 'UTF-8',
      maxBatchSize: MAX_COLLECTION,
      sobjects: [...state.objects.values()].map((d) => ({
        name: d.name,
        label: d.label,
        labelPlural: d.labelPlural,
        keyPrefix: d.keyPrefix,
        custom: d.custom,
        createable: true,
        updateable: true,
        deletable: true,
        queryable: true,
      })),
    });
  });

  r.get('/sobjects/:sobject', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    send(res, 200, {
      objectDescribe: { name: def.name, label: def.label, keyPrefix: def.keyPrefix, custom: def.custom },
      recentItems: [],
    });
  });

  r.get('/sobjects/:sobject/describe', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const base = `/services/data/v${versionOf(res)}/sobjects/${def.name}`;
    send(res, 200, {
      name: def.name,
      label: def.label,
      labelPlural: def.labelPlural,
      keyPrefix: def.keyPrefix,
      custom: def.custom,
      createable: true,
      updateable: true,
      deletable: true,
      queryable: true,
      fields: def.fields.map((f) => ({
        ...f,
        calculated: f.type === 'address' || (def.name === 'Contact' && f.name === 'Name'),
      })),
      urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
    });
  });

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
    const items = records.map((record): Item => {
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
    });
    send(res, 200, runCollection(ctx, items, allOrNone, false));
  });

  r.patch('/composite/sobjects/:sobject/:field', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const field = lookupFieldOr404(def, req.params['field']);
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
    send(res, 200, runCollection(ctx, items, allOrNone, true));
  });

  /**
   * DELETE composite/sobjects?ids=…[&allOrNone=true]: up to 200 ids of any types, answered 200 with one
   * DeleteResult per id in request order; a deleted record (in the recycle bin) is ENTITY_IS_DELETED, an id of
   * no record INVALID_CROSS_REFERENCE_KEY, a malformed one MALFORMED_ID. With allOrNone one failure restores all.
   */
  r.delete('/composite/sobjects', (req, res) => {
    const raw = req.query['ids'];
    if (typeof raw !== 'string' || raw.trim() === '')
      throw apiError(400, 'MISSING_ARGUMENT', 'ids parameter is required');
    const ids = raw.split(',').map((id) => id.trim());
    if (ids.length > MAX_COLLECTION)
      throw apiError(
        400,
        'EXCEEDED_ID_LIMIT',
        `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`,
      );
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
      const rolledBack = dml(
        'ALL_OR_NONE_OPERATION_ROLLED_BACK',
        'Record rolled back because not all records were valid and the request was using AllOrNone header',
      );
      return void send(
        res,
        200,
        outcomes.map((o) => ({
          ...(o.errors.length > 0 ? {} : { id: o.id }),
          success: false,
          errors: o.errors.length > 0 ? o.errors : [rolledBack],
        })),
      );
    }
    send(
      res,
      200,
      outcomes.map((o) =>
        o.errors.length > 0 ? { success: false, errors: o.errors } : { id: o.id, success: true, errors: [] },
      ),
    );
  });

  const query = (req: Request, res: Response) => {
    const soql = req.query['q'];
    if (typeof soql !== 'string' || soql.trim() === '')
      throw apiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
    const q = parseSoql(soql, state);
    const matching = [...state.table(q.def).values()].filter((rec) => !q.where || holds(state, rec, q.where));
    const ordered = orderRecords(state, matching, q.orderBy, q.limit === null ? Infinity : q.offset + q.limit).slice(
      q.offset,
      q.limit === null ? undefined : q.offset + q.limit,
    );
    if (q.count) return send(res, 200, { totalSize: ordered.length, done: true, records: [] });
    const rows = ordered.map((rec) => projectRow(state, q, rec, versionOf(res)));
    send(res, 200, queryPage(ctx, versionOf(res), null, rows, 0, batchSizeOf(req.header('sforce-query-options'))));
  };
  const queryMore = (req: Request, res: Response) => {
    const m = /^([A-Za-z0-9]{15,18})-(\d+)$/.exec(req.params['locator'] as string);
    const cursor = m ? ctx.cursors.get(m[1]!) : undefined;
    if (!m || !cursor) throw apiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    send(res, 200, queryPage(ctx, versionOf(res), m[1]!, cursor.records, Number(m[2]), cursor.batch));
  };
  r.get('/query', query);
  r.get('/queryAll', query);
  r.get('/query/:locator', queryMore);
  r.get('/queryAll/:locator', queryMore);

  r.use(() => {
    throw notFound();
  });
  return r;
}

export function tokenEndpoint(ctx: Ctx) {
  return (req: Request, res: Response) => {
    const form = (req.body ?? {}) as Record<string, string | undefined>;
    (res.locals['call'] as SalesforceCall).body = { grant_type: form['grant_type'], client_id: form['client_id'] };
    if (form['grant_type'] !== 'client_credentials') {
      return send(res, 400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
    }
    if (form['client_id'] !== ctx.credentials.clientId) {
      return send(res, 400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
    }
    if (form['client_secret'] !== ctx.credentials.clientSecret) {
      return send(res, 400, { error: 'invalid_client', error_description: 'invalid client credentials' });
    }
    const token = issueToken(ctx);
    const id = `${ctx.instanceUrl()}/id/${ctx.state.orgId}/${ctx.state.userId}`;
    const issuedAt = String(Date.now());
    // As Salesforce signs it: HMAC-SHA256 of id + issued_at with the consumer secret.
    const signature = createHmac('sha256', ctx.credentials.clientSecret)
      .update(id + issuedAt)
      .digest('base64');
    send(res, 200, {
      access_token: token,
      signature,
      scope: 'api',
      instance_url: ctx.instanceUrl(),
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    });
  };
}

export function issueToken(ctx: Ctx): string {
  const token = `${ctx.state.orgId.slice(0, 15)}!AQ${randomBytes(36).toString('base64url')}`;
  ctx.tokens.add(token);
  return token;
}

export function errorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  if (err instanceof ApiError) return send(res, err.status, err.body);
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.parse.failed')
    return send(res, 400, [{ message: String((err as Error).message), errorCode: 'JSON_PARSER_ERROR' }]);
  if (type === 'entity.too.large')
    return send(res, 413, [{ message: 'Request entity too large', errorCode: 'REQUEST_TOO_LARGE' }]);
  send(res, 500, defaultFailureBody(500, 0));
}
