/**
 * The Stripe and Zendesk webhooks answered ahead of express, by the same receivers (stripe.ts, zendesk.ts): the
 * hot path of the web role. Express's work per request — its request and response prototypes swapped into node's
 * objects, the router's matching, raw-body's reader — cost more than verifying the signature (bench:ingest).
 * Here a request of those routes gets only what the receivers use: its raw body (within server.bodyLimitBytes),
 * `req.get`, `res.status` and `res.json`. It matches as express does (any case, one trailing slash, any query) and
 * answers as express would: the same request log and X-Request-Id, the same 413 and 400 for a body too large or
 * cut short, the same error answers (app.ts answerError). A request it would not handle exactly so (another method,
 * a compressed body, which express.raw inflates) goes on to express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';

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

/** A body that could not be read: the shape raw-body gives express's error handler. */
export interface BodyError {
  type: 'entity.too.large' | 'request.aborted' | 'request.size.invalid';
  status: 400 | 413;
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

/** The body, as express.raw with this limit reads an uncompressed one. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    const length = declared === undefined ? null : Number(declared);
    if (length !== null && length > limit) {
      req.resume(); // read and dropped, so that the answer can be sent on a kept-alive connection
      reject({ type: 'entity.too.large', status: 413, message: 'request entity too large' } satisfies BodyError);
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const fail = (err: BodyError) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        fail({ type: 'entity.too.large', status: 413, message: 'request entity too large' });
        req.resume();
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('aborted', () => fail({ type: 'request.aborted', status: 400, message: 'request aborted' }));
    req.once('end', () => {
      if (done) return;
      if (length !== null && received !== length) {
        fail({ type: 'request.size.invalid', status: 400, message: 'request size did not match content length' });
        return;
      }
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    });
  });
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
