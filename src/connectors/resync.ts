/**
 * The snapshot streams of a resync or a reconcile pass, built from Config:
 * one SDK client per source (created once), the streams of every requested
 * source, and a clear error for a source whose API is not configured.
 */
import { createPacer } from './pacer.js';
import type { Config } from '../config.js';
import type { SnapshotStream } from '../sync/resync/snapshot.js';
import type { CallGate } from '../sync/push/portal-target.js';
import { sourceConfigured } from './refetch.js';
import { createSalesforceConnection } from './salesforce/client.js';
import { salesforceAccountStream, salesforceSnapshotStreams } from './salesforce/enumerate.js';
import { stripeClients } from './stripe/accounts.js';
import { stripeCustomerStream } from './stripe/enumerate.js';
import { stripeResyncStreams } from './stripe/streams.js';
import { stripeParseKeys } from './stripe/events.js';
import { keptAttributes } from '../sync/mapping/defaults.js';
import { createZendeskClient } from './zendesk/client.js';
import { zendeskOrganizationStream, zendeskSnapshotStreams } from './zendesk/enumerate.js';

export const RESYNC_SOURCES = ['stripe', 'salesforce', 'zendesk'] as const;
export type ResyncSource = (typeof RESYNC_SOURCES)[number];

/** Stripe's Events API keeps 30 days; older `--since` values fall back to listing everything. */
const STRIPE_EVENTS_DAYS = 30;

class SourceNotConfiguredError extends Error {
  override name = 'SourceNotConfiguredError';
}

/** What configures each source's API, as the operator sets it. */
export const CREDENTIALS: Record<ResyncSource, string> = {
  stripe: 'STRIPE_SECRET_KEY (or secretKeyEnv of an entry of stripe.accounts)',
  salesforce:
    'SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (or SALESFORCE_ACCESS_TOKEN and SALESFORCE_INSTANCE_URL)',
  zendesk: 'ZENDESK_SUBDOMAIN (or ZENDESK_BASE_URL), ZENDESK_EMAIL and ZENDESK_API_TOKEN',
};

export function configuredSources(config: Config): ResyncSource[] {
  return RESYNC_SOURCES.filter((s) => sourceConfigured(config, s));
}

function requireSources(config: Config, sources: readonly ResyncSource[]): void {
  for (const s of sources) {
    if (!sourceConfigured(config, s))
      throw new SourceNotConfiguredError(`${s} is not configured: set ${CREDENTIALS[s]} to read it`);
  }
}

export interface StreamRequest {
  sources: readonly ResyncSource[];
  since?: Date | null;
  now?: () => number;
  /** Notes for the operator (e.g. a fallback taken). */
  warn?: (message: string) => void;
  /**
   * Runs before every Zendesk API call: the Zendesk target's rate gate, so reads and pushes share the
   * account's one API budget (the export pacing comes on top of it).
   */
  zendeskGate?: CallGate;
  /** Hears of each wait a source's pacing makes: which source, how long, and why. */
  onWait?: (wait: { source: ResyncSource; ms: number; reason: string }) => void;
}

/** The Account fields the Salesforce target writes (the mapped ones too), when it is a target: resyncs do not read them back. */
const ownAccountFields = (config: Config): string[] =>
  config.portal.targets.includes('salesforce')
    ? [
        ...Object.values(config.targets.salesforce.accountFields),
        ...config.mapping.salesforce.accountFields.map((e) => e.to),
      ]
    : [];

export async function createSnapshotStreams(config: Config, req: StreamRequest): Promise<SnapshotStream[]> {
  requireSources(config, req.sources);
  const streams: SnapshotStream[] = [];
  const now = req.now ?? Date.now;
  const since = req.since ?? null;
  for (const source of req.sources) {
    if (source === 'stripe') {
      const keys = stripeParseKeys(config);
      const perSecond = config.resync.stripeReadsPerSecond;
      const pace = createPacer(perSecond * 60, undefined, (ms) =>
        req.onWait?.({
          source: 'stripe',
          ms,
          reason: `Stripe read pacing (${perSecond} per second, resync.stripeReadsPerSecond)`,
        }),
      );
      const recent = since !== null && now() - since.getTime() <= STRIPE_EVENTS_DAYS * 24 * 3600_000;
      if (since !== null && !recent)
        req.warn?.(
          `Stripe keeps events for ${STRIPE_EVENTS_DAYS} days: --since is older, so every Stripe customer, subscription and invoice is read`,
        );
      // Every account with a key, and every connected account of each Connect platform (stripe/streams.ts).
      streams.push(
        ...stripeResyncStreams(config.stripe, {
          now,
          keys,
          readsPerSecond: perSecond,
          pace,
          since: recent ? since : null,
        }),
      );
    } else if (source === 'zendesk') {
      const client = createZendeskClient(config.zendesk, req.zendeskGate ? { beforeRequest: req.zendeskGate } : {});
      const perMinute = config.resync.zendeskExportsPerMinute;
      const onPace = (ms: number) =>
        req.onWait?.({
          source: 'zendesk',
          ms,
          reason: `Zendesk export pacing (${perMinute} per minute, resync.zendeskExportsPerMinute)`,
        });
      streams.push(
        ...zendeskSnapshotStreams(client, {
          since,
          exportsPerMinute: perMinute,
          perPage: config.resync.zendeskPageSize,
          onPace,
          keptFields: keptAttributes(config.mapping).organizationFields,
        }),
      );
    } else {
      const conn = await createSalesforceConnection(config.salesforceAuth, config.salesforce.apiVersion);
      streams.push(
        ...salesforceSnapshotStreams(conn, {
          since,
          pageSize: config.resync.salesforcePageSize,
          ownAccountFields: ownAccountFields(config),
        }),
      );
    }
  }
  return streams;
}

/** The system ids of one customer record, as `resync --customer` reads them fresh. */
export interface CustomerIds {
  stripeCustomerId: string | null;
  /** The Stripe account of stripeCustomerId (absent: the unnamed single account). */
  stripeAccountId?: string | undefined;
  salesforceAccountId: string | null;
  zendeskOrganizationId: string | null;
}

/** Streams that read one customer in every configured source that holds an id of it. */
export async function createCustomerStreams(
  config: Config,
  ids: CustomerIds,
  req: Pick<StreamRequest, 'now' | 'sources' | 'zendeskGate'>,
): Promise<SnapshotStream[]> {
  const streams: SnapshotStream[] = [];
  const base = { ...(req.now && { now: req.now }) };
  const wanted = (s: ResyncSource) => req.sources.includes(s) && sourceConfigured(config, s);
  const stripe = ids.stripeCustomerId && wanted('stripe') ? stripeClients(config.stripe)(ids.stripeAccountId) : null;
  if (ids.stripeCustomerId && stripe) {
    streams.push(
      stripeCustomerStream(stripe, ids.stripeCustomerId, {
        ...base,
        keys: stripeParseKeys(config),
        accountId: ids.stripeAccountId ?? null,
      }),
    );
  }
  if (ids.salesforceAccountId && wanted('salesforce')) {
    const conn = await createSalesforceConnection(config.salesforceAuth, config.salesforce.apiVersion);
    streams.push(
      salesforceAccountStream(conn, ids.salesforceAccountId, { ownAccountFields: ownAccountFields(config) }),
    );
  }
  if (ids.zendeskOrganizationId && wanted('zendesk')) {
    streams.push(
      zendeskOrganizationStream(
        createZendeskClient(config.zendesk, req.zendeskGate ? { beforeRequest: req.zendeskGate } : {}),
        ids.zendeskOrganizationId,
        keptAttributes(config.mapping).organizationFields,
      ),
    );
  }
  return streams;
}
