/**
 * Delivery of outbound webhooks over HTTP, in the Standard Webhooks wire
 * format: the body as recorded, `webhook-id` (the event's id, the same on
 * every attempt), `webhook-timestamp` (this attempt, unix seconds) and
 * `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
 * one per secret while rotating), signed with the `standardwebhooks`
 * package. Whether a delivery worked is decided in ONE place:
 * `classifyAnswer`.
 */
import { Webhook } from 'standardwebhooks';
import type { DeliveryRequest, DeliveryResult, Subscription, SubscriberTransport } from '../../sync/outbound/types.js';

const USER_AGENT = 'portal-sync-webhooks/1';
/** Enough of an answer to say why it failed; the rest is not read. */
const ANSWER_EXCERPT = 200;

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

/** `Retry-After` as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Any 2xx is a delivery. Everything else is retried, 4xx included, as Stripe and Svix do: a
 * subscriber's 4xx is usually its own deploy or config problem, and dropping the event would lose
 * it for good; a subscriber that keeps failing is paused (and replayed) instead. A redirect is not
 * followed (a signed request must reach the URL that was configured).
 */
export function classifyAnswer(status: number, retryAfter: string | null, latencyMs: number, excerpt: string): DeliveryResult {
  if (status >= 200 && status < 300) return { ok: true, status, latencyMs };
  const wait = parseRetryAfter(retryAfter);
  const said = excerpt.replace(/\s+/g, ' ').trim().slice(0, ANSWER_EXCERPT);
  return { ok: false, status, latencyMs, error: `HTTP ${status}${said ? `: ${said}` : ''}`, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
}

function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = e.cause?.code;
  return code ? `network error ${code}` : `network error: ${e.cause?.message ?? e.message ?? String(err)}`.slice(0, ANSWER_EXCERPT);
}

/** Reads at most `max` bytes of an answer, then lets go of the connection. */
async function readExcerpt(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

export function createSubscriberTransport(): SubscriberTransport {
  return async (sub: Subscription, request: DeliveryRequest): Promise<DeliveryResult> => {
    const started = performance.now();
    const signal = AbortSignal.timeout(sub.timeoutMs);
    try {
      const res = await fetch(sub.url, {
        method: 'POST',
        redirect: 'manual',
        signal,
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...signedHeaders(sub.secrets, request.id, new Date(), request.body) },
        body: request.body,
      });
      // The answer counts once its status is in: a 2xx body is not read, only released.
      const ok = res.status >= 200 && res.status < 300;
      const excerpt = ok ? (await res.body?.cancel().catch(() => undefined), '') : await readExcerpt(res, ANSWER_EXCERPT).catch(() => '');
      return classifyAnswer(res.status, res.headers.get('retry-after'), Math.round(performance.now() - started), excerpt);
    } catch (err) {
      return { ok: false, status: null, latencyMs: Math.round(performance.now() - started), error: describeFailure(err, sub.timeoutMs) };
    }
  };
}
