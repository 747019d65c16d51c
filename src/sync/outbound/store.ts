/**
 * Outbound webhooks' state in Redis (layout in keys.ts): recording events,
 * the lanes that keep each customer's events in order per subscription, the
 * subscriptions' failure streaks and pauses, and the delivery attempts.
 * Every step that must not be seen half done is one Lua script
 * (src/sync/redis/scripts/outbound-*.lua, every key declared).
 */
import type { Redis } from 'ioredis';
import type { OutboundSettings } from './settings.js';
import type { OutboundEvent } from './types.js';
import type { OutboundView } from './derive.js';
import { REDIS_KEYS, type OutboundKeys } from '../redis/keys.js';
import { defineScripts, queueScript, runScript } from '../redis/scripts.js';

export interface StoredView {
  hash: string;
  version: number;
  view: OutboundView;
}

export interface SubscriptionState {
  id: string;
  paused: boolean;
  pausedAt: string | null;
  /** The last error before the pause, or what the admin said. */
  pausedReason: string | null;
  /** Start of the current failure streak (no delivery since); null when the last attempt worked. */
  failingSince: string | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: string | null;
  /** Events queued and not yet delivered. */
  pending: number;
  /** Customers with events waiting. */
  customersWaiting: number;
}

export interface DeliveryAttempt {
  at: string;
  eventId: string;
  type: string;
  customerId: string | null;
  /** delivered: 2xx in time; failed: anything else; expired: dropped from the log before it could be sent. */
  outcome: 'delivered' | 'failed' | 'expired';
  status: number | null;
  latencyMs: number;
  error?: string;
}

export interface EmitRequest {
  /** The lane the events go to: the customer's id, or NO_CUSTOMER. */
  customerId: string;
  /** Moves subscribers' view of the customer on, if it is still `expectedHash` ('' = none yet). */
  view?: { expectedHash: string; hash: string; version: number; view: OutboundView };
  /** Customers merged away: their views are dropped. */
  dropViews?: readonly string[];
  /** The record store's note of identity changes (RecordStore.untoldKey): the entries these events tell leave it with them. */
  told?: { key: string; members: readonly string[] };
  events: ReadonlyArray<{ event: OutboundEvent; subscriptions: readonly string[] }>;
  now: number;
}

const iso = (ms: string | undefined): string | null =>
  ms === undefined || ms === '' ? null : new Date(Number(ms)).toISOString();

export class OutboundStore {
  readonly keys: OutboundKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly settings: Pick<OutboundSettings, 'retentionMs' | 'attemptsKept' | 'pauseAfterMs'>,
  ) {
    this.keys = REDIS_KEYS.outbound(prefix);
    // ack and fail run inside a MULTI, which has only the scripts its client had when it was made.
    defineScripts(redis, 'outbound-ack', 'outbound-fail');
  }

  async readView(customerId: string): Promise<StoredView | null> {
    const [hash, version, view] = await this.redis.hmget(this.keys.view(customerId), 'hash', 'version', 'view');
    return hash && version && view ? { hash, version: Number(version), view: JSON.parse(view) as OutboundView } : null;
  }

  async readVersion(customerId: string): Promise<number | null> {
    const v = await this.redis.hget(this.keys.view(customerId), 'version');
    return v === null ? null : Number(v);
  }

  /** Records and queues; `conflict` when another emitter moved the view on first (derive again). */
  async emit(
    req: EmitRequest,
  ): Promise<{ conflict: true } | { conflict: false; recorded: number; queuedFor: string[] }> {
    const keys: [string, string, string, string, ...string[]] = [
      this.keys.view(req.customerId),
      this.keys.seq,
      this.keys.logTime,
      this.keys.logSeq,
    ];
    const args: Array<string | number> = [req.customerId];
    if (req.view)
      args.push('cas', req.view.expectedHash, req.view.hash, req.view.version, JSON.stringify(req.view.view));
    else args.push('none', '', '', 0, '');
    const dropViews = req.dropViews ?? [];
    keys.push(...dropViews.map((id) => this.keys.view(id)));
    if (req.told) keys.push(req.told.key);
    args.push(
      this.settings.retentionMs,
      req.now,
      dropViews.length,
      req.told ? '1' : '0',
      req.told?.members.length ?? 0,
      ...(req.told?.members ?? []),
      req.events.length,
    );
    for (const { event, subscriptions } of req.events) {
      keys.push(
        this.keys.event(event.id),
        ...subscriptions.flatMap((sub) => [
          this.keys.lane(sub, req.customerId),
          this.keys.lanes(sub),
          this.keys.state(sub),
        ]),
      );
      args.push(event.id, JSON.stringify(event), Date.parse(event.timestamp), subscriptions.length, ...subscriptions);
    }
    const [status, recorded, ...subs] = (await runScript(this.redis, 'outbound-emit', keys, args)) as Array<
      string | number
    >;
    return status === 'conflict'
      ? { conflict: true }
      : { conflict: false, recorded: Number(recorded), queuedFor: subs.map(String) };
  }

  /** The lane's head and its body (null once it has left the log). */
  async head(sub: string, customer: string): Promise<{ id: string; body: string | null } | null> {
    const id = await this.redis.lindex(this.keys.lane(sub, customer), 0);
    return id === null ? null : { id, body: await this.redis.get(this.keys.event(id)) };
  }

  private pushAttempt(tx: ReturnType<Redis['multi']>, sub: string, attempt: DeliveryAttempt): void {
    const json = JSON.stringify(attempt);
    const keep = this.settings.attemptsKept - 1;
    tx.lpush(this.keys.attempts(sub), json).ltrim(this.keys.attempts(sub), 0, keep);
    if (attempt.outcome !== 'delivered') tx.lpush(this.keys.failed(sub), json).ltrim(this.keys.failed(sub), 0, keep);
  }

  async recordAttempt(sub: string, attempt: DeliveryAttempt): Promise<void> {
    const tx = this.redis.multi();
    this.pushAttempt(tx, sub, attempt);
    await tx.exec();
  }

  /** Records the attempt and takes the event off the lane's head (delivered, or expired). */
  async ack(sub: string, customer: string, attempt: DeliveryAttempt): Promise<boolean> {
    const tx = this.redis.multi();
    this.pushAttempt(tx, sub, attempt);
    const keys = [
      this.keys.lane(sub, customer),
      this.keys.state(sub),
      this.keys.fails(sub),
      this.keys.lanes(sub),
    ] as const;
    queueScript(
      tx,
      'outbound-ack',
      [...keys],
      [customer, attempt.eventId, Date.parse(attempt.at), attempt.outcome === 'delivered' ? '1' : '0'],
    );
    const replies = (await tx.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    return replies.at(-1)?.[1] === 1;
  }

  /** Records a failed attempt; says how many failures in a row the lane has, and whether the subscription is (now) paused. */
  async fail(
    sub: string,
    customer: string,
    attempt: DeliveryAttempt,
  ): Promise<{ failures: number; paused: 'no' | 'already' | 'now' }> {
    const tx = this.redis.multi();
    this.pushAttempt(tx, sub, attempt);
    queueScript(
      tx,
      'outbound-fail',
      [this.keys.state(sub), this.keys.fails(sub)],
      [customer, Date.parse(attempt.at), this.settings.pauseAfterMs, attempt.error ?? `HTTP ${attempt.status}`],
    );
    const replies = (await tx.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    const [failures, paused] = replies.at(-1)?.[1] as [number, number];
    return { failures, paused: paused === 2 ? 'now' : paused === 1 ? 'already' : 'no' };
  }

  async isPaused(sub: string): Promise<boolean> {
    return (await this.redis.hget(this.keys.state(sub), 'paused')) === '1';
  }

  async pause(sub: string, reason: string, now = Date.now()): Promise<void> {
    await this.redis.hset(this.keys.state(sub), 'paused', '1', 'pausedAt', String(now), 'pausedReason', reason);
  }

  /** Lifts a pause and forgets the failure streak; returns the customers whose lanes hold events. */
  async resume(sub: string): Promise<string[]> {
    await this.redis
      .multi()
      .hdel(this.keys.state(sub), 'paused', 'pausedAt', 'pausedReason', 'failingSince')
      .del(this.keys.fails(sub))
      .exec();
    return this.customersWaiting(sub);
  }

  async customersWaiting(sub: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.sscan(this.keys.lanes(sub), cursor, 'COUNT', 500);
      cursor = next;
      out.push(...batch);
    } while (cursor !== '0');
    return [...new Set(out)];
  }

  async state(sub: string): Promise<SubscriptionState> {
    const [h, waiting] = await Promise.all([
      this.redis.hgetall(this.keys.state(sub)),
      this.redis.scard(this.keys.lanes(sub)),
    ]);
    return {
      id: sub,
      paused: h.paused === '1',
      pausedAt: iso(h.pausedAt),
      pausedReason: h.pausedReason ?? null,
      failingSince: iso(h.failingSince),
      lastSuccessAt: iso(h.lastSuccessAt),
      lastFailureAt: iso(h.lastFailureAt),
      lastError: h.lastError ?? null,
      pending: Math.max(0, Number(h.pending ?? 0)),
      customersWaiting: waiting,
    };
  }

  /** Newest first. */
  async attempts(sub: string, opts: { failedOnly?: boolean; limit?: number } = {}): Promise<DeliveryAttempt[]> {
    const key = opts.failedOnly ? this.keys.failed(sub) : this.keys.attempts(sub);
    const rows = await this.redis.lrange(key, 0, (opts.limit ?? this.settings.attemptsKept) - 1);
    return rows.map((r) => JSON.parse(r) as DeliveryAttempt);
  }

  /** Every event still in the log recorded at or after `sinceMs`, in emission order. */
  /** Recorded events from `sinceMs` (inclusive) to `untilMs` (exclusive; none: to now), in emission order. */
  async eventsSince(sinceMs: number, untilMs?: number): Promise<OutboundEvent[]> {
    const ids = await this.redis.zrangebyscore(
      this.keys.logTime,
      sinceMs,
      untilMs === undefined ? '+inf' : `(${untilMs}`,
    );
    const out: Array<{ seq: number; event: OutboundEvent }> = [];
    for (let i = 0; i < ids.length; i += 500) {
      const batch = ids.slice(i, i + 500);
      const [seqs, bodies] = await Promise.all([
        this.redis.zmscore(this.keys.logSeq, ...batch),
        this.redis.mget(...batch.map((id) => this.keys.event(id))),
      ]);
      batch.forEach((_, j) => {
        const body = bodies[j];
        if (body)
          out.push({ seq: Number(seqs[j] ?? Number.MAX_SAFE_INTEGER), event: JSON.parse(body) as OutboundEvent });
      });
    }
    return out.sort((a, b) => a.seq - b.seq).map((e) => e.event);
  }

  /** Adds events to a lane in emission order, beside what it holds; returns how many were new there. */
  async mergeIntoLane(sub: string, customer: string, ids: readonly string[]): Promise<number> {
    let added = 0;
    const keys: [string, string, string, string] = [
      this.keys.lane(sub, customer),
      this.keys.logSeq,
      this.keys.lanes(sub),
      this.keys.state(sub),
    ];
    for (let i = 0; i < ids.length; i += 1000)
      added += Number(await runScript(this.redis, 'outbound-merge-lane', keys, [customer, ...ids.slice(i, i + 1000)]));
    return added;
  }
}
