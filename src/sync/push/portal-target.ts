/**
 * The contract between the core and a portal platform (Zendesk Help Center,
 * Salesforce Experience Cloud). The core decides WHAT to push and WHEN; a
 * target only knows HOW to write it with its platform's SDK, and says, with
 * one of the three error classes of errors.ts, whether a failure is worth retrying.
 *
 * This module imports no SDK.
 */
import { PermanentError, RateLimitedError, RetryableError } from '../errors.js';
import type { PortalTargetName } from '../target-names.js';
import type { PortalProjection } from '../events/project.js';
import { sha256Hex, stableStringify, type Derived } from '../events/record.js';
import type { DeflectionEvent } from '../deflection/types.js';

export interface PortalPush {
  customerId: string;
  /** Where the customer lives on each platform: a target writes only there. */
  links: Derived['links'];
  profile: Derived['profile'];
  projection: PortalProjection;
  /** What this target last accepted for this customer (null: never pushed), to write only the difference. */
  previous: PortalProjection | null;
  /**
   * The calls an earlier try of this push already made (callKey: where, and a hash of what was sent), with no
   * other writer of the customer since (push/progress.ts): a target makes no call whose key is here, reports what
   * it would have written in `kept`, and tells onDone. Absent: make every call.
   */
  done?: ReadonlySet<string>;
  /**
   * Told the keys of calls as soon as they have succeeded, and of the calls kept from `done`, so that the push's
   * next try need not make them again (a kept call not told here is made again by the try after this one).
   */
  onDone?(...keys: string[]): void;
}

/**
 * The key of one call of a push: `place` says where it writes (`fields:organization:123`, `invoice:in_1`,
 * `account:001…`), the hash exactly what it sends there, so that a changed projection never matches a call
 * made for an older one. The place is everything before the last `:`.
 */
export function callKey(place: string, sent: unknown): string {
  return `${place}:${sha256Hex(stableStringify(sent)).slice(0, 20)}`;
}

export interface PushResult {
  /** API calls made (0 when there was nothing to write). */
  calls: number;
  /** What was written, e.g. `organization_fields`, `invoice:in_123`, `ticket:5301`. */
  wrote: string[];
  /** What an earlier try of this push had written already (PortalPush.done): not written again, no call made. */
  kept?: string[];
  /** Why nothing was written, e.g. the customer has no account on this platform yet. */
  skipped?: string;
}

export interface PortalTarget {
  readonly name: PortalTargetName;
  push(p: PortalPush): Promise<PushResult>;
  /**
   * Many customers at once in the platform's bulk shapes (resync pushes): Zendesk update_many and
   * custom object jobs, Salesforce sObject Collections. A record the platform refuses inside a bulk
   * answer comes back as that customer's error, the others are written; a failure of a whole call
   * throws one of the contract errors, and then nothing of the batch counts as accepted.
   */
  pushMany?(pushes: readonly PortalPush[], ctx: BulkContext): Promise<BulkPushResult>;
  /**
   * Where in the platform a push of these links writes (Zendesk: the organization, or the user without
   * one; Salesforce: the Account). The push worker writes everything again only when this moves; a new
   * contact or id that writes nowhere else keeps the difference. Without it, any change of the links counts.
   */
  placeOf?(links: Derived['links']): unknown;
  /** Customers per pushMany batch. */
  readonly bulkSize?: number;
  /**
   * Records a decided self-service session on the platform (Zendesk: an event on the contact's
   * profile; Salesforce: a deflection record on the Account). `links` are the customer's current
   * ones. A target without it records none; one that cannot place the event says so in `skipped`.
   */
  recordDeflection?(event: DeflectionEvent, links: Derived['links']): Promise<PushResult>;
  /**
   * Takes back what this target wrote for one customer (`identity forget --portal clear`): the
   * billing fields it set are cleared, the records it created are deleted; the organization,
   * Account or user itself and anything portal-sync did not write are left alone. Idempotent: what
   * is already gone counts as `absent`. A failure of one item is reported in `failed` and the rest
   * go on; a failure before anything could be tried (no connection) throws a contract error.
   */
  clear?(c: PortalClear): Promise<ClearResult>;
  /**
   * Finds, while the forgotten customer's emails are still known (before the erasure sweep), where
   * this target filed things under an email rather than a platform id (Zendesk: the deflection
   * events' profiles), as platform ids the plan can keep: `clear` takes them back later, by id.
   */
  locate?(emails: readonly string[]): Promise<LocateResult>;
  /**
   * Whether the platform has what this target writes to (fields, objects), checked by the worker role
   * (push/setup-check.ts) so that an operator learns of a gap before the pushes do: Zendesk answers a write
   * to a field it lacks with 200 and drops the value. Reads only; throws when it cannot tell.
   */
  readonly setupCheck?: SetupCheckSpec;
}

export interface SetupCheckSpec {
  /** What the platform lacks, one line each (none: all there), with what that does and what fixes it. */
  run(): Promise<SetupFindings>;
  /** Checked when the worker starts, then every push.setupCheckEveryMs only while it could not run (a check that costs API allowance). */
  atStartOnly?: boolean;
}

export interface SetupFindings {
  problems: string[];
  /** What a gap does to pushes, as status says it ("what pushes write there is lost"). */
  consequence: string;
  /** What closes it ("`portal-sync setup zendesk` creates what is missing"). */
  fix: string;
}

export interface LocateResult {
  /** Zendesk profiles of portal-sync's own source and type, with the Zendesk user each belongs to. */
  zendeskProfiles: ZendeskProfileRef[];
  /** Emails whose lookup failed (counted, never named), each failure's reason once. */
  failed: string[];
}

export interface ZendeskProfileRef {
  id: string;
  userId: string | null;
}

/** Where a forgotten customer's pushed data lives, without a name or an email: what `clear` takes back. */
export interface PortalClear {
  /** The customer's links as they are now and as each target last accepted them (they may have moved). */
  places: PortalPlace[];
  /** Stripe invoice ids: the external ids of the invoice records portal-sync upserted. */
  invoiceIds: string[];
  /** Zendesk ticket ids: the external ids of the ticket records portal-sync upserted. */
  ticketIds: string[];
  /**
   * The Zendesk profiles portal-sync's deflection events were filed under (found by the contacts' emails
   * at forget time, see PortalTarget.locate). Absent in plans kept before it existed: the profiles of the
   * places' Zendesk users are still found.
   */
  zendeskProfiles?: ZendeskProfileRef[];
}

export interface PortalPlace {
  zendeskOrganizationId: string | null;
  salesforceAccountId: string | null;
  contacts: Array<{ zendeskUserId: string | null; salesforceContactId: string | null }>;
}

export interface ClearResult {
  calls: number;
  /** Cleared or deleted: `organization_fields:123`, `invoice:in_1`, `Account:001…`. */
  cleared: string[];
  /** Already gone (404, deleted before): nothing left to take back. */
  absent: string[];
  /** Could not be cleared, each with the platform's reason: re-run to try again. */
  failed: string[];
}

export interface BulkContext {
  /**
   * The target's call gate, for targets whose SDK client does not already pass every call through
   * it: the Zendesk client is built with the gate (every HTTP call), jsforce has no per-request hook,
   * so the Salesforce target calls this before each collection call.
   */
  gate: CallGate;
}

/**
 * Takes one slot of a target's API rate before a call. It throws a RateLimitedError (with the
 * wait) when the rate is spent; else it returns the function to call once the call has been
 * answered or has failed (void: nothing to release).
 */
export type CallGate = () => Promise<ReleaseCall | void>;
type ReleaseCall = () => void;

/** `call` through `gate`: its slot is released once the call has ended, however it ended. */
export async function throughGate<T>(gate: CallGate | undefined, call: () => Promise<T>): Promise<T> {
  const release = await gate?.();
  try {
    return await call();
  } finally {
    release?.();
  }
}

/** One customer's part of a bulk answer, in the order of the pushes given. */
export type BulkItem = { ok: true; result: PushResult } | { ok: false; error: RetryableError | PermanentError };

export interface BulkPushResult {
  items: BulkItem[];
  /** API calls made for the whole batch, job polls and failed calls included. */
  calls: number;
}

/** How long a bulk call waits out a rate limit in place (the batch keeps what it has written) before the queue pauses instead. */
const BULK_PATIENCE_MS = 5_000;

/**
 * Runs one call of a bulk batch; a RateLimitedError asking for at most `patienceMs` is waited out
 * and the call made again (a refused call wrote nothing), so that a half-written batch is not thrown
 * away for a short wait. A longer wait leaves as the RateLimitedError it is.
 */
export async function waitingOutShortLimits<T>(call: () => Promise<T>, patienceMs = BULK_PATIENCE_MS): Promise<T> {
  let waited = 0;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof RateLimitedError) || waited + err.retryAfterMs > patienceMs) throw err;
      await new Promise((r) => setTimeout(r, err.retryAfterMs));
      waited += err.retryAfterMs;
    }
  }
}

/**
 * How one platform call is retried in place, inside the push, before the push fails as a whole (and
 * its job backs off): a few times, with short jittered delays, or after the platform's Retry-After
 * when that is short. What the push wrote before the failed call stays written; the retried call
 * writes the same thing again (every write is an upsert), and the calls after it follow. The push's
 * next try makes only the calls still missing (PortalPush.done).
 */
export interface CallRetry {
  /** Retries of one call after its first try (0: none). */
  retries: number;
  /** The first retry waits between half and all of this; each next one twice as long. */
  baseMs: number;
  /** A platform asking for a longer wait than this (Retry-After) is not waited for here: the push fails or pauses. */
  maxWaitMs: number;
  random?: () => number;
}

export const CALL_RETRY: CallRetry = { retries: 3, baseMs: 200, maxWaitMs: 5_000 };

/** The wait before retry number `attempt` (0-based) of a failed call, or null: do not retry it here. */
function callRetryDelayMs(err: Error, attempt: number, retry: CallRetry = CALL_RETRY): number | null {
  if (attempt >= retry.retries) return null;
  let wait: number;
  if (err instanceof RateLimitedError) {
    if (err.local) return null; // our own limit: the gate waits briefly itself, then the worker (pauseForRateLimit)
    wait = err.retryAfterMs;
  } else if (err instanceof RetryableError) {
    const backoff = retry.baseMs * 2 ** attempt;
    wait = err.retryAfterMs ?? Math.max(1, Math.round(backoff * (0.5 + (retry.random ?? Math.random)() * 0.5)));
  } else {
    return null;
  }
  return wait <= retry.maxWaitMs ? wait : null;
}

/**
 * Makes one platform call, retrying it in place on a 5xx, a reset or a timeout, and on a platform
 * 429 after its Retry-After (see CallRetry). `toError` is the connector's one classification of
 * failures; what finally leaves is always one of the contract errors.
 */
export async function retryingCall<T>(
  call: () => Promise<T>,
  toError: (err: unknown) => Error,
  retry: CallRetry = CALL_RETRY,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (raw) {
      const err = toError(raw);
      const wait = callRetryDelayMs(err, attempt, retry);
      if (wait === null) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
