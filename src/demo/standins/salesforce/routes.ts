/** The Salesforce stand-in's HTTP routes: the data API (its gate, then describe, rows, collections and query routers, each in routes/) and the token endpoint, with Salesforce's error bodies. */
import { createHmac, randomBytes } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { ApiError, notFound } from './errors.js';
import { type Ctx, defaultFailureBody, send } from './http.js';
import { faultGate, jsonBodies, sessionGate } from './gate.js';
import { describeRoutes } from './routes/describe.js';
import { recordRoutes } from './routes/records.js';
import { compositeRoutes } from './routes/composite.js';
import { queryRoutes } from './routes/query.js';
import type { SalesforceCall } from './types.js';

function releaseName(major: number): string {
  const offset = major - 62; // 62.0 shipped in Winter '25, three releases a year
  const season = ['Winter', 'Spring', 'Summer'][((offset % 3) + 3) % 3];
  return `${season} '${25 + Math.floor(offset / 3)}`;
}

/** /services/data/:version: faults, the session gate and JSON bodies, then the routers in the order their paths must be tried. */
function dataApi(ctx: Ctx): express.Router {
  const r = express.Router({ mergeParams: true });
  r.use(faultGate(ctx));
  r.use(sessionGate(ctx));
  r.use(...jsonBodies());
  for (const routes of [describeRoutes, recordRoutes, compositeRoutes, queryRoutes]) r.use(routes(ctx));
  r.use(() => {
    throw notFound();
  });
  return r;
}

function tokenEndpoint(ctx: Ctx) {
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

function errorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  if (err instanceof ApiError) return send(res, err.status, err.body);
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.parse.failed')
    return send(res, 400, [{ message: String((err as Error).message), errorCode: 'JSON_PARSER_ERROR' }]);
  if (type === 'entity.too.large')
    return send(res, 413, [{ message: 'Request entity too large', errorCode: 'REQUEST_TOO_LARGE' }]);
  send(res, 500, defaultFailureBody(500, 0));
}

/** The whole server: the call log, the token endpoint, the version list, the data API, Salesforce's 404 and error bodies. */
export function salesforceApp(ctx: Ctx): express.Express {
  const { state } = ctx;
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
    const top = Number.parseFloat(ctx.apiVersion);
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
  return app;
}
