/**
 * Webhooks as the platforms send them: signed at send time (so timestamps are
 * fresh), and a client that retries the way the providers do — 5xx, 429 and
 * network errors are retried with exponential backoff that honours
 * Retry-After (capped, so the suite runs in minutes, not in Stripe's hours);
 * any other 4xx is final.
 */
import { Agent, request } from 'undici';
import { signStripePayload } from '../../../src/connectors/stripe/webhook.js';
import { signZendeskPayload } from '../../../src/connectors/zendesk/signature.js';
import { signHmac } from '../../../src/webhooks/hmac.js';
import { TEST_SECRETS } from '../../support/daemon.js';

export type WireKind = 'stripe' | 'zendesk' | 'salesforce-json' | 'salesforce-soap' | 'portal';

/** One delivery's payload; `ids` are the SourceEvent job ids (`<source>-<eventId>`) it carries. */
export interface Wire {
  kind: WireKind;
  body: string;
  ids: string[];
  /** Zendesk's X-Zendesk-Webhook-Invocation-Id, where the platform sends one. */
  invocationId?: string;
}

export interface SignedRequest {
  path: string;
  body: string;
  headers: Record<string, string>;
}

const zendeskTimestamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Headers and path as the platform would send them at `now`. */
export function signWire(w: Wire, now = Date.now(), secrets = TEST_SECRETS): SignedRequest {
  const json = { 'content-type': 'application/json' };
  switch (w.kind) {
    case 'stripe':
      return {
        path: '/webhooks/stripe',
        body: w.body,
        headers: {
          ...json,
          'stripe-signature': signStripePayload(w.body, secrets.STRIPE_WEBHOOK_SECRET, Math.floor(now / 1000)),
        },
      };
    case 'zendesk': {
      const ts = zendeskTimestamp(now);
      return {
        path: '/webhooks/zendesk',
        body: w.body,
        headers: {
          ...json,
          'x-zendesk-webhook-signature': signZendeskPayload(w.body, secrets.ZENDESK_WEBHOOK_SECRET, ts),
          'x-zendesk-webhook-signature-timestamp': ts,
          ...(w.invocationId ? { 'x-zendesk-webhook-invocation-id': w.invocationId } : {}),
        },
      };
    }
    case 'salesforce-json':
      return {
        path: '/webhooks/salesforce',
        body: w.body,
        headers: {
          ...json,
          'x-portal-sync-signature': signHmac(w.body, secrets.SALESFORCE_WEBHOOK_SECRET, Math.floor(now / 1000)),
        },
      };
    case 'salesforce-soap':
      return {
        path: `/webhooks/salesforce?token=${secrets.SALESFORCE_OUTBOUND_TOKEN}`,
        body: w.body,
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
      };
    case 'portal':
      return {
        path: '/events/portal',
        body: w.body,
        headers: {
          ...json,
          'x-portal-sync-signature': signHmac(w.body, secrets.PORTAL_EVENTS_SECRET, Math.floor(now / 1000)),
        },
      };
  }
}

export interface Answer {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface Outcome {
  /** The last answer's status; 0 when the last attempt got no answer at all. */
  status: number;
  attempts: number;
  /** Every attempt's status (0: no answer: refused, reset, timed out). */
  statuses: number[];
  errors: string[];
  text: string;
}

export interface RetryPolicy {
  maxAttempts: number;
  /** First backoff; doubles per attempt, with jitter. */
  baseMs: number;
  capMs: number;
  /** Give up retrying after this long since the first attempt. */
  deadlineMs: number;
}

export const PROVIDER_RETRY: RetryPolicy = { maxAttempts: 200, baseMs: 100, capMs: 2_000, deadlineMs: 120_000 };
export const NO_RETRY: RetryPolicy = { maxAttempts: 1, baseMs: 0, capMs: 0, deadlineMs: 0 };

const retryable = (status: number) => status === 0 || status === 429 || status >= 500;

export class WebhookClient {
  readonly agent: Agent;

  constructor(
    private readonly origin: string,
    opts: { connections?: number; keepAlive?: boolean; timeoutMs?: number } = {},
  ) {
    this.agent = new Agent({
      connections: opts.connections ?? 32,
      pipelining: 1,
      keepAliveTimeout: opts.keepAlive === false ? 1 : 4_000,
      headersTimeout: opts.timeoutMs ?? 30_000,
      bodyTimeout: opts.timeoutMs ?? 30_000,
    });
  }

  /** One attempt; never throws (a transport failure is status 0). */
  async once(req: SignedRequest, method = 'POST'): Promise<Answer & { error?: string }> {
    try {
      const res = await request(`${this.origin}${req.path}`, {
        method: method as 'POST',
        headers: req.headers,
        ...(method === 'GET' || method === 'HEAD' ? {} : { body: req.body }),
        dispatcher: this.agent,
      });
      const text = await res.body.text();
      return { status: res.statusCode, text, headers: res.headers };
    } catch (err) {
      const e = err as Error & { code?: string };
      return { status: 0, text: '', headers: {}, error: e.code ?? e.message };
    }
  }

  /** Sends a wire payload, re-signed for each attempt, retrying like the provider. */
  async send(w: Wire, policy: RetryPolicy = PROVIDER_RETRY): Promise<Outcome> {
    const started = Date.now();
    const outcome: Outcome = { status: 0, attempts: 0, statuses: [], errors: [], text: '' };
    for (;;) {
      const answer = await this.once(signWire(w));
      outcome.attempts += 1;
      outcome.status = answer.status;
      outcome.statuses.push(answer.status);
      outcome.text = answer.text;
      if (answer.error) outcome.errors.push(answer.error);
      if (!retryable(answer.status)) return outcome;
      if (outcome.attempts >= policy.maxAttempts || Date.now() - started > policy.deadlineMs) return outcome;
      const retryAfter = Number(answer.headers['retry-after']);
      const backoff =
        Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(outcome.attempts - 1, 16)) * (0.5 + Math.random() / 2);
      const wait =
        Number.isFinite(retryAfter) && retryAfter > 0
          ? Math.min(policy.capMs, Math.max(backoff, retryAfter * 1000))
          : backoff;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Runs `fn` over `items` with at most `concurrency` at once; results in item order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return results;
}
