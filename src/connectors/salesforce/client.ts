/**
 * A jsforce Connection, configured from Config, and the ONE function that
 * decides whether a failed Salesforce call is worth retrying.
 *
 * Auth: a configured access token (with its instance URL) is used as is;
 * otherwise the OAuth 2.0 client credentials flow, through jsforce's own
 * `authorize({ grant_type: 'client_credentials' })`. With a client id and
 * secret the connection also renews an expired token that way: jsforce's
 * default refresh wants a refresh token, which this flow never issues.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Connection, TokenResponse } from 'jsforce';
import { SALESFORCE_GENERIC_LOGIN, SALESFORCE_GENERIC_LOGIN_PROBLEM, type Config } from '../../config.js';
import { isNetworkError } from '../network.js';
import { errorText, parseRetryAfter, type FailureVerdict } from '../../sync/errors.js';

/**
 * jsforce waits up to 30 minutes for an answer, and its undici pool 5 minutes for headers: a hung
 * Salesforce call would hold a push worker (and a graceful shutdown) that long. With a deadline the
 * call fails as a network error ("fetch failed"), which is retried with backoff like a 5xx. The same
 * deadline as the Zendesk client's.
 */
const TIMEOUT_MS = 20_000;

let connectionClass: Promise<typeof Connection> | null = null;
/**
 * jsforce (and undici, for its deadline), loaded on the first connection rather than with this module: most
 * commands and roles never call Salesforce, and loading them took 0.6 s of every `portal-sync` command's 1.5 s.
 */
function loadJsforce(): Promise<typeof Connection> {
  connectionClass ??= (async () => {
    const [sdk, request, { Agent }] = await Promise.all([
      import('jsforce'),
      import('jsforce/lib/request.js'),
      import('undici'),
    ]);
    request.setDispatcher(
      new Agent({ connect: { allowH2: false }, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS }),
    );
    return sdk.Connection;
  })();
  return connectionClass;
}

/** `config check` and start-up refuse this already (config.ts); a Config built by hand meets it here. */
function tokenHost(auth: Config['salesforceAuth']): string {
  if (!SALESFORCE_GENERIC_LOGIN.test(auth.loginUrl)) return auth.loginUrl;
  if (auth.instanceUrl) return auth.instanceUrl;
  throw new Error(SALESFORCE_GENERIC_LOGIN_PROBLEM);
}

type Refresh = (
  conn: Connection,
  callback: (err: Error | null | undefined, accessToken?: string, res?: TokenResponse) => void,
) => void;

function clientCredentials(auth: Config['salesforceAuth'], clientId: string, clientSecret: string) {
  const refreshFn: Refresh = (conn, callback) => {
    conn.oauth2.requestToken({ grant_type: 'client_credentials' }).then(
      (res) => callback(null, res.access_token, res),
      (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
    );
  };
  return { oauth2: { loginUrl: tokenHost(auth), clientId, clientSecret }, refreshFn };
}

/** What the failed answers to one call (callNotingRetryAfter) said: their status, and when to come back. */
interface Noted {
  httpStatus?: number;
  retryAfterMs?: number;
}
const answers = new AsyncLocalStorage<Noted>();

/**
 * jsforce turns an error answer into an error without its headers, so a 429's or 503's Retry-After
 * would be lost: the connection's transport is watched, and the header is kept for the call that
 * is running in the same async context (callNotingRetryAfter). The transport is jsforce's own
 * per-connection object (Connection#_transport); without it nothing is noted and the defaults apply.
 */
function noteRetryAfter(conn: Connection): Connection {
  type Answer = { statusCode?: number; headers?: Record<string, string | undefined> };
  const transport = (conn as unknown as { _transport?: { httpRequest: (...args: unknown[]) => PromiseLike<Answer> } })
    ._transport;
  if (!transport || typeof transport.httpRequest !== 'function') return conn;
  const httpRequest = transport.httpRequest.bind(transport);
  transport.httpRequest = (...args: unknown[]) => {
    const seen = answers.getStore();
    const pending = httpRequest(...args);
    if (seen) {
      pending.then(
        (res) => {
          if (res?.statusCode === undefined || res.statusCode < 400) return;
          seen.httpStatus = res.statusCode;
          const after =
            res.statusCode === 429 || res.statusCode === 503
              ? parseRetryAfter(res.headers?.['retry-after'])
              : undefined;
          if (after !== undefined) seen.retryAfterMs = after;
          else delete seen.retryAfterMs;
        },
        () => undefined,
      );
    }
    return pending;
  };
  return conn;
}

/**
 * Runs one call; an error it throws carries the failed answer's `httpStatus` (jsforce keeps only the
 * error code of a JSON error body) and `retryAfterMs` when the answer said so; both are read by
 * classifySalesforceError.
 */
export async function callNotingRetryAfter<T>(call: () => Promise<T>): Promise<T> {
  const seen: Noted = {};
  try {
    return await answers.run(seen, call);
  } catch (err) {
    if (err instanceof Error) Object.assign(err, seen);
    throw err;
  }
}

/** `apiVersion` like "62.0": jsforce would otherwise default to an old one. */
export async function createSalesforceConnection(
  auth: Config['salesforceAuth'],
  apiVersion: string,
): Promise<Connection> {
  const { instanceUrl, accessToken, clientId, clientSecret } = auth;
  const renew = clientId && clientSecret ? clientCredentials(auth, clientId, clientSecret) : undefined;
  const Connection = await loadJsforce();
  if (accessToken && instanceUrl) {
    return noteRetryAfter(new Connection({ instanceUrl, accessToken, version: apiVersion, ...renew }));
  }
  if (!renew) {
    throw new Error(
      'SALESFORCE_ACCESS_TOKEN with SALESFORCE_INSTANCE_URL, or SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET, ' +
        'must be set: the Salesforce API cannot be called',
    );
  }
  const conn = new Connection({ version: apiVersion, ...renew });
  // POST <token host>/services/oauth2/token; the answer names the instance URL.
  await conn.authorize({ grant_type: 'client_credentials' });
  return noteRetryAfter(conn);
}

/**
 * Transient by Salesforce's own codes: the API request limit (403
 * REQUEST_LIMIT_EXCEEDED), an unavailable server, row-lock contention.
 * jsforce names errors whose body it cannot read ERROR_HTTP_<status>.
 */
// UNKNOWN_EXCEPTION is how jsforce reports Salesforce's own 500 (the status code is lost): a 5xx, so retried.
const RETRYABLE_CODES = new Set([
  'REQUEST_LIMIT_EXCEEDED',
  'SERVER_UNAVAILABLE',
  'UNABLE_TO_LOCK_ROW',
  'UNKNOWN_EXCEPTION',
]);
const HTTP_CODE = /^ERROR_HTTP_(\d{3})$/;

/**
 * REQUEST_LIMIT_EXCEEDED, 429, 5xx and network errors retry; anything else
 * (NOT_FOUND, INVALID_SESSION_ID, invalid_client from the token endpoint…) is
 * permanent. jsforce keeps no status code on its errors, only the code.
 */
export function classifySalesforceError(err: unknown): FailureVerdict {
  if (!(err instanceof Error)) return { retryable: false, message: String(err) };
  const errorCode = (err as { errorCode?: unknown }).errorCode;
  // OAuth token-endpoint errors carry their code (invalid_client, ERROR_HTTP_503…) as the error name.
  const code = typeof errorCode === 'string' ? errorCode : err.name;
  const httpStatus = HTTP_CODE.exec(code)?.[1];
  const noted = (err as { httpStatus?: unknown }).httpStatus;
  const status = httpStatus !== undefined ? Number(httpStatus) : typeof noted === 'number' ? noted : undefined;
  const message = `Salesforce ${code}: ${err.message.slice(0, 300)}`;
  const retryAfterMs = (err as { retryAfterMs?: unknown }).retryAfterMs;
  if (RETRYABLE_CODES.has(code) || status === 429 || (status !== undefined && status >= 500)) {
    return {
      retryable: true,
      message,
      ...(status !== undefined && { status }),
      ...(typeof retryAfterMs === 'number' && { retryAfterMs }),
    };
  }
  if (status === undefined && isNetworkError(err))
    return { retryable: true, message: `Salesforce unreachable: ${errorText(err)}` };
  return { retryable: false, message, ...(status !== undefined && { status }) };
}
