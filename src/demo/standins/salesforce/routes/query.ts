/** The Salesforce stand-in's SOQL query and queryAll: rows projected with their parent relationships, paged by batchSize with query locators (at most 10 open cursors). */
import express, { type Request, type Response } from 'express';
import { apiError } from '../errors.js';
import { holds, orderRecords } from '../soql.js';
import { type Soql, parseSoql } from '../soql-parser.js';
import type { SalesforceState, Values } from '../state.js';
import { type Ctx, send, sobjectUrl, versionOf } from '../http.js';
import type { SalesforceRecord } from '../types.js';

const MAX_OPEN_CURSORS = 10;

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

export function queryRoutes(ctx: Ctx): express.Router {
  const { state } = ctx;
  const r = express.Router();
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
  return r;
}
