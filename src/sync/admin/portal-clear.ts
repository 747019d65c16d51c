/**
 * `identity forget --portal clear|keep`: what portal-sync pushed for a
 * forgotten customer, and taking it back on every configured portal target.
 *
 * The plan (where the customer lived on each platform, and the external ids
 * of the invoice and ticket records portal-sync upserted) is drawn from the
 * record and from what each target last accepted, before the erasure sweep
 * removes both, and from what the targets filed under the customer's emails
 * (Zendesk: the deflection events' profiles, looked up by email and kept by
 * profile and user id). It holds no name or email, only platform ids, and is kept
 * beside the tombstone (same group, same lifetime) until a clear has
 * succeeded on every target: so `--portal keep` can be followed by
 * `--portal clear` later, and a clear that failed can be run again.
 * The default is `keep` (see DEFAULT_PORTAL_MODE).
 */
import type { Redis } from 'ioredis';
import type { PortalTargetName } from '../target-names.js';
import type { ClearResult, PortalClear, PortalPlace, PortalTarget, ZendeskProfileRef } from '../push/portal-target.js';
import { acceptedKey, linksFor } from '../push/worker.js';
import type { CustomerRecord, Derived } from '../events/record.js';
import { REDIS_KEYS } from '../redis/keys.js';

export const PORTAL_MODES = ['clear', 'keep'] as const;
export type PortalMode = (typeof PORTAL_MODES)[number];
/**
 * Keep by default: clearing deletes records in the helpdesk and the CRM, which nothing can undo and which
 * the organization's or Account's owners may still rely on (an invoice history the support team reads); an
 * erasure of that kind is asked for by name. `keep` also leaves the plan, so `--portal clear` can follow.
 */
export const DEFAULT_PORTAL_MODE: PortalMode = 'keep';

const DAY_MS = 86_400_000;

/** One target's part of a clear. `error`: nothing could be tried (no connection, the API budget spent). */
export interface TargetClearOutcome extends ClearResult {
  target: PortalTargetName;
  error?: string;
}

export interface PortalOutcome {
  mode: PortalMode;
  /** The configured targets (empty: nothing was pushed anywhere). */
  targets: PortalTargetName[];
  /** Per target, when mode is clear. */
  cleared: TargetClearOutcome[];
  /** Whether the plan is still kept (keep, or a clear that did not finish): `--portal clear` can (re)run. */
  pending: boolean;
  /**
   * Lookups by the customer's emails that failed (`<target>: <reason>`, no email named): what they would
   * have found is not in the plan. Run forget again with the customer's email to look again.
   */
  unlocated: string[];
}

/** What the targets filed under the customer's emails, found while the emails are known (PortalTarget.locate). */
export interface Located {
  zendeskProfiles: ZendeskProfileRef[];
  failed: string[];
}

/** Asks every target that files things by email where they are; a target that fails is reported, the others go on. */
export async function locateOnPortals(targets: readonly PortalTarget[], emails: readonly string[]): Promise<Located> {
  const out: Located = { zendeskProfiles: [], failed: [] };
  if (emails.length === 0) return out;
  for (const target of targets) {
    if (!target.locate) continue;
    try {
      const r = await target.locate(emails);
      out.zendeskProfiles.push(...r.zendeskProfiles);
      out.failed.push(...r.failed.map((f) => `${target.name}: ${f}`));
    } catch (err) {
      out.failed.push(`${target.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

/** The plan with what was located added (each profile once). */
export function withLocated(plan: PortalClear, located: Located): PortalClear {
  if (located.zendeskProfiles.length === 0) return plan;
  const byId = new Map([...(plan.zendeskProfiles ?? []), ...located.zendeskProfiles].map((p) => [p.id, p]));
  return { ...plan, zendeskProfiles: [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)) };
}

/** A place without the contacts' names and emails. */
function placeOf(
  links: Pick<Derived['links'], 'zendeskOrganizationId' | 'salesforceAccountId' | 'contacts'>,
): PortalPlace {
  return {
    zendeskOrganizationId: links.zendeskOrganizationId ?? null,
    salesforceAccountId: links.salesforceAccountId ?? null,
    contacts: links.contacts.map((c) => ({
      zendeskUserId: c.zendeskUserId ?? null,
      salesforceContactId: c.salesforceContactId ?? null,
    })),
  };
}

interface AcceptedState {
  links?: Derived['links'];
  projection?: { invoices?: Array<{ id: string }>; support?: { tickets?: Array<{ id: string }> } | null };
}

/** Reads what each target last accepted for the customer: to be called before the erasure sweep deletes it. */
export async function readAccepted(
  redis: Redis,
  prefix: string,
  targets: readonly string[],
  recordId: string,
): Promise<AcceptedState[]> {
  const out: AcceptedState[] = [];
  for (const t of targets) {
    const raw = await redis.get(acceptedKey(prefix, t, recordId));
    if (raw !== null) out.push(JSON.parse(raw) as AcceptedState);
  }
  return out;
}

/** Where the customer lives now and lived when each target last accepted it; every invoice and ticket id it had. */
export function portalClearOf(
  record: CustomerRecord,
  ownedKeys: readonly string[],
  accepted: readonly AcceptedState[],
): PortalClear {
  const places = [
    placeOf(linksFor(record, ownedKeys)),
    ...accepted.flatMap((a) => (a.links ? [placeOf(a.links)] : [])),
  ];
  const unique = [...new Map(places.map((p) => [JSON.stringify(p), p])).values()];
  const invoiceIds = new Set([...Object.keys(record.stripe.invoices), ...record.derived.invoices.map((i) => i.id)]);
  const ticketIds = new Set([
    ...Object.keys(record.zendesk.tickets),
    ...(record.derived.support?.tickets ?? []).map((t) => t.id),
  ]);
  for (const a of accepted) {
    for (const i of a.projection?.invoices ?? []) invoiceIds.add(i.id);
    for (const t of a.projection?.support?.tickets ?? []) ticketIds.add(t.id);
  }
  return { places: unique, invoiceIds: [...invoiceIds].sort(), ticketIds: [...ticketIds].sort() };
}

/** Plans kept beside a forget's tombstones, by the tombstones' group id. */
export class PortalClearPlans {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  key(group: string): string {
    return REDIS_KEYS.forgotten(this.prefix).portal(group);
  }

  async save(group: string, plan: PortalClear, days: number): Promise<void> {
    await this.redis.set(
      this.key(group),
      JSON.stringify({ v: 1, ...plan }),
      'PX',
      Math.max(1, Math.round(days * DAY_MS)),
    );
  }

  async load(group: string): Promise<PortalClear | null> {
    const raw = await this.redis.get(this.key(group));
    if (raw === null) return null;
    const { v: _v, ...plan } = JSON.parse(raw) as PortalClear & { v: 1 };
    return plan;
  }

  async drop(group: string): Promise<void> {
    await this.redis.del(this.key(group));
  }
}

/** Runs the clear on every target, one after the other; a target that fails does not stop the next. */
async function clearPortals(targets: readonly PortalTarget[], plan: PortalClear): Promise<TargetClearOutcome[]> {
  const out: TargetClearOutcome[] = [];
  for (const target of targets) {
    if (!target.clear) {
      out.push({
        target: target.name,
        calls: 0,
        cleared: [],
        absent: [],
        failed: [],
        error: `the ${target.name} target cannot clear what it pushed`,
      });
      continue;
    }
    try {
      out.push({ target: target.name, ...(await target.clear(plan)) });
    } catch (err) {
      out.push({
        target: target.name,
        calls: 0,
        cleared: [],
        absent: [],
        failed: [],
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return out;
}

const clearFailed = (o: TargetClearOutcome): boolean => o.error !== undefined || o.failed.length > 0;

/** The clear of a kept plan: on success on every target the plan is dropped. */
export async function clearPlanned(
  plans: PortalClearPlans,
  group: string,
  plan: PortalClear,
  targets: readonly PortalTarget[],
  unlocated: string[] = [],
): Promise<PortalOutcome> {
  const cleared = await clearPortals(targets, plan);
  const failed = cleared.some(clearFailed);
  if (!failed) await plans.drop(group);
  return { mode: 'clear', targets: targets.map((t) => t.name), cleared, pending: failed, unlocated };
}
