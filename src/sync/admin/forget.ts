/**
 * `identity forget` made complete: the record and its index (IdentityAdmin),
 * a tombstone on every identity key of the customer, a sweep that erases every
 * other copy under the prefix (src/sync/admin/erasure.ts), `customer.deleted`
 * for outbound subscribers, the proof that no email of it is left, and, with
 * `--portal clear`, what was pushed to the portals taken back (portal-clear.ts).
 */
import type { Redis } from 'ioredis';
import { PORTAL_TARGETS } from '../target-names.js';
import type { PortalTarget } from '../push/portal-target.js';
import type { OutboundEmitter } from '../outbound/emitter.js';
import type { CustomerRecord } from '../events/record.js';
import { RecordStore } from '../events/store.js';
import { IdentityAdmin } from './identity-admin.js';
import { inspectRecord, NotFoundError } from './inspect.js';
import { Eraser, needlesOf, needlesOfKey, type SweepResult } from './erasure.js';
import {
  clearPlanned,
  locateOnPortals,
  PortalClearPlans,
  portalClearOf,
  readAccepted,
  withLocated,
  type PortalMode,
  type PortalOutcome,
} from './portal-clear.js';
import { Tombstones } from '../events/tombstones.js';
import { QUEUE_NAMES, REDIS_KEYS, type QueueName } from '../redis/keys.js';
import { startOutbound, type OutboundConfig } from '../outbound/service.js';
import type { Logger } from '../../log.js';
import { statusQueueNames, type StatusSettings } from './status.js';

interface ForgetResult {
  recordId: string;
  /** How many identity keys were released (and now carry a tombstone). */
  keysReleased: number;
  tombstoneDays: number;
  sweep: SweepResult;
  /** Keys under the prefix that still hold one of the customer's emails: empty, or the erasure is not complete. */
  remaining: string[];
  toldSubscribers: boolean;
  portal: PortalOutcome;
}

export interface ForgetDeps {
  redis: Redis;
  prefix: string;
  store: RecordStore;
  queueNames: readonly QueueName[];
  tombstoneDays: number;
  emitter?: OutboundEmitter | undefined;
  /** What to do with what was pushed to the configured portal targets. */
  portal: { mode: PortalMode; targets: readonly PortalTarget[] };
}

/** The queues a forget sweeps for jobs naming the customer: those `status` shows, and the reconcile queue. */
export function erasureQueueNames(settings: Pick<StatusSettings, 'subscriptions'>): QueueName[] {
  return [...statusQueueNames(settings), QUEUE_NAMES.reconcile];
}

/** The part of the configuration a forget reads (the app's Config is one). */
export type ForgetSettings = OutboundConfig & { identity: { forgetTombstoneDays: number } };

/**
 * Runs `work` with what a forget under the prefix needs: the record store, the queues its sweep covers, the
 * tombstone's days, the portal targets with what to do with what was pushed to them, and, when subscriptions
 * are configured, the outbound emitter (subscribers hear `customer.deleted`), stopped after.
 */
export async function withForgetDeps<T>(
  redis: Redis,
  settings: ForgetSettings,
  portal: ForgetDeps['portal'],
  logger: Logger,
  work: (deps: ForgetDeps) => Promise<T>,
): Promise<T> {
  const store = new RecordStore(redis, settings.redis.prefix);
  const outbound =
    settings.subscriptions.length > 0
      ? await startOutbound({ connection: redis, redis, records: store, config: settings, logger })
      : null;
  try {
    return await work({
      redis,
      prefix: settings.redis.prefix,
      store,
      queueNames: erasureQueueNames(settings),
      tombstoneDays: settings.identity.forgetTombstoneDays,
      emitter: outbound?.emitter,
      portal,
    });
  } finally {
    await outbound?.close();
  }
}

/** `identity restore`: lifts the tombstone of the forgotten customer `key` names, audited; 0 when it carries none. */
export function restoreForgotten(
  redis: Redis,
  prefix: string,
  key: string,
  who: { by: string; reason: string },
): Promise<number> {
  return new Tombstones(redis, prefix).restoreAudited(key, who, REDIS_KEYS.records(prefix).globalAudit);
}

async function forgetCustomer(
  deps: ForgetDeps,
  record: CustomerRecord,
  who: { by: string; reason: string },
): Promise<ForgetResult> {
  const owned = await deps.store.ownedKeys(record.id);
  // The whole customer: the emails of people kept beside the record are needles too.
  const needles = needlesOf((await deps.store.getFull(record.id)) ?? record, owned);
  const tombstones = new Tombstones(deps.redis, deps.prefix);
  const emailKeys = needles.emails.filter((e) => !e.includes('%') && !e.includes('\\')).map((e) => `email:${e}`);
  // Tombstones first: an event arriving during the sweep is dropped, not made into a new record.
  const firstEver = !(await tombstones.anyEver());
  const { group } = await tombstones.add([...new Set([...owned, ...emailKeys])], deps.tombstoneDays);
  // What the portals may hold, read before the sweep erases the record and the targets' accepted states.
  const full = (await deps.store.getFull(record.id)) ?? record;
  const drawn = portalClearOf(full, owned, await readAccepted(deps.redis, deps.prefix, PORTAL_TARGETS, record.id));
  // Workers take "nothing was ever forgotten here" on trust for up to NOTICE_MS: outwait that before sweeping.
  if (firstEver) await new Promise((resolve) => setTimeout(resolve, Tombstones.NOTICE_MS + 100));
  await new IdentityAdmin(deps.store, deps.redis).forget(record.id, who);
  const hashes = new Map<string, string>();
  for (const n of needles.all) hashes.set(n, `forgotten:${await tombstones.hashOf(n)}`);
  const eraser = new Eraser(deps.redis, deps.prefix, deps.store, deps.queueNames);
  try {
    const hash = (n: string) => hashes.get(n.toLowerCase()) ?? 'forgotten';
    const sweep = await eraser.sweep(needles.all, hash);
    // A push or event job in flight could not be removed and would write the customer again (its accepted
    // state, the portal): once it has ended, its leftovers are swept too, and only then is the portal cleared.
    if ((await eraser.settle(needles.all)).waited) addSweep(sweep, await eraser.sweep(needles.all, hash));
    const links = record.derived.links;
    const ref = (await tombstones.hashOf(`${record.id}:${Date.now()}`)).slice(0, 12);
    const targets = deps.portal.targets;
    // What the portals filed under the emails (Zendesk deflection profiles), looked up now that no job in flight
    // can file more and while the emails are still known; kept by platform id.
    const located = await locateOnPortals(targets, needles.emails);
    const plan = withLocated(drawn, located);
    // Kept (ids only, no name or email) so that a later or repeated `--portal clear` knows what to take back.
    const plans = new PortalClearPlans(deps.redis, deps.prefix);
    await plans.save(group, plan, deps.tombstoneDays);
    const portal: PortalOutcome =
      deps.portal.mode === 'clear'
        ? await clearPlanned(plans, group, plan, targets, located.failed)
        : { mode: 'keep', targets: targets.map((t) => t.name), cleared: [], pending: true, unlocated: located.failed };
    await deps.emitter?.onDeleted(
      record.id,
      {
        stripeCustomerId: links.stripeCustomerId,
        salesforceAccountId: links.salesforceAccountId,
        zendeskOrganizationId: links.zendeskOrganizationId,
      },
      ref,
    );
    return {
      recordId: record.id,
      keysReleased: owned.length,
      tombstoneDays: deps.tombstoneDays,
      sweep,
      remaining: await eraser.remaining(needles.emails),
      toldSubscribers: deps.emitter !== undefined,
      portal,
    };
  } finally {
    await eraser.close();
  }
}

/** `identity forget` of a customer forgotten before (its record is gone), by one identity key it had. */
interface ForgetAgainResult {
  /** A second sweep for the key's email or Stripe id (null for a key the sweep cannot look for alone). */
  sweep: SweepResult | null;
  /** Keys that still hold the email: empty is the proof. */
  remaining: string[];
  /** With `--portal clear`: the plan cleared again, or `nothing-left` (cleared before, or its days are over). */
  portal: PortalOutcome | 'nothing-left' | null;
}

/**
 * Runs the parts of a forget that can be run again once the record is gone: a sweep for what the key
 * names (a write that was in flight at the first sweep, found by the proof), and with `--portal clear`
 * the clear of the plan kept beside the tombstone (after a `keep`, or a clear that failed).
 * `no-tombstone`: the key names no forgotten customer.
 */
async function forgetAgain(deps: ForgetDeps, key: string): Promise<ForgetAgainResult | 'no-tombstone'> {
  const tombstones = new Tombstones(deps.redis, deps.prefix);
  const group = await tombstones.groupOf(key);
  if (group === null) return 'no-tombstone';
  const needles = needlesOfKey(key);
  let sweep: SweepResult | null = null;
  let remaining: string[] = [];
  if (needles.all.length > 0) {
    const hashes = new Map<string, string>();
    for (const n of needles.all) hashes.set(n, `forgotten:${await tombstones.hashOf(n)}`);
    const hash = (n: string) => hashes.get(n.toLowerCase()) ?? 'forgotten';
    const eraser = new Eraser(deps.redis, deps.prefix, deps.store, deps.queueNames);
    try {
      sweep = await eraser.sweep(needles.all, hash);
      if ((await eraser.settle(needles.all)).waited) addSweep(sweep, await eraser.sweep(needles.all, hash));
      remaining = await eraser.remaining(needles.emails);
    } finally {
      await eraser.close();
    }
  }
  let portal: ForgetAgainResult['portal'] = null;
  if (deps.portal.mode === 'clear') {
    const plans = new PortalClearPlans(deps.redis, deps.prefix);
    const kept = await plans.load(group);
    if (kept === null) portal = 'nothing-left';
    else {
      // Run with the customer's email, forget looks again for what was filed under it (a lookup that failed before).
      const located = await locateOnPortals(deps.portal.targets, needles.emails);
      const plan = withLocated(kept, located);
      portal = await clearPlanned(plans, group, plan, deps.portal.targets, located.failed);
      // Whatever this run located stays findable by id if the clear did not finish.
      if (portal.pending && plan !== kept) await plans.save(group, plan, deps.tombstoneDays);
    }
  }
  return { sweep, remaining, portal };
}

/** What `identity forget REF` did: the customer forgotten now, or the parts run again of one forgotten before. */
export type ForgetOutcome = { forgot: ForgetResult; again?: never } | { again: ForgetAgainResult; forgot?: never };

/**
 * `identity forget REF`: the customer REF names (as `inspect` finds it), forgotten; when REF names no record
 * (and is not a record id), `keyOf` turns it into an identity key and, if a forgotten customer had it, the
 * parts that can run again are run (forgetAgain). Otherwise inspect's NotFoundError.
 */
export async function forgetByRef(
  deps: ForgetDeps,
  ref: string,
  who: { by: string; reason: string },
  keyOf: (ref: string) => string,
): Promise<ForgetOutcome> {
  let record: CustomerRecord;
  try {
    ({ record } = await inspectRecord(deps.store, ref));
  } catch (err) {
    if (!(err instanceof NotFoundError) || ref.trim().startsWith('cust_')) throw err;
    const again = await forgetAgain(deps, keyOf(ref));
    if (again === 'no-tombstone') throw err;
    return { again };
  }
  return { forgot: await forgetCustomer(deps, record, who) };
}

function addSweep(into: SweepResult, more: SweepResult): void {
  into.keysDeleted += more.keysDeleted;
  into.itemsRemoved += more.itemsRemoved;
  into.jobsRemoved += more.jobsRemoved;
  into.pseudonymized += more.pseudonymized;
}
