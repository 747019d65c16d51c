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
import { FaultInjector, FixedWindowRateLimiter, listenOnLoopback } from '../common.js';
import type { FaultOptions } from '../common.js';
import { ID_SHAPE, base62, toId18 } from './errors.js';
import type { Ctx } from './http.js';
import { issueToken, salesforceApp } from './routes.js';
import { SalesforceOutbound } from './outbound.js';
import { SalesforceState } from './state.js';
import {
  type OutboundDelivery,
  type SalesforceCall,
  type SalesforceRecord,
  type SalesforceStandInOptions,
} from './types.js';

export * from './types.js';
export { toId18 } from './errors.js';
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

export async function startSalesforceStandIn(opts: SalesforceStandInOptions = {}): Promise<SalesforceStandIn> {
  const apiVersion = opts.apiVersion ?? '62.0';
  if (!/^\d+\.0$/.test(apiVersion)) throw new Error(`apiVersion must look like 62.0, got ${apiVersion}`);
  const clock = opts.now ?? Date.now;
  const orgId = toId18(opts.outbound?.orgId ?? opts.orgId ?? `00D8d0000${base62(0x3c9a51, 6)}`);
  if (!ID_SHAPE.test(orgId) || !orgId.startsWith('00D')) throw new Error(`not an org id: ${orgId}`);
  const state = new SalesforceState(orgId, clock);
  for (const [sobject, fields] of Object.entries(opts.fields ?? {}))
    for (const f of fields) state.defineField(sobject, f);

  let origin = '';
  const outbound = new SalesforceOutbound(opts.outbound, state, apiVersion, () => origin);
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
    echo: outbound.echo,
  };
  const accessToken = issueToken(ctx);
  const server = await listenOnLoopback(salesforceApp(ctx));
  origin = server.origin;

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
    outbound: outbound.deliveries,
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
    flushOutbound: () => outbound.flush(),
    close: async () => {
      await server.close();
      await outbound.flush();
    },
  };
}
