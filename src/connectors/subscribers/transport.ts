/**
 * Delivery of outbound webhooks over HTTP, in the Standard Webhooks wire
 * format: the body as recorded, `webhook-id` (the event's id, the same on
 * every attempt), `webhook-timestamp` (this attempt, unix seconds) and
 * `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
 * one per secret while rotating), signed with the `standardwebhooks`
 * package. Whether a delivery worked is decided in ONE place:
 * `classifyAnswer`. Sent with node:http(s) so that the socket's own lookup
 * can refuse private addresses (address-guard.ts); what a failing subscriber
 * said is kept only as a short, printable excerpt (it is shown in /admin and
 * the CLI).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import { guardedLookup, literalRefusal, systemResolver, type Resolver } from './address-guard.js';
import type { DeliveryRequest, DeliveryResult, Subscription, SubscriberTransport } from '../../sync/outbound/types.js';
import { parseRetryAfter } from '../../sync/errors.js';

const USER_AGENT = 'portal-sync-webhooks/1';
/** Enough of an answer to say why it failed; the rest is not read. */
const ANSWER_EXCERPT = 200;
/** What of it is shown: printable ASCII only, this many characters at most. */
const SHOWN_EXCERPT = 80;

const signers = new Map<string, Webhook>();
const signer = (secret: string): Webhook => {
  let w = signers.get(secret);
  if (!w) signers.set(secret, (w = new Webhook(secret)));
  return w;
};

/** The three Standard Webhooks headers for one attempt. */
export function signedHeaders(secrets: readonly string[], id: string, at: Date, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => signer(s).sign(id, at, body)).join(' '),
  };
}

/**
 * Any 2xx is a delivery. Everything else is retried, 4xx included, as Stripe and Svix do: a
 * subscriber's 4xx is usually its own deploy or config problem, and dropping the event would lose
 * it for good; a subscriber that keeps failing is paused (and replayed) instead. A redirect is not
 * followed (a signed request must reach the URL that was configured).
 */
export function classifyAnswer(
  status: number,
  retryAfter: string | null,
  latencyMs: number,
  excerpt: string,
): DeliveryResult {
  if (status >= 200 && status < 300) return { ok: true, status, latencyMs };
  const wait = parseRetryAfter(retryAfter);
  // The subscriber's text reaches /admin and terminals: no control characters, no escape sequences, short.
  const said = excerpt
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, SHOWN_EXCERPT);
  return {
    ok: false,
    status,
    latencyMs,
    error: `HTTP ${status}${said ? `: ${said}` : ''}`,
    ...(wait !== undefined ? { retryAfterMs: wait } : {}),
  };
}

function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  if (e.name === 'RefusedAddressError') return e.message!;
  const code = e.code ?? e.cause?.code;
  return code
    ? `network error ${code}`
    : `network error: ${e.cause?.message ?? e.message ?? String(err)}`.slice(0, ANSWER_EXCERPT);
}

/** Reads at most `max` bytes of an answer, then lets go of the connection. */
function readExcerpt(res: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      res.destroy();
      resolve(Buffer.concat(chunks).subarray(0, max).toString('utf8'));
    };
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= max) done();
    });
    res.on('end', done);
    res.on('error', done);
  });
}

/** One POST; resolves with the answer's head once it is in (its body is the caller's to read or drop). */
function post(
  sub: Subscription,
  headers: Record<string, string>,
  body: string,
  resolver: Resolver,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const url = new URL(sub.url);
  const allowPrivateNetworks = sub.allowPrivateNetworks === true;
  const refused = allowPrivateNetworks ? undefined : literalRefusal(url.hostname);
  if (refused) return Promise.reject(refused);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      signal,
      // No pooled sockets: each delivery resolves and checks its host afresh.
      agent: false,
      lookup: guardedLookup(resolver, { allowPrivateNetworks }),
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end(body);
  });
}

export interface TransportOptions {
  /** How host names are resolved (tests give one that answers private addresses); the system's by default. */
  resolver?: Resolver;
}

export function createSubscriberTransport(opts: TransportOptions = {}): SubscriberTransport {
  const resolver = opts.resolver ?? systemResolver;
  return async (sub: Subscription, request: DeliveryRequest): Promise<DeliveryResult> => {
    const started = performance.now();
    const signal = AbortSignal.timeout(sub.timeoutMs);
    try {
      const headers = {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        ...signedHeaders(sub.secrets, request.id, new Date(), request.body),
      };
      const res = await post(sub, headers, request.body, resolver, signal);
      const status = res.statusCode ?? 0;
      // The answer counts once its status is in: a 2xx body is not read, only released.
      const ok = status >= 200 && status < 300;
      const excerpt = ok ? (res.destroy(), '') : await readExcerpt(res, ANSWER_EXCERPT);
      const retryAfter = res.headers['retry-after'];
      return classifyAnswer(
        status,
        typeof retryAfter === 'string' ? retryAfter : null,
        Math.round(performance.now() - started),
        excerpt,
      );
    } catch (err) {
      return {
        ok: false,
        status: null,
        latencyMs: Math.round(performance.now() - started),
        error: describeFailure(err, sub.timeoutMs),
      };
    }
  };
}
