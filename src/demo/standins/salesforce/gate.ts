/** The Salesforce stand-in's gate in front of the data API: failNext and injected faults first, then the session, the served version, the per-second and daily request limits (403 REQUEST_LIMIT_EXCEEDED), and the body recorded in the call log. */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { FaultKind } from '../common.js';
import { ApiError, notFound } from './errors.js';
import { type Ctx, defaultFailureBody, send, servedVersion } from './http.js';
import type { SalesforceCall } from './types.js';

/** Injected faults first: the edge fails before Salesforce even looks at the session. */
export const faultGate =
  (ctx: Ctx) =>
  (req: Request, res: Response, next: NextFunction): void => {
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
  };

/** A known bearer token, a served version, and room under the limits; counts the call against the daily limit. */
export const sessionGate =
  (ctx: Ctx) =>
  (req: Request, res: Response, next: NextFunction): void => {
    const { state } = ctx;
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
  };

/** Any body is JSON (whatever its content type); the call log keeps it and its record count. */
export const jsonBodies = () => [
  express.json({ limit: '50mb', type: () => true }),
  (req: Request, res: Response, next: NextFunction): void => {
    const call = res.locals['call'] as SalesforceCall;
    call.body = req.body;
    const records = (req.body as { records?: unknown } | undefined)?.records;
    if (Array.isArray(records)) call.records = records.length;
    next();
  },
];
