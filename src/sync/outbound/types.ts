/**
 * The contract of outbound webhooks: the event types a subscriber can ask
 * for, the envelope every event is sent in, a subscription as the core sees
 * it, and the transport seam (src/connectors/subscribers implements it over
 * HTTP). No I/O here.
 */

const OUTBOUND_EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.merged',
  'customer.deleted',
  'customer.identity_conflict',
  'invoice.available',
  'billing.status_changed',
  'ticket.status_changed',
  'deflection.recorded',
  'sync.dead_lettered',
] as const;
export type OutboundEventType = (typeof OUTBOUND_EVENT_TYPES)[number];
/** What `webhooks test` sends; never recorded in the event log and never subscribed to. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** The record links a subscription can require (`requires: [salesforceAccountId]`). */
export const LINK_NAMES = ['stripeCustomerId', 'salesforceAccountId', 'zendeskOrganizationId'] as const;
type LinkName = (typeof LINK_NAMES)[number];
/** `stripeAccountId`: the Stripe account (`acct_…`) of stripeCustomerId; absent for the unnamed account of a single-account deployment. */
export type CustomerLinks = Record<LinkName, string | null> & { stripeAccountId?: string };

/** Who an event is about, as subscribers know the customer: `version` counts the changes they were told of. */
export interface OutboundCustomer {
  id: string;
  /** 1 with the first change subscribers are told of (customer.created, for a new customer), +1 with each change since; null when the record is gone. */
  version: number | null;
  links: CustomerLinks;
}

/** The JSON body of every delivery (Standard Webhooks' `type` / `timestamp` / `data`, plus the id). */
export interface OutboundEvent {
  /** Also the `webhook-id` header: the same for every attempt and every replay of this event. */
  id: string;
  type: OutboundEventType;
  /** When portal-sync recorded the change (not when this attempt was sent: that is `webhook-timestamp`). */
  timestamp: string;
  data: { customer: OutboundCustomer | null } & Record<string, unknown>;
}

export interface Subscription {
  id: string;
  url: string;
  /** Event types, `*` or `family.*` patterns. */
  events: readonly string[];
  /** Only customers whose record carries every one of these links. */
  requires?: readonly LinkName[] | undefined;
  timeoutMs: number;
  /** Deliver even when the host is (or resolves to) a loopback, private, link-local or metadata address. */
  allowPrivateNetworks?: boolean | undefined;
  /** `whsec_…` secrets; every delivery is signed with each (several while rotating). */
  secrets: readonly string[];
}

/** An event pattern matches its exact type, `*` everything, `customer.*` the customer family. */
export function patternMatches(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

export function isKnownPattern(pattern: string): boolean {
  return OUTBOUND_EVENT_TYPES.some((t) => patternMatches(pattern, t));
}

/** Whether a subscription takes this event: its type is asked for, and its customer has the required links. */
export function subscriptionWants(
  sub: Pick<Subscription, 'events' | 'requires'>,
  event: Pick<OutboundEvent, 'type' | 'data'>,
): boolean {
  if (!sub.events.some((p) => patternMatches(p, event.type))) return false;
  const required = sub.requires ?? [];
  if (required.length === 0) return true;
  const links = event.data.customer?.links;
  return links !== undefined && required.every((name) => links[name] !== null);
}

// ---- the transport seam ------------------------------------------------------

export interface DeliveryRequest {
  id: string;
  /** The exact bytes to send and sign. */
  body: string;
}

export interface DeliveryResult {
  /** A 2xx answer within the timeout. */
  ok: boolean;
  /** The HTTP status, or null when there was no answer (refused, timed out, reset). */
  status: number | null;
  latencyMs: number;
  /** A short, log-safe reason for a failure. */
  error?: string;
  /** The subscriber's Retry-After, when it sent one. */
  retryAfterMs?: number;
}

/** Sends one signed request; never throws (a failure is a result). */
export type SubscriberTransport = (sub: Subscription, request: DeliveryRequest) => Promise<DeliveryResult>;
