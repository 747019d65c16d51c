/**
 * What `resync --customer` and `resync --dry-run` read before (or instead of) a resync: the ids the customer
 * REF names has on each platform, and, for a dry run, the portal fields each customer's snapshots would
 * change, against what each target accepted last. Nothing is stored or pushed.
 */
import type { Redis } from 'ioredis';
import type { RecordStore } from '../events/store.js';
import { createTicketClassifier, withTicketCategory, type TicketCategoryRules } from '../events/ticket-categories.js';
import type { MappingConfig } from '../mapping/schema.js';
import { acceptedProjection, linksFor } from '../push/worker.js';
import { combineDiffs, DryRun, type CustomerDiff } from '../resync/dry-run.js';
import type { SnapshotStream } from '../resync/snapshot.js';
import type { PortalTargetName } from '../target-names.js';
import { inspectRecord } from './inspect.js';

/** The record REF names, and its ids on each platform to read it from (the Stripe account from its key). */
export async function customerToResync(store: RecordStore, ref: string) {
  const { record, keys } = await inspectRecord(store, ref);
  // From the record's keys too: the Stripe account is in its key (stripe:<acct_…>:cus_…), not in the record.
  return {
    recordId: record.id,
    ids: { ...record.derived.links, stripeAccountId: linksFor(record, keys).stripeAccountId },
  };
}

/** The part of the configuration a dry run reads (the app's Config is one). */
export interface PreviewSettings {
  redis: { prefix: string };
  mapping: MappingConfig;
  portal: { targets: readonly PortalTargetName[] };
  ticketCategories: TicketCategoryRules;
}

/** The customers whose portal fields would change, sorted by customer (new ones by their ref), and how many objects were read. */
export interface ResyncPreview {
  read: number;
  customers: CustomerDiff[];
}

/** Reads every page of `streams` and previews each event as the worker would apply it; stops when `signal` aborts. */
export async function previewResync(
  redis: Redis,
  store: RecordStore,
  settings: PreviewSettings,
  streams: readonly SnapshotStream[],
  signal: AbortSignal,
): Promise<ResyncPreview> {
  const classifier = createTicketClassifier(settings.ticketCategories);
  const preview = new DryRun(store, (e) => withTicketCategory(e, classifier), undefined, {
    mapping: settings.mapping,
    targets: settings.portal.targets,
    accepted: async (target, id) => (await acceptedProjection(redis, settings.redis.prefix, target, id))?.mapped,
  });
  const diffs = new Map<string, CustomerDiff>();
  let read = 0;
  for (const stream of streams) {
    let cursor: string | null = null;
    do {
      if (signal.aborted) throw new Error('dry run interrupted');
      const page = await stream.page(cursor);
      read += page.read;
      for (const event of page.events) {
        const diff = await preview.preview(event);
        if (!diff || diff.changes.length === 0) continue;
        const key = diff.customerId ?? diff.ref;
        const earlier = diffs.get(key);
        diffs.set(key, earlier ? combineDiffs(earlier, diff) : diff);
      }
      cursor = page.next;
    } while (cursor !== null);
  }
  const customers = [...diffs.values()].sort((a, b) => (a.customerId ?? a.ref).localeCompare(b.customerId ?? b.ref));
  return { read, customers };
}
