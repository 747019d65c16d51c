/**
 * Stripe events of a single-account deployment whose account got a name (STRIPE_ACCOUNT_ID) after they were
 * queued: they carry no account, and are that account's. Pure.
 */
import type { SourceEvent } from './source-event.js';

/** `event` with `stripeAccountId` set to `accountId` when it is a Stripe event naming a customer but no account. */
export function withStripeAccount(event: SourceEvent, accountId: string | null | undefined): SourceEvent {
  if (
    !accountId ||
    event.source !== 'stripe' ||
    event.refs.stripeAccountId !== undefined ||
    event.refs.stripeCustomerId === undefined
  )
    return event;
  return { ...event, refs: { ...event.refs, stripeAccountId: accountId } };
}
