/**
 * Reads one Stripe object through the SDK when two writes of it carry the
 * same version with different data (`created` has 1-second resolution).
 *
 * The object is wrapped in a synthetic event envelope and run through
 * parseStripeEvent, so normalization (MRR, refs from metadata, deletions)
 * stays in events.ts. The result is authoritative FOR the tied version: it
 * carries that version, and the merge ranks it above both webhooks.
 */
import type Stripe from 'stripe';
import { SourceEventSchema, describeZodError } from '../../sync/events/source-event.js';
import type { SourceEvent } from '../../sync/events/source-event.js';
import { STRIPE_CROSS_ID_KEYS, parseStripeEvent } from './events.js';
import type { StripeCrossIdKeys } from './events.js';

const STRIPE_REFETCH_KINDS = [
  'stripe.customer',
  'stripe.subscription',
  'stripe.invoice',
  'stripe.payment_method',
  'stripe.charge',
] as const;
export type StripeRefetchKind = (typeof STRIPE_REFETCH_KINDS)[number];

export function isStripeRefetchKind(kind: string): kind is StripeRefetchKind {
  return (STRIPE_REFETCH_KINDS as readonly string[]).includes(kind);
}

/** The retrieved object, and the event type whose handler in events.ts reads it the way a webhook would. */
interface Retrieved {
  eventType: string;
  object: unknown;
}

const RETRIEVE: { readonly [K in StripeRefetchKind]: (stripe: Stripe, id: string) => Promise<Retrieved> } = {
  'stripe.customer': async (stripe, id) => {
    const customer = await stripe.customers.retrieve(id);
    // A deleted customer comes back as a stub {id, object, deleted: true}; only a tombstone is left to keep.
    if (customer.deleted)
      return { eventType: 'customer.deleted', object: { id: customer.id, object: 'customer', balance: 0 } };
    return { eventType: 'customer.updated', object: customer };
  },
  'stripe.subscription': async (stripe, id) => {
    const subscription = await stripe.subscriptions.retrieve(id);
    // Stripe sends customer.subscription.deleted when a subscription ends, and the parser turns that into a
    // tombstone; an ended subscription read back must agree with it.
    const ended = subscription.status === 'canceled';
    return {
      eventType: ended ? 'customer.subscription.deleted' : 'customer.subscription.updated',
      object: subscription,
    };
  },
  'stripe.invoice': async (stripe, id) => ({
    eventType: 'invoice.updated',
    object: await stripe.invoices.retrieve(id),
  }),
  'stripe.payment_method': async (stripe, id) => {
    const method = await stripe.paymentMethods.retrieve(id);
    return { eventType: method.customer ? 'payment_method.attached' : 'payment_method.detached', object: method };
  },
  // charge.refunded is the only charge event the parser reads; its mapping does not depend on the type.
  'stripe.charge': async (stripe, id) => ({ eventType: 'charge.refunded', object: await stripe.charges.retrieve(id) }),
};

/**
 * Retrieves `kind` `id` and returns it as a SourceEvent at `version` (the tied
 * version, in ms). Throws the SDK's error when the call fails (see
 * classifyStripeError), and a plain Error when Stripe returns an object the
 * parser rejects: no retry can fix that.
 */
export async function fetchStripeObject(
  stripe: Stripe,
  kind: StripeRefetchKind,
  id: string,
  version: number,
  keys: StripeCrossIdKeys = STRIPE_CROSS_ID_KEYS,
  accountId: string | null = null,
): Promise<SourceEvent> {
  const { eventType, object } = await RETRIEVE[kind](stripe, id);
  return stripeSnapshotEvent(
    kind,
    eventType,
    object,
    { eventId: `refetch-${id}-${version}`, type: `refetch:${kind}`, version },
    keys,
    accountId,
  );
}

/**
 * An API object (retrieved or listed) of account `accountId` (null: the unnamed single account) as a snapshot
 * SourceEvent: wrapped in a synthetic event of `eventType` and normalized by the webhook parser. Throws when the parser rejects the shape.
 */
export function stripeSnapshotEvent(
  kind: string,
  eventType: string,
  object: unknown,
  at: { eventId: string; type: string; version: number },
  keys: StripeCrossIdKeys = STRIPE_CROSS_ID_KEYS,
  accountId: string | null = null,
): SourceEvent {
  const id = (object as { id?: unknown }).id;
  const envelope = {
    id: at.eventId,
    object: 'event',
    type: eventType,
    created: Math.floor(at.version / 1000),
    data: { object },
  };
  const result = parseStripeEvent(envelope, keys, accountId);
  const event = result.kind === 'events' ? result.events[0] : undefined;
  if (event === undefined) {
    throw new Error(
      `Stripe returned ${kind} ${String(id)} in a shape the parser rejects: ${result.kind === 'events' ? 'no event' : result.reason}`,
    );
  }
  const checked = SourceEventSchema.safeParse({
    ...event,
    eventId: at.eventId,
    type: at.type,
    version: at.version,
    origin: 'snapshot',
  });
  if (!checked.success) throw new Error(`${kind} ${String(id)}: ${describeZodError(checked.error)}`);
  return checked.data;
}
