/**
 * Replay: puts every recorded event since a time that a subscription takes
 * back into its lanes, in emission order and beside what they still hold
 * (no event twice in a lane), and then resumes the subscription. A paused
 * subscription's lanes keep filling (the emitter queues to them, nothing is
 * delivered), so the merge runs while nothing is sent and the pause is
 * lifted last: no live event can overtake the replayed ones, and a replay
 * interrupted half-way leaves the subscription paused, to be run again.
 */
import { NO_CUSTOMER } from './keys.js';
import { kickLanes, type OutboundQueue } from './queue.js';
import type { OutboundStore } from './store.js';
import { subscriptionWants, type Subscription } from './types.js';

export interface ReplayResult {
  subscription: string;
  since: string;
  /** The end of the window (exclusive), when one was given (else: until now). */
  until?: string;
  /** Recorded events since then that the subscription takes. */
  matched: number;
  /** Of those, how many were not already waiting in its lanes. */
  queued: number;
  customers: number;
  /** Whether it had been paused. */
  resumed: boolean;
}

export async function replaySubscription(
  store: OutboundStore,
  queue: OutboundQueue,
  sub: Subscription,
  since: Date,
  until: Date | null = null,
): Promise<ReplayResult> {
  const resumed = await store.isPaused(sub.id);
  const events = (await store.eventsSince(since.getTime(), until?.getTime())).filter((e) => subscriptionWants(sub, e));
  const lanes = new Map<string, string[]>();
  for (const e of events) {
    const lane = e.data.customer?.id ?? NO_CUSTOMER;
    const ids = lanes.get(lane);
    if (ids) ids.push(e.id);
    else lanes.set(lane, [e.id]);
  }
  let queued = 0;
  for (const [customer, ids] of lanes) queued += await store.mergeIntoLane(sub.id, customer, ids);
  await store.resume(sub.id);
  await kickLanes(queue, sub.id, await store.customersWaiting(sub.id), { now: true });
  return {
    subscription: sub.id,
    since: since.toISOString(),
    ...(until ? { until: until.toISOString() } : {}),
    matched: events.length,
    queued,
    customers: lanes.size,
    resumed,
  };
}

/** Lifts a pause (the lanes keep what was queued before it) and starts delivering again. */
export async function resumeSubscription(
  store: OutboundStore,
  queue: OutboundQueue,
  sub: Subscription,
): Promise<{ subscription: string; resumed: boolean; customersWaiting: number }> {
  const resumed = await store.isPaused(sub.id);
  const lanes = await store.resume(sub.id);
  await kickLanes(queue, sub.id, lanes, { now: true });
  return { subscription: sub.id, resumed, customersWaiting: lanes.length };
}
