/**
 * Decides when a record change must reach the portal: only when the portal
 * projection (what the portal shows) changed, and then once per burst. A push
 * job names the customer and the target, not the data: the pusher reads the
 * current record when it runs, so the newest state is what gets pushed.
 *
 * Debounce: the first change schedules a job `debounceMs` ahead; changes
 * while it waits are absorbed by BullMQ's deduplication; a change while it
 * runs leaves exactly one follow-up job. So a burst of 50 events for one
 * customer makes at most two pushes per target.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { PortalTargetName } from '../config.js';
import { portalProjection, projectionHash } from './project.js';
import type { CustomerRecord } from './record.js';

export const PUSH_QUEUE = 'push';

export const PushJobSchema = z.strictObject({
  v: z.literal(1),
  customerId: z.string().min(1),
  target: z.enum(['zendesk', 'salesforce']),
});
export type PushJob = z.infer<typeof PushJobSchema>;

export function portalHash(record: CustomerRecord | null): string | null {
  return record === null ? null : projectionHash(portalProjection(record.derived));
}

export class PushPlanner {
  readonly queue: Queue<PushJob>;

  constructor(
    connection: Redis,
    prefix: string,
    private readonly targets: readonly PortalTargetName[],
    private readonly debounceMs: number,
  ) {
    this.queue = new Queue<PushJob>(PUSH_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: {
        attempts: 20,
        backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: false,
      },
    });
  }

  /** Schedules pushes for a stored change; returns the targets it scheduled for. */
  async plan(previous: CustomerRecord | null, next: CustomerRecord, mergedIds: readonly string[] = []): Promise<PortalTargetName[]> {
    if (this.targets.length === 0) return [];
    // A merge always pushes: the portal may still show the merged-away record's ids.
    if (mergedIds.length === 0 && portalHash(previous) === portalHash(next)) return [];
    await this.queue.addBulk(
      this.targets.map((target) => ({
        name: `push-${target}`,
        data: { v: 1 as const, customerId: next.id, target },
        opts: { delay: this.debounceMs, deduplication: { id: `${next.id}-${target}`, keepLastIfActive: true } },
      })),
    );
    return [...this.targets];
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
