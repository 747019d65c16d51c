/** The Salesforce stand-in's HTTP plumbing: what the routes share (the context, JSON answers, default failure bodies, served API versions, object and field lookups that answer Salesforce's 404s, request bodies). */
import type { Request, Response } from 'express';
import type { FaultInjector, FixedWindowRateLimiter } from '../common.js';
import { apiError, noSuchExternalIdField, notFound } from './errors.js';
import type { SObjectDef } from './schema.js';
import { type SalesforceState, type Values, jsonToken } from './state.js';
import type { SalesforceCall, SalesforceField } from './types.js';

export type Ctx = {
  state: SalesforceState;
  apiVersion: string;
  dailyLimit: number;
  limiter: FixedWindowRateLimiter | null;
  faults: FaultInjector;
  armed: Array<{ status: number | 'reset' | 'timeout'; body: unknown; match: RegExp | undefined }>;
  tokens: Set<string>;
  credentials: { clientId: string; clientSecret: string };
  calls: SalesforceCall[];
  cursors: Map<string, { records: unknown[]; batch: number }>;
  instanceUrl: () => string;
  echo: (def: SObjectDef, ids: string[]) => void;
};

const JSON_TYPE = 'application/json;charset=UTF-8';
export const MAX_COLLECTION = 200;

export function send(res: Response, status: number, body: unknown): void {
  res.status(status);
  if (typeof body === 'string') {
    res.setHeader('Content-Type', 'text/html;charset=UTF-8');
    res.end(body);
    return;
  }
  res.setHeader('Content-Type', JSON_TYPE);
  res.end(JSON.stringify(body));
}

export function defaultFailureBody(status: number, errorId: number): unknown {
  if (status === 401) return [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }];
  if (status === 403) return [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }];
  if (status === 404) return [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }];
  if (status === 503)
    return [{ message: 'Too many requests waiting for connections', errorCode: 'SERVER_UNAVAILABLE' }];
  if (status >= 500) {
    const id = `${1_000_000_000 + errorId}-${10_000 + (errorId % 90_000)} (${-(1_500_000_000 + errorId)})`;
    return [
      {
        message: `An unexpected error occurred. Please include this ErrorId if you contact support: ${id}`,
        errorCode: 'UNKNOWN_EXCEPTION',
      },
    ];
  }
  return [{ message: `stand-in failure ${status}`, errorCode: 'INVALID_INPUT' }];
}

/** "v62.0" → the version, when this org serves it. */
export function servedVersion(ctx: Ctx, segment: string | undefined): string | null {
  const m = /^v(\d+)\.0$/.exec(segment ?? '');
  if (!m) return null;
  const major = Number(m[1]);
  return major >= 20 && major <= Number.parseFloat(ctx.apiVersion) ? `${major}.0` : null;
}

/** The API version of the request, as the gate set it. */
export const versionOf = (res: Response) => res.locals['version'] as string;
export const sobjectUrl = (version: string, def: SObjectDef, id: string) =>
  `/services/data/v${version}/sobjects/${def.name}/${id}`;

export function objectOr404(ctx: Ctx, name: string | undefined): SObjectDef {
  const def = ctx.state.objectOrNull(name ?? '');
  if (!def) throw notFound();
  return def;
}

/** A field usable as the key of an upsert or a get-by-value: an external id, an idLookup field, or Id. */
export function lookupFieldOr404(def: SObjectDef, name: string | undefined): SalesforceField {
  const field = def.byName.get((name ?? '').toLowerCase());
  if (!field || !(field.externalId || field.idLookup)) throw noSuchExternalIdField(name ?? '');
  return field;
}

export function bodyObject(req: Request): Values {
  const body: unknown = req.body;
  if (body === undefined) throw apiError(400, 'JSON_PARSER_ERROR', 'No content to map due to end-of-input');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw apiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of sObject from ${jsonToken(body)} value or request may be missing a required field`,
    );
  }
  return body as Values;
}
