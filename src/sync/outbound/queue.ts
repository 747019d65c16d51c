/**
 * One BullMQ queue per subscription (`outbound-<id>`), like one per portal
 * target: a slow or failing subscriber holds only its own worker's slots.
 * A job names a lane — (subscription, customer) — not an event: it delivers
 * the lane's events from the head, in order, so jobs of different customers
 * run side by side while one customer's events never overtake each other.
 * BullMQ's deduplication keeps at most one job per lane waiting, plus one
 * follow-up while it runs (`keepLastIfActive`), so an event queued while
 * the lane's job finishes is never stranded.
 */
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { QUEUE_NAMES } from '../redis/keys.js';
import { openQueue } from '../queues.js';

export const outboundQueueName = QUEUE_NAMES.outbound;

export const LaneJobSchema = z.strictObject({
  v: z.literal(1),
  subscriptionId: z.string().min(1),
  customerId: z.string().min(1),
});
type LaneJob = z.infer<typeof LaneJobSchema>;

/** Failed deliveries wait through job.moveToDelayed (no attempt spent); attempts only count crashes and Redis errors. */
const LANE_JOB_DEFAULTS: JobsOptions = {
  attempts: 20,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { count: 1000 },
};

export type OutboundQueue = Queue<LaneJob>;

export function createOutboundQueue(connection: Redis, prefix: string, subscriptionId: string): OutboundQueue {
  return openQueue<LaneJob>(outboundQueueName(subscriptionId), connection, prefix, {
    defaultJobOptions: LANE_JOB_DEFAULTS,
  });
}

/**
 * Makes sure each named lane has a job. `now` also brings forward a lane job that waits out a
 * backoff (after a resume or replay: the subscriber is back, no reason to wait).
 */
export async function kickLanes(
  queue: OutboundQueue,
  subscriptionId: string,
  customerIds: readonly string[],
  opts: { now?: boolean } = {},
): Promise<void> {
  for (let i = 0; i < customerIds.length; i += 200) {
    await Promise.all(
      customerIds.slice(i, i + 200).map((customerId) =>
        queue.add(
          'deliver',
          { v: 1, subscriptionId, customerId },
          {
            deduplication: {
              id: `${subscriptionId}:${customerId}`,
              keepLastIfActive: true,
              ...(opts.now ? { reschedule: true } : {}),
            },
          },
        ),
      ),
    );
  }
}

/** The wait before the next try of a lane (Retry-After wins, up to a day). */
export { retryDelayMs } from '../backoff.js';
