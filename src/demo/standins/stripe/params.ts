/** Stripe's error bodies (`{error:{type, code?, message, param?}}`) and the request-parameter checks that answer them: unknown parameters, integers, lists, `created` ranges, `limit`. */
import { type Json, type CreatedRange } from './state.js';

// ---------------------------------------------------------------------------------------------
// Stripe's error bodies
// ---------------------------------------------------------------------------------------------

export type StripeErrorBody = {
  error: { type: string; message: string; code?: string; param?: string; doc_url?: string; decline_code?: string };
};

export const stripeErrors = {
  noKey: (): StripeErrorBody => ({
    error: {
      type: 'invalid_request_error',
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    },
  }),
  badKey: (key: string): StripeErrorBody => ({
    error: { type: 'invalid_request_error', message: `Invalid API Key provided: ${maskKey(key)}` },
  }),
  missing: (kind: string, id: string, param = 'id'): StripeErrorBody => ({
    error: {
      type: 'invalid_request_error',
      code: 'resource_missing',
      doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
      message: `No such ${kind}: '${id}'`,
      param,
    },
  }),
  invalid: (message: string, param?: string, code?: string): StripeErrorBody => ({
    error: {
      type: 'invalid_request_error',
      message,
      ...(param !== undefined && { param }),
      ...(code !== undefined && { code }),
    },
  }),
  /** A Stripe-Account header sent with the key of an account that is not a Connect platform. */
  notPlatform: (): StripeErrorBody => ({
    error: {
      type: 'invalid_request_error',
      message:
        "Only Stripe Connect platforms can work with other accounts. If you specified a client_id parameter, make sure it's correct. If you need to setup a Stripe Connect platform, you can do so at https://dashboard.stripe.com/account/applications/settings.",
    },
  }),
  /** A Stripe-Account header naming an account the platform's key may not act on (none connected by that id). */
  noAccess: (key: string, account: string): StripeErrorBody => ({
    error: {
      type: 'invalid_request_error',
      code: 'account_invalid',
      message: `The provided key '${maskKey(key)}' does not have access to account '${account}' (or that account does not exist). Application access may have been revoked.`,
    },
  }),
  unrecognizedUrl: (method: string, path: string): StripeErrorBody => ({
    error: {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    },
  }),
  rateLimit: (): StripeErrorBody => ({
    error: {
      type: 'invalid_request_error',
      code: 'rate_limit',
      doc_url: 'https://stripe.com/docs/error-codes/rate-limit',
      message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
    },
  }),
  lockTimeout: (): StripeErrorBody => ({
    error: {
      type: 'invalid_request_error',
      code: 'lock_timeout',
      doc_url: 'https://stripe.com/docs/error-codes/lock-timeout',
      message:
        'This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request. If you see this error frequently and are making multiple concurrent requests to a single object, make your requests serially or at a lower rate.',
    },
  }),
  apiError: (): StripeErrorBody => ({ error: { type: 'api_error', message: 'An unknown error occurred' } }),
  idempotency: (message: string): StripeErrorBody => ({ error: { type: 'idempotency_error', message } }),
};

function maskKey(key: string): string {
  const m = /^((?:sk|rk|pk)_(?:test|live)_)/.exec(key);
  return `${m?.[1] ?? ''}${'*'.repeat(Math.max(0, key.length - (m?.[1]?.length ?? 0) - 4))}${key.slice(-4)}`;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
  ) {
    super(body.error.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Parameters (express's extended query parser turns `created[gt]=1` into { created: { gt: '1' } })
// ---------------------------------------------------------------------------------------------

export const PAGING = ['limit', 'starting_after', 'ending_before', 'expand'] as const;

export function rejectUnknown(params: Json, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key))
      throw new HttpError(400, stripeErrors.invalid(`Received unknown parameter: ${key}`, key));
  }
}

export function integerParam(value: unknown, param: string): number {
  if (typeof value !== 'string' || !/^-?\d+$/.test(value))
    throw new HttpError(400, stripeErrors.invalid(`Invalid integer: ${String(value)}`, param));
  return Number(value);
}

export function stringParam(value: unknown, param: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new HttpError(400, stripeErrors.invalid(`Invalid string: ${JSON.stringify(value)}`, param));
  return value;
}

export function arrayParam(value: unknown, param: string, max = Infinity): string[] {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : isRecord(value) ? Object.values(value) : undefined;
  if (!items || items.some((v) => typeof v !== 'string'))
    throw new HttpError(400, stripeErrors.invalid(`Invalid array`, param));
  if (items.length > max)
    throw new HttpError(400, stripeErrors.invalid(`This array can have at most ${max} items.`, param));
  return items as string[];
}

export function createdParam(value: unknown, param = 'created'): CreatedRange | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return { eq: integerParam(value, param) };
  if (!isRecord(value)) throw new HttpError(400, stripeErrors.invalid(`Invalid ${param}`, param));
  const range: CreatedRange = {};
  for (const [op, v] of Object.entries(value)) {
    if (op !== 'gt' && op !== 'gte' && op !== 'lt' && op !== 'lte') {
      throw new HttpError(400, stripeErrors.invalid(`Received unknown parameter: ${param}[${op}]`, `${param}[${op}]`));
    }
    range[op] = integerParam(v, `${param}[${op}]`);
  }
  return range;
}

export function limitParam(value: unknown): number {
  if (value === undefined) return 10;
  const limit = integerParam(value, 'limit');
  if (limit < 1)
    throw new HttpError(400, stripeErrors.invalid('This value must be greater than or equal to 1.', 'limit'));
  if (limit > 100)
    throw new HttpError(
      400,
      stripeErrors.invalid(`This value must be less than or equal to 100 (it currently is '${limit}').`, 'limit'),
    );
  return limit;
}

export const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
export const isPlainHash = (v: unknown): v is Json => isRecord(v) && v['object'] === undefined;
