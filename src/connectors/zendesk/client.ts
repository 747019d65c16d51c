/**
 * The node-zendesk SDK, configured from Config, plus the two things it does
 * not give us: a generic request for endpoints it has no wrapper for (custom
 * objects, user_profiles events), and the ONE function that decides whether
 * a failed Zendesk call is worth retrying.
 *
 * node-zendesk 6 quirks handled here: any response carrying Retry-After (a
 * 429) RESOLVES with an Error as its result instead of throwing, and status
 * codes outside its table (502, 504…) resolve with the error body as if it
 * were data. zendeskResult turns both into a thrown ZendeskApiError.
 */
import zendesk from 'node-zendesk';
import type { Config } from '../../config.js';
import { throughGate, type CallGate } from '../../sync/push/portal-target.js';
import { isNetworkError } from '../network.js';
import { errorText, parseRetryAfter, type FailureVerdict } from '../../sync/errors.js';

export type ZendeskClient = ReturnType<typeof zendesk.createClient>;
export type ZendeskMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type ZendeskQuery = Record<string, string | number>;
/** Segments under the API base URL, optionally ending with a query: ['custom_objects', key, 'records', { external_id }]. */
export type ZendeskPath = readonly (string | number)[] | readonly [...(string | number)[], ZendeskQuery];

/** A Zendesk HTTP error, with what the response said about when to come back. */
export class ZendeskApiError extends Error {
  override name = 'ZendeskApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs: number | undefined,
    readonly body: unknown,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 20_000;

/**
 * node-zendesk's default transport (cross-fetch) has no timeout, and a hung
 * call would hold a worker forever; this is the same fetch-and-adapt pair
 * with a deadline, through the SDK's documented transportConfig seam.
 */
const transportConfig = (gate?: CallGate) => ({
  transportFn: (uri: string, init: { method: string; headers: Record<string, string>; body?: string }) =>
    throughGate(gate, () =>
      fetch(uri, {
        method: init.method,
        headers: init.headers,
        body: init.body ?? null,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      }),
    ),
  responseAdapter: (res: Response) => ({
    json: () => res.json(),
    status: res.status,
    headers: { get: (name: string) => res.headers.get(name) },
    statusText: res.statusText,
  }),
});

/**
 * @param opts.beforeRequest every HTTP call passes it (the target's rate gate): what it throws
 *   reaches the caller unchanged and no request is sent; the slot it took is released once the
 *   response has arrived or the call has failed.
 */
export function createZendeskClient(cfg: Config['zendesk'], opts: { beforeRequest?: CallGate } = {}): ZendeskClient {
  const { baseUrl, email, apiToken } = cfg;
  if (!baseUrl || !email || !apiToken) {
    const missing = [
      !baseUrl && 'ZENDESK_SUBDOMAIN (or ZENDESK_BASE_URL)',
      !email && 'ZENDESK_EMAIL',
      !apiToken && 'ZENDESK_API_TOKEN',
    ];
    throw new Error(`${missing.filter(Boolean).join(', ')} not set: the Zendesk API cannot be called`);
  }
  return zendesk.createClient({
    username: email,
    token: apiToken,
    // node-zendesk joins `${endpointUri}/${path}.json`; a trailing slash would double up.
    endpointUri: baseUrl.replace(/\/+$/, ''),
    // Keep statusCode and the response body on errors instead of a rewrapped message.
    throwOriginalException: true,
    transportConfig: transportConfig(opts.beforeRequest),
  });
}

interface SdkResponse {
  status: number;
  statusText?: string;
  headers: { get(name: string): string | null };
}
const isSdkResponse = (v: unknown): v is SdkResponse =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as SdkResponse).status === 'number' &&
  typeof (v as SdkResponse).headers?.get === 'function';
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const joined = (...parts: unknown[]): string | undefined =>
  parts.filter((s): s is string => typeof s === 'string' && s !== '').join(': ') || undefined;

/**
 * Zendesk error bodies: {error, description} (Support), {error: {title, message}},
 * {errors: [{code, title, detail}]} (newer APIs such as custom objects), or
 * plain text, which node-zendesk does not read (the body is then `{}`).
 */
function describeBody(body: unknown): string | undefined {
  if (!isRecord(body)) return typeof body === 'string' && body !== '' ? body.slice(0, 200) : undefined;
  const { error, description, errors } = body;
  if (isRecord(error)) return joined(error['title'], error['message']);
  if (typeof error === 'string') return joined(error, description);
  const first: unknown = Array.isArray(errors) ? errors[0] : undefined;
  return isRecord(first) ? joined(first['code'], first['title'], first['detail']) : undefined;
}

/** The ZendeskApiError for a failed `{ response, result }`, or null when the call succeeded. */
function failureOf(call: { response: unknown; result: unknown }): ZendeskApiError | null {
  const { response, result } = call;
  const sdkError = result instanceof Error ? (result as Error & { statusCode?: unknown; result?: unknown }) : undefined;
  const status = isSdkResponse(response)
    ? response.status
    : typeof sdkError?.statusCode === 'number'
      ? sdkError.statusCode
      : undefined;
  if (sdkError === undefined && (status === undefined || status < 400)) return null;
  const body = sdkError ? sdkError.result : result;
  const code = status ?? 0;
  const retryAfter = isSdkResponse(response) ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
  const detail =
    describeBody(body) ??
    sdkError?.message ??
    (isSdkResponse(response) ? response.statusText : undefined) ??
    'request failed';
  return new ZendeskApiError(code, `Zendesk ${code}: ${detail}`, retryAfter, body);
}

/** The data of a node-zendesk call, or a thrown ZendeskApiError when it (silently) failed. */
export function zendeskResult(call: { response: unknown; result: unknown }): unknown {
  const failure = failureOf(call);
  if (failure) throw failure;
  return call.result;
}

/**
 * A call to an endpoint node-zendesk has no wrapper for, through the same
 * client's transport (auth, base URL, `.json` suffix, timeout). Client.request
 * is skipped on purpose: it would unwrap any `user`/`users` key of the body.
 */
export async function zendeskRequest(
  client: ZendeskClient,
  method: ZendeskMethod,
  path: ZendeskPath,
  body?: unknown,
): Promise<unknown> {
  // assembleUrl pops the query object off the array it is given, so it gets a copy.
  const call = await client.users.transporter.request(method, [...path], body ?? null);
  return zendeskResult(call);
}

const byStatus = (status: number, message: string, retryAfterMs?: number): FailureVerdict => {
  const retryable = status === 429 || status >= 500;
  return { retryable, status, message, ...(retryable && retryAfterMs !== undefined && { retryAfterMs }) };
};

/**
 * 429, 5xx and network errors retry; other 4xx do not. Accepts a thrown
 * error, or what node-zendesk resolved (`{ response, result }`, or the bare
 * Error it puts in `result` for a 429), so no caller has to know the quirk.
 */
export function classifyZendeskError(errOrResult: unknown): FailureVerdict {
  let err = errOrResult;
  if (isRecord(err) && 'response' in err && 'result' in err) {
    const failure = failureOf({ response: err['response'], result: err['result'] });
    if (failure === null) return { retryable: false, message: 'not an error: the Zendesk call succeeded' };
    err = failure;
  }
  if (err instanceof ZendeskApiError) return byStatus(err.status, err.message, err.retryAfterMs);
  if (err instanceof Error) {
    const { statusCode, result } = err as Error & { statusCode?: unknown; result?: unknown };
    if (typeof statusCode === 'number')
      return byStatus(statusCode, `Zendesk ${statusCode}: ${describeBody(result) ?? err.message}`);
    if (isNetworkError(err)) return { retryable: true, message: `Zendesk unreachable: ${errorText(err)}` };
    return { retryable: false, message: err.message };
  }
  return { retryable: false, message: String(err) };
}
