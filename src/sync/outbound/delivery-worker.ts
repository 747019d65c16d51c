/**
 * The delivery worker of one subscription. A job delivers one lane — one
 * customer's events for this subscription — from its head: send, and only
 * once the subscriber answered 2xx take the head off and go on. A failure
 * leaves the head where it is (nothing behind it may overtake it) and the
 * job waits out a backoff (exponential with jitter, or the subscriber's
 * Retry-After) through job.moveToDelayed, which spends no attempt. When the
 * subscription's deliveries have failed for longer than `pauseAfterMs`
 * without a success, it is paused: its jobs end, new events still join the
 * lanes (in order, nothing delivered), and `webhooks resume`/`replay` start
 * it again.
 */
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { NO_CUSTOMER } from './keys.js';
import type { OutboundMetrics } from './metrics.js';
import { kickLanes, LaneJobSchema, outboundQueueName, retryDelayMs, type OutboundQueue } from './queue.js';
import type { OutboundSettings } from './settings.js';
import type { DeliveryAttempt, OutboundStore } from './store.js';
import type { DeliveryResult, OutboundEvent, Subscription, SubscriberTransport } from './types.js';

export interface DeliveryWorkerOptions {
  connection: Redis;
  prefix: string;
  store: OutboundStore;
  queue: OutboundQueue;
  subscription: Subscription;
  transport: SubscriberTransport;
  settings: Pick<OutboundSettings, 'concurrency' | 'backoffMs' | 'maxBackoffMs'>;
  logger: Logger;
  metrics?: OutboundMetrics | undefined;
  /** Events one job delivers before it makes way for other lanes (a follow-up job takes the rest). */
  batch?: number;
}

interface LaneResult {
  delivered: number;
  stopped?: 'paused' | 'closing' | 'batch';
}

/** For logs: the status or the network failure, never the subscriber's answer (it may echo what we sent). */
const brief = (r: DeliveryResult): string | undefined => (r.status !== null ? `HTTP ${r.status}` : r.error);

export function createDeliveryWorker(opts: DeliveryWorkerOptions): Worker {
  const { store, subscription: sub, transport, metrics } = opts;
  const log = opts.logger.child({ module: 'outbound-delivery', subscription: sub.id });
  const batch = opts.batch ?? 100;

  const attemptOf = (
    eventId: string,
    event: OutboundEvent | null,
    customerId: string,
    at: number,
    rest: Pick<DeliveryAttempt, 'outcome' | 'status' | 'latencyMs'> & { error?: string | undefined },
  ): DeliveryAttempt => ({
    at: new Date(at).toISOString(),
    eventId,
    type: event?.type ?? 'unknown',
    customerId: customerId === NO_CUSTOMER ? null : customerId,
    outcome: rest.outcome,
    status: rest.status,
    latencyMs: rest.latencyMs,
    ...(rest.error ? { error: rest.error } : {}),
  });

  const deliverLane = async (job: Job, token: string | undefined): Promise<LaneResult> => {
    const parsed = LaneJobSchema.safeParse(job.data);
    if (!parsed.success || parsed.data.subscriptionId !== sub.id)
      throw new UnrecoverableError('job data is not a v1 lane job of this subscription');
    const { customerId } = parsed.data;
    for (let delivered = 0; ;) {
      if (await store.isPaused(sub.id)) return { delivered, stopped: 'paused' };
      if (worker.closing) {
        await kickLanes(opts.queue, sub.id, [customerId]); // the rest goes to whichever worker runs next
        return { delivered, stopped: 'closing' };
      }
      if (delivered >= batch) {
        await kickLanes(opts.queue, sub.id, [customerId]); // queued behind lanes that waited meanwhile
        return { delivered, stopped: 'batch' };
      }
      const head = await store.head(sub.id, customerId);
      if (head === null) return { delivered };
      if (head.body === null) {
        await store.ack(
          sub.id,
          customerId,
          attemptOf(head.id, null, customerId, Date.now(), {
            outcome: 'expired',
            status: null,
            latencyMs: 0,
            error: 'past outbound.retentionMs before it could be delivered',
          }),
        );
        metrics?.deliveries.inc({ subscription: sub.id, outcome: 'expired' });
        log.warn({ eventId: head.id, customerId }, 'outbound event expired before it could be delivered');
        continue;
      }
      const event = JSON.parse(head.body) as OutboundEvent;
      const at = Date.now();
      const result = await transport(sub, { id: head.id, body: head.body });
      metrics?.deliverySeconds.observe({ subscription: sub.id }, result.latencyMs / 1000);
      metrics?.deliveries.inc({ subscription: sub.id, outcome: result.ok ? 'delivered' : 'failed' });
      const attempt = attemptOf(head.id, event, customerId, at, {
        outcome: result.ok ? 'delivered' : 'failed',
        status: result.status,
        latencyMs: result.latencyMs,
        error: result.error,
      });
      if (result.ok) {
        await store.ack(sub.id, customerId, attempt);
        delivered++;
        continue;
      }
      const { failures, paused } = await store.fail(sub.id, customerId, attempt);
      if (paused !== 'no') {
        if (paused === 'now')
          log.error(
            { eventId: head.id, customerId, status: result.status, reason: brief(result) },
            'subscription paused: its deliveries kept failing; replay it once the subscriber is back',
          );
        return { delivered, stopped: 'paused' };
      }
      const delayMs = retryDelayMs(failures, opts.settings, result.retryAfterMs);
      log.warn(
        { eventId: head.id, customerId, status: result.status, reason: brief(result), failures, delayMs },
        'delivery failed; will retry',
      );
      await job.moveToDelayed(Date.now() + delayMs, token);
      throw new DelayedError();
    }
  };

  const worker: Worker = new Worker(outboundQueueName(sub.id), deliverLane, {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: opts.settings.concurrency,
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    log.warn({ jobId: job.id, attempt: job.attemptsMade, reason: err.message }, 'lane job failed');
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'outbound worker connection error'));
  return worker;
}
