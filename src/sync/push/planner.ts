/**
 * Decides when a record change must reach the portal: only when the portal
 * projection (what the portal shows) changed, and then once per burst. A push
 * job names the customer and the target, not the data: the pusher reads the
 * current record when it runs, so the newest state is what gets pushed.
 *
 * Leading edge, then debounce: the first change of a customer with no push
 * pending, running or made within the last `debounceMs` for that target is
 * pushed at once (after LEAD_GATHER_MS, so that the events of one request
 * go out together). A change while a push is pending is absorbed by BullMQ's
 * deduplication; one while it runs leaves exactly one follow-up job, which
 * waits `debounceMs` after it; one just after a push waits out the rest of
 * that push's window. The decision reads BullMQ's deduplication key and the
 * target's recent-push key in one script (redis/scripts/push-delay-2.lua), so several workers decide alike.
 * So a burst of 50 events for one customer makes at most two pushes per
 * target, and a stream of changes at most one per window (plus the leading).
 *
 * Deflection pushes are the one exception: a decided self-service session is
 * a fact, not state, so its job carries the event itself and is keyed by the
 * event's id (queued once however often it is handed over).
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { PortalTargetName } from '../target-names.js';
import { BulkDrainJobSchema, drainJob, queueForBulk, type BulkDrainJob } from './bulk.js';
import { cappedBackoff } from '../backoff.js';
import { runScript } from '../redis/scripts.js';
import { DeflectionEventSchema } from '../deflection/schema.js';
import { RESYNC_PRIORITY } from '../resync/runner.js';
import type { DeflectionEvent } from '../deflection/types.js';
import { portalProjection } from '../events/project.js';
import { mappedSections } from '../mapping/apply.js';
import type { MappingConfig } from '../mapping/schema.js';
import { sha256Hex, stableStringify, type CustomerRecord } from '../events/record.js';
import { QUEUE_NAMES, REDIS_KEYS } from '../redis/keys.js';
import { openQueue } from '../queues.js';

/** One queue per target, so that each gets its own global rate limit (BullMQ's limiter is per queue). */
export const pushQueueName = QUEUE_NAMES.push;
export const PUSH_QUEUES = (['zendesk', 'salesforce'] as const).map(pushQueueName);

export const pushJobOptions = (backoffMs: number) =>
  ({
    attempts: 20,
    backoff: cappedBackoff(backoffMs),
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: false,
  }) as const;

/** A target's push queue as producers use it: every job it adds retries by the same rule. */
export function createPushQueue(
  connection: Redis,
  prefix: string,
  target: PortalTargetName,
  backoffMs: number,
): Queue<PushJob> {
  return openQueue<PushJob>(pushQueueName(target), connection, prefix, {
    defaultJobOptions: pushJobOptions(backoffMs),
  });
}

const target = z.enum(['zendesk', 'salesforce']);
/** Push the customer's current projection. Jobs written before deflection pushes existed have no `kind`. */
const ProjectionPushJobSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('projection').optional(),
  customerId: z.string().min(1),
  target,
});
/** Record one decided self-service session on the target (upserted there by the event's id). */
const DeflectionPushJobSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('deflection'),
  customerId: z.string().min(1),
  target,
  event: DeflectionEventSchema,
});
export type PushJob = z.infer<typeof ProjectionPushJobSchema> | z.infer<typeof DeflectionPushJobSchema>;
/** Everything on a push queue: customers' pushes, and drains of the target's resync pushes (bulk.ts), which name no customer. */
export const PushQueueJobSchema = z.union([ProjectionPushJobSchema, DeflectionPushJobSchema, BulkDrainJobSchema]);

/** Adds a drain job to a target's push queue (typed for customers' pushes; the worker parses PushQueueJobSchema). */
export function addDrainJob(
  queue: Queue<PushJob>,
  target: PortalTargetName,
  slot: number,
  delayMs: number,
): Promise<unknown> {
  const d = drainJob(target, slot, delayMs);
  return (queue as unknown as Queue<BulkDrainJob>).add(d.name, d.data, d.opts);
}

/**
 * What a push writes and where: the projection, and the ids of the Account, organization and contacts it goes
 * to; with a field mapping, every target's mapped values too (a mapped Stripe metadata key changes nothing else).
 */
function portalHash(record: CustomerRecord | null, mapping?: MappingConfig): string | null {
  if (record === null) return null;
  const { contacts, ...ids } = record.derived.links;
  const where = { ...ids, contacts: contacts.map((c) => [c.salesforceContactId, c.zendeskUserId]) };
  const projection = portalProjection(record.derived);
  const mapped = mapping && {
    zendesk: mappedSections(mapping, 'zendesk', record, projection),
    salesforce: mappedSections(mapping, 'salesforce', record, projection),
  };
  return sha256Hex(stableStringify({ projection, where, mapped }));
}

/** How long a leading push waits for the other events of the same request (ms): a few, not the debounce. */
const LEAD_GATHER_MS = 10;

/** Deduplication id of a customer's projection pushes to a target: at most one pending and one running. */
const pushDedupId = (customerId: string, target: PortalTargetName): string => `${customerId}-${target}`;

/** Set (for `debounceMs`) when a push of the customer to the target was written: the next change waits out the rest. */
export const recentPushKey = (prefix: string, target: PortalTargetName, customerId: string): string =>
  REDIS_KEYS.push(prefix).recent(target, customerId);

/** The delay of a real-time push of this customer to this target, decided atomically in Redis (see the module note). */
async function pushDelayMs(
  redis: Redis,
  prefix: string,
  target: PortalTargetName,
  customerId: string,
  debounceMs: number,
): Promise<number> {
  if (debounceMs <= 0) return 0;
  const dedupKey = REDIS_KEYS.push(prefix).dedup(target, pushDedupId(customerId, target));
  return Number(
    await runScript(
      redis,
      'push-delay',
      [dedupKey, recentPushKey(prefix, target, customerId)],
      [debounceMs, Math.min(LEAD_GATHER_MS, debounceMs)],
    ),
  );
}

/** One customer's projection push: debounced per customer and target; resync ones behind real-time ones. */
export function projectionJob(
  customerId: string,
  target: PortalTargetName,
  opts: { delayMs?: number; resync?: boolean } = {},
) {
  return {
    name: `push-${target}`,
    data: { v: 1, customerId, target } satisfies PushJob,
    opts: {
      ...(opts.delayMs ? { delay: opts.delayMs } : {}),
      deduplication: { id: pushDedupId(customerId, target), keepLastIfActive: true },
      ...(opts.resync ? { priority: RESYNC_PRIORITY } : {}),
    },
  } as const;
}

export class PushPlanner {
  readonly queues: ReadonlyMap<PortalTargetName, Queue<PushJob>>;

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly targets: readonly PortalTargetName[],
    private readonly debounceMs: number,
    backoffMs = 2000,
    /** The configured field mapping: a change of a value only a mapping shows is pushed too. */
    private readonly mapping?: MappingConfig,
  ) {
    this.queues = new Map(targets.map((t) => [t, createPushQueue(connection, prefix, t, backoffMs)]));
    // Connection errors reach the caller through add(); without a listener BullMQ would console.error each one, outside the JSON log.
    for (const q of this.queues.values()) q.on('error', () => undefined);
  }

  /**
   * Schedules pushes for a stored change; returns the targets it scheduled for. Resync pushes go
   * behind real-time ones (BullMQ runs un-prioritized jobs before prioritized ones), and in bulk:
   * the customer joins the target's pending set and a drain job takes many customers per call.
   */
  async plan(
    previous: CustomerRecord | null,
    next: CustomerRecord,
    mergedIds: readonly string[] = [],
    opts: { resync?: boolean; linked?: boolean } = {},
  ): Promise<PortalTargetName[]> {
    if (this.targets.length === 0) return [];
    // A merge always pushes: the portal may still show the merged-away record's ids. A new system id may be a
    // new place to write (the push worker writes where the record's ids say) though nothing it shows changed.
    if (mergedIds.length === 0 && !opts.linked && portalHash(previous, this.mapping) === portalHash(next, this.mapping))
      return [];
    await Promise.all(
      [...this.queues].map(async ([target, queue]) => {
        if (opts.resync) {
          const added = await queueForBulk(this.connection, this.prefix, target, [next.id], mergedIds);
          return added > 0 ? addDrainJob(queue, target, 0, this.debounceMs) : undefined;
        }
        const j = projectionJob(next.id, target, {
          delayMs: await pushDelayMs(this.connection, this.prefix, target, next.id, this.debounceMs),
        });
        return queue.add(j.name, j.data, j.opts);
      }),
    );
    return [...this.targets];
  }

  /**
   * Queues a decided deflection event for every target. The job id is the event's id, so the
   * tracker's outbox handing the same event over twice queues it once.
   */
  async planDeflection(event: DeflectionEvent): Promise<PortalTargetName[]> {
    await Promise.all(
      [...this.queues].map(([target, queue]) =>
        queue.add(
          `deflection-${target}`,
          { v: 1, kind: 'deflection', customerId: event.customerId, target, event },
          { jobId: event.id },
        ),
      ),
    );
    return [...this.targets];
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
