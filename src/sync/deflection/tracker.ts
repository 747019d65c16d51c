/**
 * The deflection tracker: session.ts's pure steps, each made one optimistic
 * Redis transaction (WATCH what the step reads, MULTI/EXEC what it writes,
 * recompute when another worker got there first). So a session is decided
 * exactly once however many workers, retries and close jobs race for it: the
 * decision, its event, its counters and its removal from the open set commit
 * together or not at all. An activity's event id is marked in the same
 * transaction that files it, so a redelivery changes nothing.
 *
 * These stay transactions, not Lua scripts: each decision is session.ts's TypeScript over the JSON read,
 * and which keys are written (the session's customer, its open set) is known only after that read. A
 * ticket, which needs no decision, is recorded by one script (redis/scripts/deflection-ticket-4.lua).
 *
 * Decided events leave through an outbox (outbox.ts).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { hourBucket, hourBuckets } from './keys.js';
import { Outbox } from './outbox.js';
import { toJson } from './schema.js';
import {
  decide,
  decided,
  dueAt,
  planActivity,
  windowEnd,
  type DeflectionSettings,
  type SessionState,
  type TicketRef,
  type TrackedActivity,
} from './session.js';
import { executed, WatchPool } from './transaction.js';
import type { TicketCategory } from '../events/source-event.js';
import type { DeflectionEvent } from './types.js';
import { REDIS_KEYS, type DeflectionKeys } from '../redis/keys.js';
import { runScript } from '../redis/scripts.js';

export interface ActivityInput {
  customerId: string;
  contact: string;
  activity: TrackedActivity;
  /** The query of a search that found nothing, recorded for the report. */
  noResultQuery?: string | null;
}

export interface TicketInput {
  customerId: string;
  ticketId: string;
  category: TicketCategory;
  createdAt: number;
  /** The ticket's brand, when its event named one (TicketRef.brandId). */
  brandId?: string;
  /** See TicketRef.slackMs. */
  slackMs?: number;
}

export interface DeflectionTrackerOptions {
  /** A non-blocking connection; transactions run on duplicates of it (WATCH belongs to a connection). */
  redis: Redis;
  prefix: string;
  settings: DeflectionSettings;
  /** The clock that decides when a window has ended (tests move it on). */
  now?: () => number;
  /** Arranges for closeDue(sessionId, at) to run once the clock reaches `at`: the delayed close job. */
  schedule?: (sessionId: string, at: number) => Promise<void>;
  /** Hands a decided event to the push queues; idempotent per event id. */
  publish?: (event: DeflectionEvent) => Promise<void>;
  /** How long decided sessions and tracked activity ids are kept (default 8 days). */
  retainMs?: number;
  /** How far back the report's history (sessions, events, searches, tickets, hourly counters) is kept (default 400 days). */
  historyMs?: number;
  logger?: Logger;
  /** Told once per session started and once per session decided (after its transaction committed): the metrics. */
  onStarted?: (session: { brandId?: string | undefined }) => void;
  onDecided?: (event: DeflectionEvent) => void;
}

export type CloseResult =
  | { status: 'decided'; event: DeflectionEvent }
  | { status: 'not-open' | 'superseded' }
  | { status: 'early'; waitMs: number };

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const TICKET_MARK_MS = 400 * DAY_MS;
const startJson = (s: SessionState): string =>
  toJson({
    sessionId: s.id,
    customerId: s.customerId,
    startedAt: new Date(s.startedAt).toISOString(),
    brandId: s.brandId,
  });
/** A contact has one session at a time per Help Center brand: activity on two brands' Help Centers makes two sessions. */
const sessionKeyOf = (contact: string, brandId: string | undefined): string =>
  brandId ? `${contact}\u0000brand:${brandId}` : contact;
const parseSession = (raw: string | null): SessionState | null =>
  raw === null ? null : (JSON.parse(raw) as SessionState);

export class DeflectionTracker {
  readonly keys: DeflectionKeys;
  private readonly now: () => number;
  private readonly retainMs: number;
  private readonly historyMs: number;
  private readonly pool: WatchPool;
  private readonly outbox: Outbox;

  constructor(private readonly opts: DeflectionTrackerOptions) {
    this.keys = REDIS_KEYS.deflection(opts.prefix);
    this.now = opts.now ?? Date.now;
    this.retainMs = opts.retainMs ?? 8 * DAY_MS;
    this.historyMs = opts.historyMs ?? 400 * DAY_MS;
    this.pool = new WatchPool(opts.redis);
    this.outbox = new Outbox(opts.redis, this.keys.outbox, opts.publish, opts.logger);
  }

  private get settings(): DeflectionSettings {
    return this.opts.settings;
  }
  /** Long enough for any ticket that can still escalate a session that is open or may yet open. */
  private get ticketMemoryMs(): number {
    const s = this.settings;
    return s.windowMs + s.sessionIdleMs + s.lateTicketGraceMs + DAY_MS;
  }

  /** Files one portal activity into its contact's session. */
  async onActivity(input: ActivityInput): Promise<'duplicate' | 'late' | 'started' | 'joined'> {
    const { keys, settings } = this;
    const { activity } = input;
    const plan = await this.pool.atomically(async (conn) => {
      const seenKey = keys.seen(activity.eventId);
      const contactKey = keys.contact(sessionKeyOf(input.contact, activity.brandId));
      await conn.watch(seenKey, contactKey);
      const [seen, currentId] = await Promise.all([conn.exists(seenKey), conn.get(contactKey)]);
      if (seen === 1) {
        await conn.unwatch();
        return 'duplicate' as const;
      }
      if (currentId !== null) await conn.watch(keys.session(currentId));
      const current = currentId === null ? null : parseSession(await conn.get(keys.session(currentId)));
      const plan = planActivity(current, activity, input, settings);
      const tx = conn.multi().set(seenKey, '1', 'PX', this.retainMs);
      if (input.noResultQuery) {
        const at = activity.summary.at;
        tx.zadd(
          keys.noResults,
          activity.atMs,
          toJson({
            query: input.noResultQuery,
            at,
            customerId: input.customerId,
            eventId: activity.eventId,
            brandId: activity.brandId,
          }),
        );
        tx.hincrby(keys.counts(hourBucket(activity.atMs)), 'noResultSearches', 1);
      }
      if (plan.kind !== 'late') {
        const s = plan.session;
        // No expiry while open: the close job, or the sweep, decides it.
        tx.set(keys.session(s.id), JSON.stringify(s));
        tx.set(contactKey, s.id, 'PX', this.retainMs + settings.windowMs + settings.sessionIdleMs);
        tx.sadd(keys.open(s.customerId), s.id).zadd(keys.due, dueAt(s, settings), s.id);
        if (plan.kind === 'started') {
          tx.zadd(keys.sessions, s.startedAt, startJson(s)).hincrby(
            keys.counts(hourBucket(s.startedAt)),
            'sessions',
            1,
          );
        } else if (plan.previous.startedAt !== s.startedAt) {
          tx.zrem(keys.sessions, startJson(plan.previous)).zadd(keys.sessions, s.startedAt, startJson(s));
          tx.hincrby(keys.counts(hourBucket(plan.previous.startedAt)), 'sessions', -1).hincrby(
            keys.counts(hourBucket(s.startedAt)),
            'sessions',
            1,
          );
        }
      }
      return executed(await tx.exec()) ? plan : undefined;
    });
    if (plan === 'duplicate') return plan;
    if (plan.kind === 'late') return 'late';
    const s = plan.session;
    if (plan.kind === 'started') this.opts.onStarted?.(s);
    await this.opts.schedule?.(s.id, dueAt(s, settings));
    // A ticket may have come first (webhooks race): it escalates this session now.
    if ((await this.opts.redis.exists(keys.customerTickets(s.customerId))) === 1) await this.settle(s.id);
    return plan.kind;
  }

  /** Records a ticket (counted once per ticket id) and escalates the customer's sessions it falls in. */
  async onTicket(t: TicketInput): Promise<{ opened: boolean; escalated: DeflectionEvent[] }> {
    const { keys } = this;
    const createdAt = new Date(t.createdAt).toISOString();
    const logEntry = toJson({
      ticketId: t.ticketId,
      customerId: t.customerId,
      category: t.category,
      createdAt,
      brandId: t.brandId,
    });
    const recentEntry = toJson({
      ticketId: t.ticketId,
      category: t.category,
      brandId: t.brandId,
      ...(t.slackMs ? { slackMs: t.slackMs } : {}),
    });
    const recorded = await runScript(
      this.opts.redis,
      'deflection-ticket',
      [keys.ticket(t.ticketId), keys.tickets, keys.counts(hourBucket(t.createdAt)), keys.customerTickets(t.customerId)],
      [
        t.createdAt,
        TICKET_MARK_MS,
        logEntry,
        `tickets:${t.category}`,
        recentEntry,
        `(${t.createdAt - this.ticketMemoryMs}`,
        this.ticketMemoryMs,
      ],
    );
    const opened = Number(recorded) === 1;
    // Also when not new: a retried job must still escalate what its first attempt did not reach.
    return { opened, escalated: await this.reconcile(t.customerId) };
  }

  /** Records of `mergedIds` became `customerId`: their open sessions and recent tickets follow. */
  async onMerged(customerId: string, mergedIds: readonly string[]): Promise<DeflectionEvent[]> {
    const { keys } = this;
    // Most merged records had no portal session and no recent ticket (one EXISTS instead of a transaction each):
    // nothing then follows them, and nothing new can be decided for the customer they joined.
    const held = mergedIds.flatMap((from) => [keys.open(from), keys.customerTickets(from)]);
    if (held.length === 0 || (await this.opts.redis.exists(...held)) === 0) return [];
    for (const from of mergedIds) {
      await this.pool.atomically(async (conn) => {
        await conn.watch(keys.open(from));
        const ids = await conn.smembers(keys.open(from));
        if (ids.length > 0) await conn.watch(...ids.map(keys.session));
        const sessions = ids.length > 0 ? (await conn.mget(...ids.map(keys.session))).map(parseSession) : [];
        const tx = conn.multi();
        for (const s of sessions) {
          if (s === null || s.state !== 'open') continue;
          const moved: SessionState = { ...s, customerId };
          tx.set(keys.session(s.id), JSON.stringify(moved)).sadd(keys.open(customerId), s.id);
          tx.zrem(keys.sessions, startJson(s)).zadd(keys.sessions, s.startedAt, startJson(moved));
        }
        tx.del(keys.open(from));
        tx.zunionstore(
          keys.customerTickets(customerId),
          2,
          keys.customerTickets(customerId),
          keys.customerTickets(from),
          'AGGREGATE',
          'MIN',
        );
        tx.pexpire(keys.customerTickets(customerId), this.ticketMemoryMs).del(keys.customerTickets(from));
        return executed(await tx.exec()) ? true : undefined;
      });
    }
    return mergedIds.length > 0 ? this.reconcile(customerId) : [];
  }

  /** Decides every open session of a customer that can be decided now. */
  async reconcile(customerId: string): Promise<DeflectionEvent[]> {
    const events: DeflectionEvent[] = [];
    for (const id of await this.opts.redis.smembers(this.keys.open(customerId))) {
      const { event } = await this.settleOne(id);
      if (event) events.push(event);
    }
    return events;
  }

  /** Decides one session if it can be decided now; the event when this call decided it. */
  async settle(sessionId: string): Promise<DeflectionEvent | null> {
    return (await this.settleOne(sessionId)).event;
  }

  private async settleOne(sessionId: string): Promise<{ event: DeflectionEvent | null; session: SessionState | null }> {
    const { keys, settings } = this;
    const result = await this.pool.atomically(async (conn) => {
      const key = keys.session(sessionId);
      await conn.watch(key);
      const s = parseSession(await conn.get(key));
      if (s === null || s.state !== 'open') {
        await conn.unwatch();
        return { event: null, session: s };
      }
      const recent = keys.customerTickets(s.customerId);
      await conn.watch(recent);
      // More than the first: the first may be of another brand (decide() passes over it).
      const rows = await conn.zrangebyscore(recent, s.startedAt, windowEnd(s, settings), 'WITHSCORES', 'LIMIT', 0, 50);
      const tickets: TicketRef[] = [];
      for (let i = 0; i + 1 < rows.length; i += 2)
        tickets.push({ ...(JSON.parse(rows[i]!) as Omit<TicketRef, 'createdAt'>), createdAt: Number(rows[i + 1]) });
      const decision = decide(s, tickets, this.now(), settings);
      if (decision === null) {
        await conn.unwatch();
        // Keeps the sweep's index true to the current settings (a longer window after a config change).
        await this.opts.redis.zadd(keys.due, dueAt(s, settings), s.id);
        return { event: null, session: s };
      }
      const closed = decided(s, decision, settings);
      const e = closed.event;
      const bucket = keys.counts(hourBucket(Date.parse(e.decidedAt)));
      const tx = conn
        .multi()
        .set(key, JSON.stringify(closed), 'PX', this.retainMs)
        .srem(keys.open(s.customerId), s.id)
        .zrem(keys.due, s.id)
        .zadd(keys.events, Date.parse(e.decidedAt), toJson(e))
        .rpush(keys.outbox, toJson(e))
        .hincrby(bucket, e.outcome, 1)
        .hincrby(bucket, `${e.outcome}:${e.category}`, 1);
      return executed(await tx.exec()) ? { event: e, session: closed } : undefined;
    });
    if (result.event) {
      this.opts.onDecided?.(result.event);
      await this.flushOutbox();
    }
    // Gone or decided elsewhere: nothing for the sweep to look at any more.
    else if (result.session === null || result.session.state !== 'open')
      await this.opts.redis.zrem(keys.due, sessionId);
    return result;
  }

  /** What a close job scheduled for `at` does. */
  async closeDue(sessionId: string, at: number): Promise<CloseResult> {
    const { event, session } = await this.settleOne(sessionId);
    if (event) return { status: 'decided', event };
    if (session === null || session.state !== 'open') return { status: 'not-open' };
    const due = dueAt(session, this.settings);
    // The window moved on with later activity; the job scheduled then will come.
    if (due > at) return { status: 'superseded' };
    return { status: 'early', waitMs: Math.max(1, due - this.now()) };
  }

  /** Decides every session whose window has ended by the clock; the backstop for lost or early jobs. */
  async sweep(batch = 500): Promise<number> {
    let decidedCount = 0;
    for (let round = 0; round < 1000; round++) {
      const ids = await this.opts.redis.zrangebyscore(this.keys.due, '-inf', this.now(), 'LIMIT', 0, batch);
      for (const id of ids) if ((await this.settleOne(id)).event) decidedCount++;
      if (ids.length < batch) break;
    }
    await this.flushOutbox();
    await this.trimHistory();
    return decidedCount;
  }

  /**
   * Drops what is older than the history the report keeps: entries of the four history sets and
   * whole hours of counters before the cutoff. One worker an hour does it (the sweep asks every
   * minute); `force` skips that turn-taking.
   */
  async trimHistory(opts: { force?: boolean } = {}): Promise<{ entries: number; hours: number }> {
    const { keys } = this;
    const redis = this.opts.redis;
    if (!opts.force && (await redis.set(keys.trimLock, '1', 'PX', HOUR_MS, 'NX')) === null)
      return { entries: 0, hours: 0 };
    const cutoff = Math.floor((this.now() - this.historyMs) / HOUR_MS) * HOUR_MS;
    const sets = [keys.sessions, keys.events, keys.noResults, keys.tickets];
    // Where the counters still begin: the trim's own mark, else the oldest history entry.
    let from = Number(await redis.get(keys.trimmedUntil));
    if (!from) {
      const firsts = await Promise.all(sets.map((k) => redis.zrange(k, '0', '0', 'WITHSCORES')));
      from = Math.min(cutoff, ...firsts.filter((f) => f.length === 2).map((f) => Number(f[1])));
    }
    let entries = 0;
    for (const k of sets) entries += await redis.zremrangebyscore(k, '-inf', `(${cutoff}`);
    const hours = from < cutoff ? hourBuckets(from, cutoff) : [];
    for (let i = 0; i < hours.length; i += 500)
      await redis.unlink(...hours.slice(i, i + 500).map((h) => keys.counts(h)));
    await redis.set(keys.trimmedUntil, String(Math.max(from || cutoff, cutoff)));
    return { entries, hours: hours.length };
  }

  /** Hands decided events to the push queues; never throws. */
  flushOutbox(): Promise<number> {
    return this.outbox.drain();
  }

  close(): void {
    this.pool.close();
  }
}
