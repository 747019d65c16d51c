/**
 * Batch jobs: under load, the ingest puts the events of one flush into jobs of several events each, so BullMQ's
 * own per-job work (add, move to active, complete: about 38 Redis commands) is paid once per batch instead of
 * once per event. A flush of fewer than BATCH_MIN_EVENTS events keeps one job per event, under the event's own id.
 *
 * A batch job's data is `{ v: 1, events: [...] }`: each element is what a single job's data would be (the event
 * and its lane). Its id is `b-<uuid>`, never reused: the dedupe marks, written in the same script, say which
 * events it holds, so no job id has to. An event of a batch that fails is split out into a job of its own,
 * `b-<uuid>-<index>`, which the worker treats as a retry from its first attempt and which then retries, backs off
 * and dead-letters like any other event. An element replaced by `{ forgotten: true }` named an erased customer.
 */
import { randomUUID } from 'node:crypto';

/** Fewer events than this in one ingest flush: one job per event (what tests and a quiet deployment see). */
export const BATCH_MIN_EVENTS = 8;
/** Events per batch job at most: the events of one job are applied at once, and a stalled job runs them all again. */
export const BATCH_MAX_EVENTS = 20;
/** The BullMQ job name of a batch (a single event's job is named after its event type). */
export const BATCH_JOB_NAME = 'batch';

export interface BatchJobData {
  v: 1;
  events: unknown[];
}

/** What an erased customer's event is replaced with in a batch job's data (the other events keep their place). */
export const FORGOTTEN_ELEMENT = { forgotten: true } as const;

const BATCH_ID = /^b-[0-9a-f-]{36}$/;
const SPLIT_ID = /^b-[0-9a-f-]{36}-\d+$/;

/** A new batch job id; unique, and free of ':' (which BullMQ refuses in job ids). */
export const batchJobId = (): string => `b-${randomUUID()}`;

/** The id of the job an event of a batch is split out into: the same on a second run of the batch, so BullMQ adds it once. */
export const splitJobId = (batchId: string, index: number): string => `${batchId}-${index}`;

export const isBatchJobId = (id: string | undefined): boolean => id !== undefined && BATCH_ID.test(id);
export const isSplitJobId = (id: string | undefined): boolean => id !== undefined && SPLIT_ID.test(id);

/** Whether a job's data is a batch's (anything else is one event, of this release or an older one). */
export function isBatchData(data: unknown): data is BatchJobData {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as { v?: unknown }).v === 1 &&
    Array.isArray((data as { events?: unknown }).events)
  );
}

export const isForgottenElement = (element: unknown): boolean =>
  typeof element === 'object' && element !== null && (element as { forgotten?: unknown }).forgotten === true;

/** How many jobs, of how many events each, a flush of `events` events is enqueued as (1s: one job per event). */
export function batchSizes(events: number): number[] {
  if (events < BATCH_MIN_EVENTS) return Array.from({ length: events }, () => 1);
  const jobs = Math.ceil(events / BATCH_MAX_EVENTS);
  // Even sizes, not 20 + 20 + 1: the last job is not a straggler applied alone.
  const base = Math.floor(events / jobs);
  const extra = events % jobs;
  return Array.from({ length: jobs }, (_, i) => base + (i < extra ? 1 : 0));
}
