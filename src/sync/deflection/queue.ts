/**
 * The `deflection` queue: one delayed job per session window (and per later
 * extension of it) that decides the session when its window has ended, and a
 * scheduled sweep that decides whatever a lost or early job left open and
 * drains the outbox. Jobs live in Redis, so a worker restarted in the middle
 * of a window finds them there; the tracker's transactions make a job that
 * runs twice, or a job and a sweep racing, decide a session once.
 */
import { DelayedError, UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import { cappedBackoff, cappedBackoffStrategy } from '../backoff.js';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import type { DeflectionTracker } from './tracker.js';
import { QUEUE_NAMES } from '../redis/keys.js';
import { openQueue } from '../queues.js';

export const DEFLECTION_QUEUE = QUEUE_NAMES.deflection;
const SWEEP_SCHEDULER = 'deflection-sweep';

const CloseJobSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('close'),
  sessionId: z.string().min(1),
  dueAt: z.number().int(),
});
const SweepJobSchema = z.strictObject({ v: z.literal(1), kind: z.literal('sweep') });
const DeflectionJobSchema = z.discriminatedUnion('kind', [CloseJobSchema, SweepJobSchema]);
type DeflectionJob = z.infer<typeof DeflectionJobSchema>;

export type DeflectionQueue = Queue<DeflectionJob>;

export function createDeflectionQueue(connection: Redis, prefix: string): DeflectionQueue {
  return openQueue<DeflectionJob>(DEFLECTION_QUEUE, connection, prefix, {
    defaultJobOptions: {
      attempts: 10,
      backoff: cappedBackoff(1_000),
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  });
}

/**
 * The tracker's `schedule`: a close job due when the tracker's clock reaches `at`. The delay is
 * measured on that clock, so a test clock that is ahead makes the job due at once. One job per
 * (session, due time): a window extended by later activity gets a job of its own, and the earlier
 * one finds the session not due yet and ends.
 */
export function closeScheduler(
  queue: DeflectionQueue,
  now: () => number,
): (sessionId: string, at: number) => Promise<void> {
  return async (sessionId, at) => {
    await queue.add(
      'close',
      { v: 1, kind: 'close', sessionId, dueAt: at },
      { jobId: `close-${sessionId}-${at}`, delay: Math.max(0, at - now()) },
    );
  };
}

/** Runs the sweep every `everyMs`, across all workers (one scheduler, upserted by each). */
export async function scheduleSweeps(queue: DeflectionQueue, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(SWEEP_SCHEDULER, { every: everyMs }, { name: 'sweep', data: { v: 1, kind: 'sweep' } });
}

export interface DeflectionWorkerOptions {
  connection: Redis;
  prefix: string;
  tracker: DeflectionTracker;
  logger: Logger;
  concurrency?: number;
}

export function createDeflectionWorker(opts: DeflectionWorkerOptions): Worker<unknown> {
  const log = opts.logger.child({ module: 'deflection-worker' });
  const worker = new Worker<unknown>(
    DEFLECTION_QUEUE,
    async (job: Job<unknown>, token?: string) => {
      const parsed = DeflectionJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError('deflection job data is not a v1 deflection job');
      const data = parsed.data;
      if (data.kind === 'sweep') return { decided: await opts.tracker.sweep() };
      const result = await opts.tracker.closeDue(data.sessionId, data.dueAt);
      if (result.status === 'decided')
        log.debug(
          { sessionId: data.sessionId, outcome: result.event.outcome, category: result.event.category },
          'session decided',
        );
      if (result.status !== 'early') return { status: result.status };
      // Due by its own clock but not by the tracker's: wait the difference rather than end undecided.
      await job.moveToDelayed(Date.now() + result.waitMs, token);
      throw new DelayedError();
    },
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 4,
      settings: { backoffStrategy: cappedBackoffStrategy(60_000) },
    },
  );
  worker.on('failed', (job, err) => {
    if (job) log.warn({ jobId: job.id, attempt: job.attemptsMade, reason: err.message }, 'deflection job failed');
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'deflection worker connection error'));
  return worker;
}
