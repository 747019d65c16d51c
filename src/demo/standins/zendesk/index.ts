/**
 * A local stand-in for the Zendesk Support REST API (`https://{sub}.zendesk.com/api/v2`),
 * for end-to-end tests, `portal-sync demo` and benchmarks. Point node-zendesk at it with
 * `createClient({ username, token, endpointUri: standIn.baseUrl })` (or ZENDESK_BASE_URL).
 *
 * What it keeps faithful, because the daemon's behaviour depends on it:
 * - paths with and without node-zendesk's `.json` suffix; `email/token:apitoken` basic auth;
 * - response envelopes (`{organization}`, `{job_status}`, `{custom_object_record}`…) and
 *   Zendesk's error bodies (`RecordInvalid` with `details`, `RecordNotFound`, the plain-text 429);
 * - bulk endpoints answer with a queued job_status that a later poll reports completed;
 * - rate-limit headers on every answer and, past `opts.rate`, 429 + Retry-After (which
 *   node-zendesk 6 RESOLVES with an Error instead of throwing);
 * - incremental exports leave out the last minute and page by cursor or time;
 * - profile events are filed under a profile (source, type, identifier; created with its user
 *   when none matches), found by identifier query (`{profile}`, or a 404 `errors` list) or by
 *   user (`{profiles}`); deleting a profile (204) deletes its events, the only way to;
 * - writes to organizations and users echo back as signed event-subscribed webhooks, and
 *   only for what actually changed (writing the same value again sends nothing).
 *
 * Writes apply to `state` when the request is handled, jobs included (the job only reports
 * its progress lazily). Seeding helpers change `state` without echoing.
 *
 * Layout: types.ts (the contract), store.ts (state, ids, lookups, fields), writes.ts and
 * tickets.ts (validated writes), echoes.ts (echo webhooks), custom-objects.ts, profiles.ts,
 * jobs.ts (bulk jobs), paging.ts (cursor pages and exports), gate.ts (auth, rate limits,
 * faults), render.ts (shapes and error bodies), http.ts (route plumbing), routes/ (one router
 * per API area), seed.ts; brands.ts, access.ts (record-level permissions), help-center.ts (help
 * center JWTs) and theme.ts (help center pages). This file wires them into one server.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { listenOnLoopback } from '../common.js';
import { createHelpCenterStandIn, STANDIN_USER_COOKIE } from './help-center.js';
import { createThemeStandIn } from './theme.js';
import { DEFAULT_CREDENTIALS, HttpError, defaultFailureBody, isRecord, send, zendeskErrors } from './render.js';
import { ZendeskStore } from './store.js';
import { ZendeskGate } from './gate.js';
import { ZendeskEchoes } from './echoes.js';
import { ZendeskWrites } from './writes.js';
import { ZendeskJobs } from './jobs.js';
import { ZendeskPaging } from './paging.js';
import { ZendeskCustomObjects } from './custom-objects.js';
import { zendeskSeeds } from './seed.js';
import type { ZendeskApi } from './http.js';
import { organizationRoutes } from './routes/organizations.js';
import { userRoutes } from './routes/users.js';
import { jobRoutes } from './routes/jobs.js';
import { fieldRoutes } from './routes/fields.js';
import { customObjectRoutes } from './routes/custom-objects.js';
import { accessRoutes } from './routes/access.js';
import { recordJobRoutes } from './routes/record-jobs.js';
import { profileRoutes } from './routes/profiles.js';
import { ticketRoutes } from './routes/tickets.js';
import { exportRoutes } from './routes/exports.js';
import type { ZendeskStandIn, ZendeskStandInOptions } from './types.js';

export * from './types.js';
export { ZENDESK_TOO_MANY_REQUESTS } from './render.js';

/** The routers of /api/v2, in the order their paths must be tried (show_many before :id). */
const ROUTES = [
  organizationRoutes,
  userRoutes,
  jobRoutes,
  fieldRoutes,
  customObjectRoutes,
  accessRoutes,
  recordJobRoutes,
  profileRoutes,
  ticketRoutes,
  exportRoutes,
];

function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  if (err instanceof HttpError) return send(res, err.status, err.body);
  if (isRecord(err) && err.type === 'entity.parse.failed')
    return send(res, 400, zendeskErrors.invalidValue('Request body is not valid JSON'));
  send(res, 500, { error: 'InternalError', description: err instanceof Error ? err.message : String(err) });
}

export async function startZendeskStandIn(opts: ZendeskStandInOptions = {}): Promise<ZendeskStandIn> {
  const now = opts.now ?? Date.now;
  const store = new ZendeskStore(now);
  const { state } = store;
  const gate = new ZendeskGate(opts, store);
  const echoes = new ZendeskEchoes(opts.webhook, opts.accountId ?? 10000001, store);
  const writes = new ZendeskWrites(store, echoes);
  const jobs = new ZendeskJobs(store, Math.max(1, opts.jobPollsUntilComplete ?? 1));
  const paging = new ZendeskPaging(store, Math.max(0, opts.exportLagSeconds ?? 60));
  const objects = new ZendeskCustomObjects(store);
  const api: ZendeskApi = { store, echoes, writes, jobs, paging, objects };

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // Help center JWTs: anonymous keys and the signed-in end user's token, outside the API's basic auth.
  const helpCenter = await createHelpCenterStandIn((id) => state.users.get(id), now);
  app.use(helpCenter.router);
  const theme = createThemeStandIn({
    signedIn: (req) => gate.sessionUser(req.get('cookie')) !== undefined,
    findUser: (by) =>
      [...state.users.values()].find((u) => (by.email !== undefined ? u.email === by.email : u.name === by.name))?.id,
    cookieOf: (id) => `${STANDIN_USER_COOKIE}=${id}`,
  });
  app.use(theme.router);
  app.use(gate.middleware);
  app.use(express.json({ limit: '20mb' }));
  const v2 = express.Router();
  app.use('/api/v2', v2);
  for (const routes of ROUTES) v2.use(routes(api));
  app.use((_req: Request, res: Response) => send(res, 404, zendeskErrors.invalidEndpoint()));
  app.use(errorHandler);

  const listening = await listenOnLoopback(app);
  store.baseUrl = `${listening.origin}/api/v2`;
  helpCenter.issuer = listening.origin;

  return {
    baseUrl: store.baseUrl,
    origin: listening.origin,
    helpCenter,
    theme,
    credentials: opts.auth ?? DEFAULT_CREDENTIALS,
    state,
    calls: gate.calls,
    webhookDeliveries: echoes.deliveries,
    setFaults: (next) => gate.faults.set(next),
    failNext: (n, status, failureBody, match) =>
      gate.failures.arm(n, status, failureBody === undefined ? defaultFailureBody(status) : failureBody, match),
    ...zendeskSeeds(store, objects),
    seedBrand: (input) => store.brandBook.seed(structuredClone(input)),
    signIn: (userId) => {
      if (!state.users.has(userId)) throw new Error(`no user ${userId} in the Zendesk stand-in`);
      return `${STANDIN_USER_COOKIE}=${userId}`;
    },
    flushWebhooks: () => echoes.flush(),
    close: async () => {
      gate.releaseHung();
      echoes.stop();
      await listening.close();
      await echoes.settled();
    },
  };
}
