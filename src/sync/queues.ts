/**
 * `openQueue`, the one place a BullMQ Queue is opened (test/architecture.test.ts): by a name from QUEUE_NAMES (the
 * type allows no other), under the app's prefix, read-only callers skipping the meta write the same way.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueName } from './redis/keys.js';

export interface OpenQueueOptions {
  /** For callers that only read (status, dlq list): BullMQ otherwise writes the queue's meta key on opening it. */
  readOnly?: boolean;
  /** For producers: every job they add gets these (attempts, backoff, what is kept). */
  defaultJobOptions?: JobsOptions;
}

/** One of portal-sync's queues; the wings' own factories (createEventsQueue, createPushQueue…) call this. */
export function openQueue<Data = unknown, Result = unknown, Name extends string = string>(
  name: QueueName,
  connection: Redis,
  prefix: string,
  opts: OpenQueueOptions = {},
): Queue<Data, Result, Name> {
  return new Queue<Data, Result, Name>(name, {
    connection,
    prefix,
    ...(opts.defaultJobOptions && { defaultJobOptions: opts.defaultJobOptions }),
    ...(opts.readOnly && { skipMetasUpdate: true }),
  });
}
