/**
 * Stripe as snapshot streams for resync and the reconciler, through the
 * SDK's list methods (100 per page, `starting_after` as the cursor, so a
 * stream resumes after the last object of its last finished page). The
 * cursor also keeps that object's `created` second: when the object is gone
 * by the time the next page is asked for (a deleted draft invoice, an event
 * past Stripe's 30 days), Stripe refuses the cursor (`resource_missing`), and
 * the page is listed by `created[lte]` instead — a few objects of that
 * second come again, which changes nothing.
 *
 * Stripe objects carry no "updated" time, so a snapshot is versioned by
 * when it was read: one millisecond before the second it was read in.
 * Events are versioned by their `created` second, so any event created in
 * or after that second still wins over the snapshot, and the snapshot wins
 * over every event it already reflects.
 */
import type Stripe from 'stripe';
import { snapshotEventId, type SnapshotPage, type SnapshotStream } from '../../sync/resync/snapshot.js';
import { createPacer } from '../pacer.js';
import { pageError } from '../../sync/errors.js';
import { classifyStripeError } from './client.js';
import { parseStripeEvent, STRIPE_CROSS_ID_KEYS, type StripeCrossIdKeys } from './events.js';
import { stripeSnapshotEvent } from './fetch.js';

const STRIPE_PAGE_SIZE = 100;

export interface StripeStreamOptions {
  now?: () => number;
  keys?: StripeCrossIdKeys;
  /**
   * The account read (`acct_…`; absent/null: the unnamed single account): it keys the customers, scopes the
   * snapshot event ids (equal object ids of two accounts are two objects) and prefixes the stream names.
   */
  accountId?: string | null;
  /** Prefix of the stream names (checkpoint keys): `stripe` for the unnamed single account, `stripe.<label>` otherwise. */
  namePrefix?: string;
  /** List calls per second across the streams (Stripe allows 100 reads/s in live mode, 25 in test mode). */
  readsPerSecond?: number;
  /** Shared by every stream of one resync; made from readsPerSecond when not given. */
  pace?: () => Promise<void>;
}

/** Versions a snapshot read at `readAt` (ms): just before that second, so same-second events win. */
function stripeSnapshotVersion(readAt: number): number {
  return Math.floor(readAt / 1000) * 1000 - 1;
}

type Listed = { id: string; created?: number };
type ListParams = { limit: number; starting_after?: string; created?: { lte: number } };

/** `id|created` (a cursor from before `created` was kept is the id alone). */
const cursorOf = (o: Listed): string => (typeof o.created === 'number' ? `${o.id}|${o.created}` : o.id);
function parseCursor(cursor: string | null): { id: string | null; created: number | null } {
  if (cursor === null) return { id: null, created: null };
  const [id, created] = cursor.split('|');
  return { id: id ?? cursor, created: created !== undefined && /^\d+$/.test(created) ? Number(created) : null };
}

const isMissingCursor = (err: unknown): boolean =>
  (err as { code?: unknown; param?: unknown } | null)?.code === 'resource_missing' &&
  (err as { param?: unknown }).param === 'starting_after';

/** One page after `cursor`; by `created[lte]` when Stripe no longer knows the cursor's object. */
async function listAfter<T extends { data: Listed[]; has_more: boolean }>(
  cursor: string | null,
  list: (params: ListParams) => Promise<T>,
): Promise<T> {
  const { id, created } = parseCursor(cursor);
  return call(async () => {
    try {
      return await list({ limit: STRIPE_PAGE_SIZE, ...(id !== null && { starting_after: id }) });
    } catch (err) {
      if (id === null || created === null || !isMissingCursor(err)) throw err;
      return list({ limit: STRIPE_PAGE_SIZE, created: { lte: created } });
    }
  });
}
type Kind = 'stripe.customer' | 'stripe.subscription' | 'stripe.invoice';

/** The event type under which the webhook parser reads an object of `kind` as it is now. */
function eventTypeOf(kind: Kind, object: Record<string, unknown>): string {
  switch (kind) {
    case 'stripe.customer':
      return object['deleted'] === true ? 'customer.deleted' : 'customer.updated';
    case 'stripe.subscription':
      return object['status'] === 'canceled' ? 'customer.subscription.deleted' : 'customer.subscription.updated';
    case 'stripe.invoice':
      return 'invoice.updated';
  }
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw pageError('stripe', classifyStripeError(err), err);
  }
}

function toPage(
  kind: Kind,
  objects: readonly Listed[],
  hasMore: boolean,
  opts: StripeStreamOptions,
  readAt: number,
): SnapshotPage {
  const version = stripeSnapshotVersion(readAt);
  const page: SnapshotPage = {
    events: [],
    next: hasMore && objects.length > 0 ? cursorOf(objects.at(-1)!) : null,
    read: objects.length,
    rejected: [],
  };
  for (const o of objects) {
    try {
      const object = o as unknown as Record<string, unknown>;
      page.events.push(
        stripeSnapshotEvent(
          kind,
          eventTypeOf(kind, object),
          object,
          {
            eventId: snapshotEventId(opts.accountId ? `${opts.accountId}.${o.id}` : o.id, version),
            type: `snapshot:${kind}`,
            version,
          },
          opts.keys,
          opts.accountId ?? null,
        ),
      );
    } catch (err) {
      page.rejected.push({ objectId: o.id, reason: (err as Error).message });
    }
  }
  return page;
}

/** Every customer, subscription (of any status) and invoice. */
export function stripeSnapshotStreams(stripe: Stripe, opts: StripeStreamOptions): SnapshotStream[] {
  const now = opts.now ?? Date.now;
  const pace = opts.pace ?? createPacer((opts.readsPerSecond ?? 20) * 60);
  const stream = (
    name: string,
    kind: Kind,
    list: (params: ListParams) => Promise<{ data: Listed[]; has_more: boolean }>,
  ): SnapshotStream => ({
    name,
    source: 'stripe',
    async page(cursor) {
      await pace();
      const readAt = now();
      const result = await listAfter(cursor, list);
      return toPage(kind, result.data, result.has_more, opts, readAt);
    },
  });
  const prefix = opts.namePrefix ?? 'stripe';
  return [
    stream(`${prefix}.customers`, 'stripe.customer', (p) => stripe.customers.list(p)),
    stream(`${prefix}.subscriptions`, 'stripe.subscription', (p) => stripe.subscriptions.list({ ...p, status: 'all' })),
    stream(`${prefix}.invoices`, 'stripe.invoice', (p) => stripe.invoices.list(p)),
  ];
}

/**
 * What changed since `since`, from the Events API (Stripe keeps 30 days): each event parsed as its
 * webhook would be, so its own id, version and data apply: an event a webhook already delivered
 * changes nothing, and the reconciler's dedupe drops it before it is queued.
 */
export function stripeEventsStream(stripe: Stripe, opts: StripeStreamOptions & { since: Date }): SnapshotStream {
  const gte = Math.floor(opts.since.getTime() / 1000);
  const pace = opts.pace ?? createPacer((opts.readsPerSecond ?? 20) * 60);
  return {
    name: `${opts.namePrefix ?? 'stripe'}.events`,
    source: 'stripe',
    async page(cursor) {
      await pace();
      const result = await listAfter(cursor, (p) => stripe.events.list({ ...p, created: { gte, ...p.created } }));
      const page: SnapshotPage = {
        events: [],
        next: result.has_more && result.data.length > 0 ? cursorOf(result.data.at(-1)!) : null,
        read: result.data.length,
        rejected: [],
      };
      for (const event of result.data) {
        const parsed = parseStripeEvent(event, opts.keys ?? STRIPE_CROSS_ID_KEYS, opts.accountId ?? null);
        if (parsed.kind === 'events') {
          page.events.push(...parsed.events);
        } else if (parsed.kind === 'invalid') page.rejected.push({ objectId: event.id, reason: parsed.reason });
        // `ignored` (event types the sync does not read) are neither events nor errors.
      }
      return page;
    },
  };
}

/** One customer, fresh: the customer, its subscriptions (any status) and its invoices, as one page. */
export function stripeCustomerStream(stripe: Stripe, customerId: string, opts: StripeStreamOptions): SnapshotStream {
  const now = opts.now ?? Date.now;
  return {
    name: `stripe.customer.${customerId}`,
    source: 'stripe',
    async page() {
      const readAt = now();
      const customer = await call(() => stripe.customers.retrieve(customerId));
      const subscriptions: Listed[] = [];
      const invoices: Listed[] = [];
      await call(async () => {
        for await (const s of stripe.subscriptions.list({
          customer: customerId,
          status: 'all',
          limit: STRIPE_PAGE_SIZE,
        }))
          subscriptions.push(s);
        for await (const i of stripe.invoices.list({ customer: customerId, limit: STRIPE_PAGE_SIZE })) invoices.push(i);
      });
      const pages = [
        toPage('stripe.customer', [customer], false, opts, readAt),
        toPage('stripe.subscription', subscriptions, false, opts, readAt),
        toPage('stripe.invoice', invoices, false, opts, readAt),
      ];
      return {
        events: pages.flatMap((p) => p.events),
        next: null,
        read: pages.reduce((n, p) => n + p.read, 0),
        rejected: pages.flatMap((p) => p.rejected),
      };
    },
  };
}
