/**
 * Where outbound webhooks live in Redis, all under `<prefix>:outbound`:
 * - `evt:<id>` the event's body (the exact bytes sent), kept `retentionMs`;
 * - `log:time` / `log:seq` every event id by time recorded and by global sequence (the order
 *   of emission, which `replay` restores);
 * - `view:<customer>` what subscribers were last told about a customer, and its version;
 * - `lane:<sub>:<customer>` the events a subscription still has to receive for a customer, in
 *   order: the head (index 0) is the only one that may be sent;
 * - `lanes:<sub>` the customers whose lane is not empty; `fails:<sub>` consecutive failures by lane;
 * - `sub:<sub>` the subscription's state (paused, failing since, pending count, last success…);
 * - `attempts:<sub>` / `failed:<sub>` the newest delivery attempts (all / failed only), capped.
 */
export function outboundKeys(prefix: string) {
  const base = `${prefix}:outbound`;
  return {
    base,
    event: (id: string) => `${base}:evt:${id}`,
    logTime: `${base}:log:time`,
    logSeq: `${base}:log:seq`,
    seq: `${base}:seq`,
    view: (customerId: string) => `${base}:view:${customerId}`,
    lane: (sub: string, customer: string) => `${base}:lane:${sub}:${customer}`,
    lanes: (sub: string) => `${base}:lanes:${sub}`,
    fails: (sub: string) => `${base}:fails:${sub}`,
    state: (sub: string) => `${base}:sub:${sub}`,
    attempts: (sub: string) => `${base}:attempts:${sub}`,
    failed: (sub: string) => `${base}:failed:${sub}`,
  };
}
export type OutboundKeys = ReturnType<typeof outboundKeys>;

/** The lane of events that concern no customer (a dead-lettered events job). */
export const NO_CUSTOMER = '_none';
