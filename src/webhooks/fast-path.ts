/**
 * The Stripe and Zendesk webhooks answered ahead of express, by the same receivers (stripe.ts, zendesk.ts): the
 * hot path of the web role. Express's work per request — its request and response prototypes swapped into node's
 * objects, its router's matching and middleware chain — cost more than verifying the signature (bench:ingest).
 * Here a request of those routes gets only what the receivers use: its raw body (read by raw-body within
 * server.bodyLimitBytes, as express.raw reads it), `req.get`, `res.status` and `res.json`. It matches as express does (any case, one trailing slash, any query) and
 * answers as express would: the same request log and X-Request-Id, the same 413 and 400 for a body too large or
 * cut short, the same error answers (app.ts answerError). A request it would not handle exactly so (another method,
 * a compressed body, which express.raw inflates) goes on to express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import getRawBody from 'raw-body';

/** What the fast path needs of the app around it. */
export interface FastPathOptions {
  /** Lower-case path → receiver, for the routes served here. */
  routes: ReadonlyMap<string, RequestHandler>;
  bodyLimitBytes: number;
  /** The request log and X-Request-Id, as for express's webhook routes (app.ts requestLog). */
  accessLog: (req: IncomingMessage, res: ServerResponse) => void;
  /** The error answer express's error handler gives (app.ts answerError). */
  answerError: (err: BodyError | unknown, path: string, res: JsonResponse) => void;
}

/** A body that could not be read: raw-body's error, as express's error handler gets it (its `type` and `status`). */
export interface BodyError {
  type: string;
  status: number;
  message: string;
}

/** The part of express's response the receivers and the error answers use. */
export interface JsonResponse {
  headersSent: boolean;
  status(code: number): JsonResponse;
  json(body: unknown): JsonResponse;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The request's path as express matches it: without the query, lower case, without one trailing slash. */
function routePath(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)).toLowerCase();
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function status(this: ServerResponse, code: number): ServerResponse {
  this.statusCode = code;
  return this;
}

/** express's res.json: its content type unless one is set, the body's length, then the body. */
function json(this: ServerResponse, body: unknown): ServerResponse {
  const text = JSON.stringify(body);
  if (!this.hasHeader('content-type')) this.setHeader('Content-Type', 'application/json; charset=utf-8');
  this.setHeader('Content-Length', Buffer.byteLength(text));
  this.end(text);
  return this;
}

function get(this: IncomingMessage, name: string): string | undefined {
  const key = name.toLowerCase();
  const value = this.headers[key === 'referrer' ? 'referer' : key];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The body, read as express.raw reads an uncompressed one: by raw-body, with the same limit and length check. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  return getRawBody(req, { limit, ...(declared !== undefined && { length: declared }) });
}

/** The server's request listener: the fast path's routes here, everything else to `next` (express). */
export function webhookFastPath(opts: FastPathOptions, next: Handler): Handler {
  return (req, res) => {
    if (req.method !== 'POST') return next(req, res);
    const path = routePath(req.url);
    const handler = opts.routes.get(path);
    const encoding = req.headers['content-encoding'];
    if (handler === undefined || (encoding !== undefined && encoding.toLowerCase() !== 'identity'))
      return next(req, res);
    opts.accessLog(req, res);
    const response = Object.assign(res, { status, json });
    readBody(req, opts.bodyLimitBytes).then(
      (body) => {
        const request = Object.assign(req, { body, get });
        const onError = (err: unknown) => opts.answerError(err, path, response as unknown as JsonResponse);
        try {
          (handler as unknown as (q: typeof request, s: typeof response, n: (e?: unknown) => void) => void)(
            request,
            response,
            (err?: unknown) => err !== undefined && onError(err),
          );
        } catch (err) {
          onError(err);
        }
      },
      (err: BodyError) => opts.answerError(err, path, response as unknown as JsonResponse),
    );
  };
}
