/**
 * Settling ties: when two writes of one object carry the SAME source version
 * with DIFFERENT data, the worker reads the object back from its source API
 * and applies that, authoritatively for the tied version (the record stamps
 * it one rank above the entry it settles, 'refetch').
 *
 * One entry per source, picked from a map (no chain over provider names).
 * A source whose API credentials are not configured settles nothing: the
 * refetcher answers null, and the merge's deterministic order stands. SDK
 * clients are created lazily, once per source.
 */
import type { Config } from '../config.js';
import type { FailureVerdict } from '../sync/errors.js';
import type { EventDataKind, Source, SourceEvent } from '../sync/events/source-event.js';
import { classifySalesforceError, createSalesforceConnection } from './salesforce/client.js';
import { fetchSalesforceObject, isSalesforceRefetchKind } from './salesforce/fetch.js';
import { stripeClients } from './stripe/accounts.js';
import { classifyStripeError } from './stripe/client.js';
import { fetchStripeObject, isStripeRefetchKind } from './stripe/fetch.js';
import { stripeParseKeys } from './stripe/events.js';
import { keptAttributes } from '../sync/mapping/defaults.js';
import { EMPTY_MAPPING } from '../sync/mapping/schema.js';
import { classifyZendeskError, createZendeskClient } from './zendesk/client.js';
import { fetchZendeskObject, isZendeskRefetchKind } from './zendesk/fetch.js';

export interface RefetchTie {
  source: Source;
  kind: EventDataKind;
  objectId: string;
  /** The tied source version, in ms: the refetched event carries it. */
  version: number;
  /** The Stripe account of a Stripe object (absent: the unnamed single account). */
  stripeAccountId?: string;
}

/** Null: this tie cannot be settled here (source not configured, or a kind it has no read for). */
export type Refetcher = (tie: RefetchTie) => Promise<SourceEvent | null>;

/** The parts of Config a refetcher reads; a whole Config will do. */
export type RefetchConfig = Pick<Config, 'stripe' | 'zendesk' | 'salesforceAuth' | 'salesforce' | 'identity'> &
  Partial<Pick<Config, 'mapping'>>;

/**
 * A refetch that failed, with the connector's verdict on it: `retryable`
 * false maps to BullMQ's UnrecoverableError, `retryAfterMs` to its
 * rate-limit delay. The SDK's own error is the `cause`.
 */
export class RefetchError extends Error implements FailureVerdict {
  override name = 'RefetchError';
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly status?: number;

  constructor(
    readonly source: Source,
    verdict: FailureVerdict,
    options?: ErrorOptions,
  ) {
    super(`${source} refetch failed: ${verdict.message}`, options);
    this.retryable = verdict.retryable;
    if (verdict.retryAfterMs !== undefined) this.retryAfterMs = verdict.retryAfterMs;
    if (verdict.status !== undefined) this.status = verdict.status;
  }
}

/** Null: no configured key may read that Stripe account (stripe/accounts.ts). */
type Fetch = (
  kind: EventDataKind,
  id: string,
  version: number,
  stripeAccountId?: string,
) => Promise<SourceEvent | null>;

interface SourceRefetch {
  accepts(kind: string): boolean;
  configured(config: RefetchConfig): boolean;
  connect(config: RefetchConfig): Promise<Fetch>;
  classify(err: unknown): FailureVerdict;
}

const unsupported = (kind: string): never => {
  throw new Error(`no refetch for ${kind}`);
};

const SOURCES: Partial<Record<Source, SourceRefetch>> = {
  stripe: {
    accepts: isStripeRefetchKind,
    configured: (c) => c.stripe.accounts.some((a) => a.secretKey !== undefined),
    connect: async (c) => {
      const clientFor = stripeClients(c.stripe);
      const keys = stripeParseKeys(c);
      return async (kind, id, version, account) => {
        if (!isStripeRefetchKind(kind)) return unsupported(kind);
        const stripe = clientFor(account);
        return stripe === null ? null : fetchStripeObject(stripe, kind, id, version, keys, account ?? null);
      };
    },
    classify: classifyStripeError,
  },
  zendesk: {
    accepts: isZendeskRefetchKind,
    configured: (c) => Boolean(c.zendesk.baseUrl && c.zendesk.email && c.zendesk.apiToken),
    connect: async (c) => {
      const client = createZendeskClient(c.zendesk);
      const kept = keptAttributes(c.mapping ?? EMPTY_MAPPING).organizationFields;
      return (kind, id, version) =>
        isZendeskRefetchKind(kind) ? fetchZendeskObject(client, kind, id, version, kept) : unsupported(kind);
    },
    classify: classifyZendeskError,
  },
  salesforce: {
    accepts: isSalesforceRefetchKind,
    configured: ({ salesforceAuth: a }) => Boolean((a.accessToken && a.instanceUrl) || (a.clientId && a.clientSecret)),
    connect: async (c) => {
      const conn = await createSalesforceConnection(c.salesforceAuth, c.salesforce.apiVersion);
      return (kind, id, version) =>
        isSalesforceRefetchKind(kind) ? fetchSalesforceObject(conn, kind, id, version) : unsupported(kind);
    },
    classify: classifySalesforceError,
  },
};

/** Whether `source`'s API credentials are configured (a source without them cannot be read). */
export function sourceConfigured(config: RefetchConfig, source: Source): boolean {
  return SOURCES[source]?.configured(config) ?? false;
}

export function createRefetcher(config: RefetchConfig): Refetcher {
  const connections = new Map<Source, Promise<Fetch>>();
  const connect = (source: Source, entry: SourceRefetch): Promise<Fetch> => {
    const known = connections.get(source);
    if (known) return known;
    const pending = entry.connect(config);
    connections.set(source, pending);
    // A failed connection (the token endpoint was down, say) is tried again on the next tie, not kept.
    pending.catch(() => {
      if (connections.get(source) === pending) connections.delete(source);
    });
    return pending;
  };

  return async (tie) => {
    const entry = SOURCES[tie.source];
    if (!entry || !entry.accepts(tie.kind) || !entry.configured(config)) return null;
    try {
      const fetch = await connect(tie.source, entry);
      return await fetch(tie.kind, tie.objectId, tie.version, tie.stripeAccountId);
    } catch (err) {
      throw new RefetchError(tie.source, entry.classify(err), { cause: err });
    }
  };
}
