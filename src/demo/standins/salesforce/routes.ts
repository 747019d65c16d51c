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

export function releaseName(major: number): string {
  const offset = major - 62; // 62.0 shipped in Winter '25, three releases a year
  const season = ['Winter', 'Spring', 'Summer'][((offset % 3) + 3) % 3];
  return `${season} '${25 + Math.floor(offset / 3)}`;
}

/** /services/data/:version: faults, the session gate and JSON bodies, then the routers in the order their paths must be tried. */
export function dataApi(ctx: Ctx): express.Router {
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
