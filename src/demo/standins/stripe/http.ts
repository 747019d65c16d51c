/** The Stripe stand-in's HTTP plumbing: pretty-printed JSON answers, query and form params, `expand[]`, retrieval, and idempotent writes. */
import type { Request, Response } from 'express';
import type { Json, StripeList } from './state.js';
import { renderObject, type StripeView } from './render.js';
import { HttpError, arrayParam, isRecord, rejectUnknown, stripeErrors } from './params.js';
import type { StripeEvents } from './events.js';
import type { StripeScenarios } from './scenarios.js';
import type { StripeStore } from './store.js';

export type Params = Json;

/** What the routers of /v1 work with. */
export interface StripeApi {
  store: StripeStore;
  scenarios: StripeScenarios;
  writes: IdempotentWrites;
}

export const query = (req: Request): Params => (isRecord(req.query) ? (req.query as Params) : {});
export const form = (req: Request): Params => (isRecord(req.body) ? (req.body as Params) : {});
export const param = (req: Request, name: string): string => String(req.params[name] ?? '');

export function send(res: Response, status: number, body: unknown): void {
  // Stripe's API answers pretty-printed JSON.
  res
    .status(status)
    .type('application/json')
    .send(`${JSON.stringify(body, null, 2)}\n`);
}

/** Stripe's 404 for a path no route knows. */
export function unrecognizedUrl(req: Request, res: Response): void {
  send(res, 404, stripeErrors.unrecognizedUrl(req.method, req.originalUrl.split('?')[0] ?? ''));
}

function expandPath(view: StripeView, node: unknown, parts: string[], whole: string): void {
  if (!isRecord(node) || parts.length === 0) return;
  const [head, ...rest] = parts as [string, ...string[]];
  if (!(head in node))
    throw new HttpError(400, stripeErrors.invalid(`This property cannot be expanded (${whole}).`, 'expand'));
  const value = node[head];
  if (rest.length > 0) return expandPath(view, value, rest, whole);
  if (value === null || isRecord(value)) return;
  if (typeof value !== 'string')
    throw new HttpError(400, stripeErrors.invalid(`This property cannot be expanded (${whole}).`, 'expand'));
  const object = renderObject(view, value);
  if (object) node[head] = object;
}

/** Replaces ids with objects along each `expand[]` path (`data.` prefixed on lists), as Stripe does. */
export function expand(view: StripeView, target: unknown, paths: string[], list: boolean): void {
  for (const path of paths) {
    const parts = path.split('.');
    if (list) {
      if (parts[0] !== 'data')
        throw new HttpError(
          400,
          stripeErrors.invalid(
            `This property cannot be expanded (${parts[0]}). You may want to try expanding 'data.${path}' instead.`,
            'expand',
          ),
        );
      for (const item of (target as StripeList<Json>).data) expandPath(view, item, parts.slice(1), path);
    } else expandPath(view, target, parts, path);
  }
}

/** GET of one object: only `expand` is allowed. */
export function retrieve(view: StripeView, req: Request, res: Response, object: unknown): void {
  const q = query(req);
  rejectUnknown(q, ['expand']);
  expand(view, object, arrayParam(q['expand'], 'expand'), false);
  send(res, 200, object);
}

/** Writes: an Idempotency-Key replays the first answer (or refuses another endpoint); events name the request. */
export class IdempotentWrites {
  private readonly seen = new Map<string, { method: string; path: string; status: number; body: unknown }>();

  constructor(private readonly events: StripeEvents) {}

  // Every handler is synchronous and throws HttpError; express 5 passes it to the error handler.
  run(req: Request, res: Response, fn: () => unknown): void {
    const key = req.get('idempotency-key');
    const path = req.originalUrl.split('?')[0] ?? '';
    if (key) {
      const seen = this.seen.get(key);
      if (seen) {
        if (seen.path !== path || seen.method !== req.method) {
          throw new HttpError(
            400,
            stripeErrors.idempotency(
              `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${seen.method} ${seen.path}' vs '${req.method} ${path}'). Try using a key other than '${key}' if you meant to execute a different request.`,
            ),
          );
        }
        res.setHeader('Idempotent-Replayed', 'true');
        return send(res, seen.status, seen.body);
      }
    }
    this.events.currentRequest = { id: String(res.locals.requestId), idempotency_key: key ?? null };
    try {
      const body = fn();
      if (key) this.seen.set(key, { method: req.method, path, status: 200, body });
      send(res, 200, body);
    } finally {
      this.events.currentRequest = null;
    }
  }
}
