/**
 * Turns stored changes into recorded, queued outbound events. Called from
 * the events worker's onApplied hook, so it must stay cheap: it reads the
 * record and subscribers' view of it, derives the events in pure code, and
 * records and queues them in ONE script; a delivery never runs here.
 *
 * Events are derived against the view subscribers were last given, and the
 * record as it is NOW (not as this job left it): when two workers store
 * changes of one customer and reach this hook in the other order, the
 * second to arrive finds nothing new, instead of sending an older state
 * after a newer one. The view moves on by compare-and-set, so each change
 * is told once and in order.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import type { DeflectionEvent } from '../deflection/types.js';
import type { CustomerRecord } from '../events/record.js';
import { isSystemKey, type IdentityConflict } from '../events/identity.js';
import { systemKeysOf } from '../events/key-index.js';
import type { ApplyOutcome, RecordStore } from '../events/store.js';
import {
  customerDeletedEvent,
  deadLetteredEvent,
  deflectionRecordedEvent,
  deriveChangeEvents,
  viewHash,
  viewOf,
  type DeadLetterFacts,
} from './derive.js';
import { NO_CUSTOMER } from './keys.js';
import type { OutboundMetrics } from './metrics.js';
import { kickLanes, type OutboundQueue } from './queue.js';
import type { OutboundStore } from './store.js';
import { subscriptionWants, type OutboundCustomer, type OutboundEvent, type Subscription } from './types.js';

const MAX_RACES = 25;

export interface OutboundEmitterOptions {
  redis: Redis;
  records: RecordStore;
  store: OutboundStore;
  subscriptions: readonly Subscription[];
  queues: ReadonlyMap<string, OutboundQueue>;
  logger: Logger;
  metrics?: OutboundMetrics | undefined;
  now?: () => number;
}

export class OutboundEmitter {
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: OutboundEmitterOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ module: 'outbound' });
  }

  private get active(): boolean {
    return this.opts.subscriptions.length > 0;
  }

  /**
   * The record as it is now, with its system keys (all the view needs of its identity keys: linksFor) and its
   * untold identity changes; one round trip. The system keys come from the store's key index, not from the whole
   * key set, which grows with the customer's contacts (key-index.ts); a set the index does not match is read whole.
   */
  private async readRecord(id: string): Promise<{ record: CustomerRecord; keys: string[]; untold: string[] } | null> {
    const { records } = this.opts;
    const replies =
      (await this.opts.redis
        .pipeline()
        .get(records.recordKey(id))
        .hgetall(records.keyIndexKey(id))
        .scard(records.ownedKey(id))
        .smembers(records.untoldKey(id))
        .exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    const raw = replies[0]?.[1] as string | null;
    if (raw === null || raw === undefined) return null;
    const indexed = systemKeysOf(
      (replies[1]?.[1] as Record<string, string> | undefined) ?? {},
      Number(replies[2]?.[1] ?? 0),
    );
    const keys = indexed
      ? [...indexed].sort()
      : (await this.opts.redis.smembers(records.ownedKey(id))).filter(isSystemKey).sort();
    // Written only by the record store: not validated again (large records cost more to parse than to diff).
    return { record: JSON.parse(raw) as CustomerRecord, keys, untold: (replies[3]?.[1] as string[] | undefined) ?? [] };
  }

  /**
   * The merges and conflicts to tell: this job's, and any an earlier job stored without telling (it died,
   * or its hook failed and the retry found nothing left to merge).
   */
  private async identityChanges(
    outcome: ApplyOutcome,
    untold: readonly string[],
  ): Promise<{ mergedIds: string[]; conflicts: IdentityConflict[] }> {
    const mergedIds = [
      ...new Set([
        ...outcome.mergedIds,
        ...untold.filter((u) => u.startsWith('merged:')).map((u) => u.slice('merged:'.length)),
      ]),
    ];
    const known = new Set(outcome.conflicts.map((c) => c.id));
    const missing = untold
      .filter((u) => u.startsWith('conflict:'))
      .map((u) => u.slice('conflict:'.length))
      .filter((id) => !known.has(id));
    const stored = missing.length > 0 ? await this.opts.redis.hmget(this.opts.records.conflictsKey, ...missing) : [];
    const conflicts = [
      ...outcome.conflicts,
      ...stored.filter((raw): raw is string => raw !== null).map((raw) => JSON.parse(raw) as IdentityConflict),
    ];
    return { mergedIds, conflicts };
  }

  /** Records what subscribers should hear of a stored change; returns how many events were new. */
  async onApplied(outcome: ApplyOutcome, ctx: { retry: boolean }): Promise<number> {
    if (!this.active) return 0;
    const customerId = outcome.recordId;
    for (let race = 0; race < MAX_RACES; race++) {
      const [current, stored] = await Promise.all([this.readRecord(customerId), this.opts.store.readView(customerId)]);
      if (current === null) return 0; // merged into another record since: that record's change tells it
      const { mergedIds, conflicts } = await this.identityChanges(outcome, current.untold);
      const after = viewOf(current.record, current.keys);
      const hash = viewHash(after);
      const unchanged = stored !== null && stored.hash === hash;
      if (unchanged && mergedIds.length === 0 && conflicts.length === 0) {
        // A retried job may follow a crash between recording and queueing: make sure the lanes have jobs.
        if (ctx.retry)
          await this.kick(
            customerId,
            this.opts.subscriptions.map((s) => s.id),
          );
        return 0;
      }
      // Never told of this customer: it is new to subscribers (customer.created with all it holds now). Not the record
      // before this job's change: the hook of an earlier change may not have run yet, and what it brought would be lost.
      const before = unchanged ? after : (stored?.view ?? null);
      const version = unchanged ? stored.version : (stored?.version ?? 0) + 1;
      const events = deriveChangeEvents({
        customerId,
        version,
        before,
        after,
        mergedIds,
        conflicts,
        now: new Date(this.now()),
      });
      const result = await this.opts.store.emit({
        customerId,
        ...(unchanged ? {} : { view: { expectedHash: stored?.hash ?? '', hash, version, view: after } }),
        dropViews: mergedIds,
        ...(current.untold.length > 0 && {
          told: { key: this.opts.records.untoldKey(customerId), members: current.untold },
        }),
        events: events.map((event) => ({ event, subscriptions: this.subscribersOf(event) })),
        now: this.now(),
      });
      if (result.conflict) continue; // another worker told a newer state first: derive again from it
      this.count(events, result.recorded);
      await this.kick(customerId, result.queuedFor);
      this.log.debug(
        { customerId, version, types: events.map((e) => e.type), queuedFor: result.queuedFor },
        'outbound events recorded',
      );
      return result.recorded;
    }
    throw new Error(`outbound view of ${customerId} kept changing under us ${MAX_RACES} times; the job retries`);
  }

  /** A decided self-service session (the deflection tracker's outbox hands each over at least once). */
  async onDeflection(event: DeflectionEvent): Promise<void> {
    if (!this.active) return;
    await this.emitOne(
      deflectionRecordedEvent(event, await this.refOf(event.customerId), new Date(this.now())),
      event.customerId,
    );
  }

  /** A job that failed for good (events or push queue). */
  async onDeadLettered(facts: DeadLetterFacts, customerId: string | null): Promise<void> {
    if (!this.active) return;
    const customer = customerId === null ? null : await this.refOf(customerId);
    await this.emitOne(deadLetteredEvent(facts, customer, new Date(this.now())), customerId ?? NO_CUSTOMER);
  }

  /** The customer was erased (`identity forget`); `links` are the ones it had, `ref` makes the event id unique to this erasure. */
  async onDeleted(customerId: string, links: OutboundCustomer['links'], ref: string): Promise<void> {
    if (!this.active) return;
    await this.emitOne(
      customerDeletedEvent({ id: customerId, version: null, links }, ref, new Date(this.now())),
      customerId,
    );
  }

  private async refOf(customerId: string): Promise<OutboundCustomer> {
    const [current, version] = await Promise.all([
      this.readRecord(customerId),
      this.opts.store.readVersion(customerId),
    ]);
    const links = current
      ? viewOf(current.record, current.keys).links
      : { stripeCustomerId: null, salesforceAccountId: null, zendeskOrganizationId: null };
    return { id: customerId, version, links };
  }

  private async emitOne(event: OutboundEvent, lane: string): Promise<void> {
    const subscribers = this.subscribersOf(event);
    const result = await this.opts.store.emit({
      customerId: lane,
      events: [{ event, subscriptions: subscribers }],
      now: this.now(),
    });
    if (result.conflict) return; // cannot happen without a view; typed for completeness
    this.count([event], result.recorded);
    // Every subscriber's lane, not only those queued to now: when this is a hand-over again (the deflection outbox
    // retries), the first try may have recorded the event and died before its kick. A lane job is deduplicated.
    await this.kick(lane, subscribers);
  }

  private subscribersOf(event: OutboundEvent): string[] {
    return this.opts.subscriptions.filter((s) => subscriptionWants(s, event)).map((s) => s.id);
  }

  private count(events: readonly OutboundEvent[], recorded: number): void {
    // A batch is recorded whole or (a retry) not at all, so `recorded` is all or nothing in practice.
    if (recorded === 0) return;
    for (const e of events) this.opts.metrics?.events.inc({ type: e.type });
  }

  private async kick(customerId: string, subscriptionIds: readonly string[]): Promise<void> {
    await Promise.all(
      subscriptionIds.map((id) => {
        const queue = this.opts.queues.get(id);
        return queue ? kickLanes(queue, id, [customerId]) : undefined;
      }),
    );
  }
}
