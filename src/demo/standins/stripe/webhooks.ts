/** The Stripe stand-in's webhook endpoint: events POSTed signed like Stripe (`Stripe-Signature: t=…,v1=…`), in order, retried with backoff, some dropped on purpose. */
import { createHmac } from 'node:crypto';
import { seededRandom } from '../common.js';
import type { StripeEventRow } from './state.js';
import { renderEvent, type StripeView } from './render.js';
import type { StripeStandInOptions, StripeWebhookDelivery } from './types.js';

/** `*`, an exact type, or `invoice.*`. */
export function eventTypeMatches(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

export class StripeWebhooks {
  url: string | null;
  secrets: string[];
  dropFraction: number;
  readonly deliveries: StripeWebhookDelivery[] = [];
  /** Ids of events whose webhook was dropped in transit. */
  readonly dropped: string[] = [];
  private readonly dropRandom: () => number;
  private readonly enabledEvents: string[];
  private readonly retry: { attempts: number; initialDelayMs: number; maxDelayMs: number; timeoutMs: number };
  private readonly keepBodies: boolean;
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly retryTimers = new Map<NodeJS.Timeout, () => void>();
  private firstAttempts: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    opts: StripeStandInOptions,
    private readonly view: StripeView,
  ) {
    this.dropRandom = seededRandom((opts.seed ?? 1) ^ 0x5eed);
    this.url = opts.webhookUrl ?? null;
    this.secrets = [opts.webhookSecret ?? []].flat();
    this.dropFraction = opts.dropWebhooks ?? 0;
    this.enabledEvents = opts.enabledEvents ?? ['*'];
    this.retry = { attempts: 4, initialDelayMs: 200, maxDelayMs: 5_000, timeoutMs: 10_000, ...opts.webhookRetry };
    this.keepBodies = opts.keepDeliveryBodies !== false;
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private signatureHeader(payload: string): string {
    const t = Math.floor(Date.now() / 1000); // Stripe signs at delivery time; receivers compare with their own clock
    const v1 = this.secrets.map((s) => `v1=${createHmac('sha256', s).update(`${t}.${payload}`, 'utf8').digest('hex')}`);
    // Test-mode events carry an extra v0 signature made with another key; receivers must ignore it.
    const v0 = this.view.livemode
      ? []
      : [`v0=${createHmac('sha256', `v0:${this.view.accountId}`).update(`${t}.${payload}`, 'utf8').digest('hex')}`];
    return [`t=${t}`, ...v1, ...v0].join(',');
  }

  private async attemptDelivery(row: StripeEventRow, attempt: number): Promise<void> {
    const webhookUrl = this.url;
    if (this.closed || !webhookUrl || this.secrets.length === 0) return;
    const body = JSON.stringify(renderEvent(this.view, row), null, 2);
    const signature = this.signatureHeader(body);
    const record: StripeWebhookDelivery = {
      eventId: row.id,
      type: row.type,
      attempt,
      at: Date.now(),
      body: this.keepBodies ? body : '',
      signature: this.keepBodies ? signature : '',
    };
    this.deliveries.push(record);
    try {
      const res = await fetch(webhookUrl, {
        method: 'POST',
        body,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.retry.timeoutMs)]),
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-cache',
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'stripe-signature': signature,
        },
      });
      record.status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
    }
    if (record.status !== undefined && record.status >= 200 && record.status < 300) {
      row.pendingWebhooks = 0;
      row.deliverySuccess = true;
      return;
    }
    row.deliverySuccess = false;
    if (attempt >= this.retry.attempts || this.closed) return;
    this.retryLater(row, attempt);
  }

  private retryLater(row: StripeEventRow, attempt: number): void {
    const delay = Math.min(this.retry.maxDelayMs, this.retry.initialDelayMs * 2 ** (attempt - 1));
    this.track(
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.retryTimers.delete(timer);
          this.attemptDelivery(row, attempt + 1).then(resolve, resolve);
        }, delay);
        this.retryTimers.set(timer, resolve);
      }),
    );
  }

  /** Queues the event's webhook (when the endpoint subscribes to its type). */
  deliver(row: StripeEventRow): void {
    if (!this.url || this.secrets.length === 0 || !eventTypeMatches(this.enabledEvents, row.type)) return;
    row.pendingWebhooks = 1;
    if (this.dropRandom() < this.dropFraction) {
      this.dropped.push(row.id);
      return;
    }
    // First attempts go out in event order; retries run on their own clock, as Stripe's do.
    const attempt = this.firstAttempts.then(() => this.attemptDelivery(row, 1));
    this.firstAttempts = attempt.catch(() => undefined);
    this.track(attempt);
  }

  async flush(): Promise<void> {
    // Let responses that just finished queue their deliveries, then wait until nothing is left.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops delivering: pending retries give up, requests in flight are aborted. */
  stop(): void {
    this.closed = true;
    for (const [timer, resolve] of this.retryTimers) {
      clearTimeout(timer);
      resolve();
    }
    this.retryTimers.clear();
    this.abort.abort();
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
