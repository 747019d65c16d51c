/** The Stripe stand-in's event log: every change appends an Event (with `previous_attributes` on updates and the request that caused it) and hands it to the webhook endpoint. */
import { insertRanked, type Json, type StripeEventRow, type StripeEventType, type StripeObject } from './state.js';
import { isPlainHash, same } from './params.js';
import type { StripeStore } from './store.js';
import type { StripeWebhooks } from './webhooks.js';

/** Stripe's previous_attributes: top-level keys that changed; nested hashes (metadata…) by sub-key; lists and arrays whole. */
function changedAttributes(before: Json, after: Json): Json | undefined {
  const out: Json = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = before[key];
    const a = after[key];
    if (same(a, b)) continue;
    out[key] = isPlainHash(b) && isPlainHash(a) ? (changedAttributes(b, a) ?? {}) : (b ?? null);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const AUTOMATIC = { id: null, idempotency_key: null };

export class StripeEvents {
  /** The request that caused the events being emitted (an API call), or null for Stripe's own actions. */
  currentRequest: StripeEventRow['request'] | null = null;

  constructor(
    private readonly store: StripeStore,
    private readonly webhooks: StripeWebhooks,
  ) {}

  emit(type: StripeEventType, object: StripeObject, previous?: Json): StripeEventRow {
    const store = this.store;
    const row: StripeEventRow = {
      id: store.newId('evt', 24),
      created: store.nowSeconds(),
      seq: ++store.seq,
      type,
      object,
      ...(previous && { previous }),
      request: this.currentRequest ?? AUTOMATIC,
      pendingWebhooks: 0,
    };
    store.state.events.set(row.id, row);
    insertRanked(store.state.order.events, row);
    this.webhooks.deliver(row);
    return row;
  }

  /** Applies `change`, then emits `type` with what changed (nothing changed: no event). */
  changeAndEmit<R>(row: R, draw: (r: R) => StripeObject, change: () => void, type: StripeEventType): StripeObject {
    const before = draw(row) as unknown as Json;
    change();
    const after = draw(row);
    const previous = changedAttributes(before, after as unknown as Json);
    if (previous) this.emit(type, after, previous);
    return after;
  }
}
