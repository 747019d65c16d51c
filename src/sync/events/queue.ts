/**
 * Queue names and job defaults, in one place so that the web role (producer)
 * and the worker role agree on them.
 */
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { cappedBackoff } from '../backoff.js';
import type { SourceEvent } from './source-event.js';
import { QUEUE_NAMES } from '../redis/keys.js';
import { openQueue } from '../queues.js';

/** Longest wait between two tries of an event (12 tries: about 20 minutes in all). */
export const EVENT_MAX_BACKOFF_MS = 300_000;

export const QUEUES = { events: QUEUE_NAMES.events } as const;

/** Completed jobs are kept a while (for `status` and debugging); dedupe does not rely on them. */
export const EVENT_JOB_DEFAULTS: JobsOptions = {
  attempts: 12,
  backoff: cappedBackoff(1_000),
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: false,
};

export type EventsQueue = Queue<SourceEvent, unknown, string>;

/** `readOnly`: for commands that only read (BullMQ otherwise writes the queue's meta key on opening it). */
export function createEventsQueue(connection: Redis, prefix: string, opts: { readOnly?: boolean } = {}): EventsQueue {
  return openQueue<SourceEvent>(QUEUES.events, connection, prefix, { ...opts, defaultJobOptions: EVENT_JOB_DEFAULTS });
}
