/**
 * A local stand-in for the Salesforce REST API, for end-to-end tests,
 * `portal-sync demo` and benchmarks: express on 127.0.0.1, port 0, driven by
 * the real jsforce client. It answers in Salesforce's own shapes — error
 * arrays `[{message, errorCode, fields}]`, sObject Collections result lists,
 * query pages with `nextRecordsUrl`, `Sforce-Limit-Info` on every data API
 * response — and, when asked, sends the Outbound Message Salesforce would send
 * after each Account write, so echo-loop tests have a real echo.
 *
 * Modelled: client-credentials OAuth; sObject rows (get, create, update,
 * delete, get and upsert by external id); sObject Collections (create, update,
 * upsert; ≤200 records; allOrNone); describe; a small SOQL (SELECT fields or
 * COUNT() FROM one object, WHERE with AND/OR/NOT, comparisons, IN, LIKE,
 * ORDER BY, LIMIT, OFFSET, one-level relationship fields); queryMore; /limits;
 * the daily API limit plus a windowed rate for tests; seeded faults.
 * Not modelled: Bulk API 2.0, Composite/Batch/Graph, CDC and Pub/Sub, Apex,
 * validation rules, sharing, picklist restrictions, relationship upserts
 * (`Account__r: {Ext__c: …}`), date literals such as LAST_N_DAYS.
 *
 * Datetimes are stored as REST renders them (2024-12-02T09:25:34.000+0000);
 * system timestamps have whole-second precision, as in Salesforce, so two
 * writes within a second share a SystemModstamp.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import { buildOutboundMessage } from '../../../connectors/salesforce/outbound-builder.js';
import { FaultInjector, FixedWindowRateLimiter, listenOnLoopback } from '../common.js';
import type { FaultOptions } from '../common.js';
import { ID_SHAPE, base62, notFound, toId18 } from './errors.js';
import { type Ctx, send } from './http.js';
import { dataApi, errorHandler, issueToken, releaseName, tokenEndpoint } from './routes.js';
import { type SObjectDef } from './schema.js';
import { SalesforceState } from './state.js';
import {
  type OutboundDelivery,
  type SalesforceCall,
  type SalesforceField,
  type SalesforceRecord,
  type SalesforceStandInOptions,
} from './types.js';

export * from './types.js';
export { toId18 } from './errors.js';
// ---------------------------------------------------------------------------------------------
// Outbound Message echo
// ---------------------------------------------------------------------------------------------

/** A stored value as the SOAP message renders it: datetimes in Z, doubles with their ".0". */
function soapValue(field: SalesforceField, value: unknown): string | null {
  if (value === null || value === undefined || typeof value === 'object') return null;
  if (field.type === 'datetime') return String(value).replace(/\+0000$/, 'Z');
  if (typeof value === 'number' && field.type !== 'int' && Number.isInteger(value)) return `${value}.0`;
  return String(value);
}

function outboundFields(
  def: SObjectDef,
  rec: SalesforceRecord,
  selected: string[] | undefined,
): Record<string, string | null> {
  const chosen = selected
    ? selected.map((n) => def.byName.get(n.toLowerCase())).filter((f) => f !== undefined)
    : def.fields;
  const fields: Record<string, string | null> = { Id: rec.Id };
  // Id first, then alphabetical, as Salesforce lays out the sObject; fields without a value are left out.
  for (const f of [...chosen].sort((a, b) => a.name.localeCompare(b.name))) {
    const text = soapValue(f, rec[f.name]);
    if (f.name !== 'Id' && f.type !== 'address' && text !== null) fields[f.name] = text;
  }
  return fields;
}

export interface SalesforceStandIn {
  /** `http://127.0.0.1:PORT`: jsforce's instanceUrl. */
  instanceUrl: string;
  /** The same server: the client credentials flow posts to `${loginUrl}/services/oauth2/token`. */
  loginUrl: string;
  orgId: string;
  /** A token valid from the start, for `new Connection({ instanceUrl, accessToken })`. */
  accessToken: string;
  clientId: string;
  clientSecret: string;
  apiVersion: string;
  state: SalesforceState;
  calls: SalesforceCall[];
  outbound: OutboundDelivery[];
  /** Replaces the random faults (null: none) and restarts their sequence from the seed. */
  setFaults(faults: FaultOptions | null): void;
  /**
   * The next n data API calls (those matching `match`, tested on "METHOD /path?query")
   * answer `status` — or are reset or left hanging. Default bodies are Salesforce's for
   * 401, 403, 404, 5xx and 503 (other statuses get a placeholder: pass a body); a string
   * body is sent as text/html, like the edge's error pages.
   */
  failNext(n: number, status: number | 'reset' | 'timeout', body?: unknown, match?: RegExp): void;
  /** Every issued token stops working (401 INVALID_SESSION_ID), as when a session expires. */
  expireTokens(): void;
  /** A person's edit in Salesforce: applied without checks, and echoed like an API write. */
  edit(sobject: string, id: string, fields: Record<string, unknown>): SalesforceRecord;
  /** Resolves once every Outbound Message queued so far has been answered (or failed). */
  flushOutbound(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

export async function startSalesforceStandIn(opts: SalesforceStandInOptions = {}): Promise<SalesforceStandIn> {
  const apiVersion = opts.apiVersion ?? '62.0';
  if (!/^\d+\.0$/.test(apiVersion)) throw new Error(`apiVersion must look like 62.0, got ${apiVersion}`);
  const clock = opts.now ?? Date.now;
  const orgId = toId18(opts.outbound?.orgId ?? opts.orgId ?? `00D8d0000${base62(0x3c9a51, 6)}`);
  if (!ID_SHAPE.test(orgId) || !orgId.startsWith('00D')) throw new Error(`not an org id: ${orgId}`);
  const state = new SalesforceState(orgId, clock);
  for (const [sobject, fields] of Object.entries(opts.fields ?? {}))
    for (const f of fields) state.defineField(sobject, f);

  const outbound: OutboundDelivery[] = [];
  const pending = new Set<Promise<void>>();
  const echoed = new Set((opts.outbound?.sobjects ?? ['Account']).map((s) => s.toLowerCase()));
  const actionId = toId18(`04k${orgId.slice(3, 5)}0${base62(0x2b7e15, 9)}`);
  let origin = '';

  const deliver = (target: string, delivery: OutboundDelivery) =>
    fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
      body: delivery.xml,
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (res) => {
        delivery.status = res.status;
        delivery.response = await res.text();
      })
      .catch((err: unknown) => {
        delivery.error = err instanceof Error ? err.message : String(err);
      });

  const ctx: Ctx = {
    state,
    apiVersion,
    dailyLimit: opts.dailyLimit ?? 100_000,
    limiter: opts.rate ? new FixedWindowRateLimiter(opts.rate, clock) : null,
    faults: new FaultInjector(opts.faults ?? null),
    armed: [],
    tokens: new Set(),
    credentials: opts.credentials ?? {
      clientId: `3MVG9${randomBytes(18).toString('base64url')}`,
      clientSecret: randomBytes(24).toString('hex').toUpperCase(),
    },
    calls: [],
    cursors: new Map(),
    instanceUrl: () => origin,
    echo: (def, ids) => {
      const target = opts.outbound;
      if (!target || !echoed.has(def.name.toLowerCase()) || ids.length === 0) return;
      // Each message carries the record as it is now; at most 100 notifications per message.
      for (let i = 0; i < ids.length; i += 100) {
        const recs = ids
          .slice(i, i + 100)
          .map((id) => state.table(def).get(id))
          .filter((r) => r !== undefined);
        const notifications = recs.map((rec) => ({
          id: state.newId('04l'),
          sObjectType: def.name,
          fields: outboundFields(def, rec, target.fields),
        }));
        const xml = buildOutboundMessage({
          organizationId: orgId,
          actionId,
          sessionId: null,
          instanceUrl: origin,
          apiVersion,
          notifications,
        });
        const delivery: OutboundDelivery = {
          xml,
          notificationIds: notifications.map((n) => n.id),
          recordIds: recs.map((r) => r.Id),
        };
        outbound.push(delivery);
        const done: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, target.delayMs ?? 0))
          .then(() => deliver(target.url, delivery))
          .finally(() => pending.delete(done));
        pending.add(done);
      }
    },
  };
  const accessToken = issueToken(ctx);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    const [path = '', query = ''] = req.originalUrl.split(/\?(.*)/s, 2);
    const call: SalesforceCall = { method: req.method, path, query, status: 0, body: undefined, at: Date.now() };
    const callOptions = req.header('sforce-call-options');
    if (callOptions) call.callOptions = callOptions;
    ctx.calls.push(call);
    res.locals['call'] = call;
    res.on('finish', () => {
      call.status = res.statusCode;
    });
    if (path.startsWith('/services/data/'))
      res.setHeader('Sforce-Limit-Info', `api-usage=${state.apiUsage}/${ctx.dailyLimit}`);
    next();
  });
  app.post('/services/oauth2/token', express.urlencoded({ extended: false }), tokenEndpoint(ctx));
  app.get(['/services/data', '/services/data/'], (_req, res) => {
    const top = Number.parseFloat(apiVersion);
    const versions = [];
    for (let v = 20; v <= top; v++)
      versions.push({ label: releaseName(v), url: `/services/data/v${v}.0`, version: `${v}.0` });
    send(res, 200, versions);
  });
  app.use('/services/data/:version', dataApi(ctx));
  app.use(() => {
    throw notFound();
  });
  app.use(errorHandler);

  const server = await listenOnLoopback(app);
  origin = server.origin;

  const flushOutbound = async () => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };

  return {
    instanceUrl: origin,
    loginUrl: origin,
    orgId,
    accessToken,
    clientId: ctx.credentials.clientId,
    clientSecret: ctx.credentials.clientSecret,
    apiVersion,
    state,
    calls: ctx.calls,
    outbound,
    setFaults: (faults) => ctx.faults.set(faults),
    failNext: (n, status, body, match) => {
      for (let i = 0; i < n; i++) ctx.armed.push({ status, body, match });
    },
    expireTokens: () => ctx.tokens.clear(),
    edit: (sobject, id, fields) => {
      const rec = state.update(sobject, id, fields);
      ctx.echo(state.object(sobject), [rec.Id]);
      return rec;
    },
    flushOutbound,
    close: async () => {
      await server.close();
      await flushOutbound();
    },
  };
}
