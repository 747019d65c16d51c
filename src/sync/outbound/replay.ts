/**
 * Replay: puts every recorded event since a time that a subscription takes
 * back into its lanes, in emission order and beside what they still hold
 * (no event twice in a lane), and resumes the subscription. The pause is
 * lifted first, so an event recorded while the replay runs is queued by its
 * emitter and found again here, never lost in between.
 */
import { NO_CUSTOMER } from './keys.js';
import { kickLanes, type OutboundQueue } from './queue.js';
import type { OutboundStore } from './store.js';
import { subscriptionWants, type Subscription } from './types.js';

export interface ReplayResult {
  subscription: string;
  since: string;
  /** Recorded events since then that the subscription takes. */
  matched: number;
  /** Of those, how many were not already waiting in its lanes. */
  queued: number;
  customers: number;
  /** Whether it had been paused. */
  resumed: boolean;
}

export async function replaySubscription(store: OutboundStore, queue: OutboundQueue, sub: Subscription, since: Date): Promise<ReplayResult> {
  const resumed = await store.isPaused(sub.id);
  await store.resume(sub.id);
  const events = (await store.eventsSince(since.getTime())).filter((e) => subscriptionWants(sub, e));
  const lanes = new Map<string, string[]>();
  for (const e of events) {
    const lane = e.data.customer?.id ?? NO_CUSTOMER;
    lanes.set(lane, [...(lanes.get(lane) ?? []), e.id]);
  }
  let queued = 0;
  for (const [customer, ids] of lanes) queued += await store.mergeIntoLane(sub.id, customer, ids);
  await kickLanes(queue, sub.id, await store.customersWaiting(sub.id), { now: true });
  return { subscription: sub.id, since: since.toISOString(), matched: events.length, queued, customers: lanes.size, resumed };
}

/** Lifts a pause (the lanes keep what was queued before it) and starts delivering again. */
export async function resumeSubscription(store: OutboundStore, queue: OutboundQueue, sub: Subscription): Promise<{ subscription: string; resumed: boolean; customersWaiting: number }> {
  const resumed = await store.isPaused(sub.id);
  const lanes = await store.resume(sub.id);
  await kickLanes(queue, sub.id, lanes, { now: true });
  return { subscription: sub.id, resumed, customersWaiting: lanes.length };
}
