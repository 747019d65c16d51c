/**
 * The Zendesk portal target: billing fields on the customer's organization
 * (or, without one, on its user) and invoices as custom object records, all
 * through the node-zendesk client. It writes only to the ids in the push's
 * links, and only what differs from what Zendesk last accepted.
 *
 * Every failure leaves as one of the three contract errors, decided by
 * classifyZendeskError: 429 → RateLimitedError (Retry-After, else 60 s),
 * 5xx/network → RetryableError, other 4xx → PermanentError with Zendesk's
 * own message. node-zendesk RESOLVES a 429 that carries Retry-After, so every
 * SDK call goes through zendeskResult to be counted as the failure it is.
 */
import type { Config } from '../../config.js';
import { PermanentError, RateLimitedError, RetryableError } from '../../sync/errors.js';
import {
  CALL_RETRY,
  callKey,
  retryingCall,
  type CallRetry,
  type PortalPush,
  type PortalTarget,
  type PushResult,
} from '../../sync/push/portal-target.js';
import { normalizeEmail } from '../../sync/events/source-event.js';
import type { DeflectionEvent } from '../../sync/deflection/types.js';
import {
  classifyZendeskError,
  createZendeskClient,
  ZendeskApiError,
  zendeskRequest,
  zendeskResult,
  type ZendeskClient,
} from './client.js';
import {
  changedFields,
  ownerFields,
  changedInvoices,
  changedStatus,
  DEFLECTION_PROFILE_TYPE,
  NO_ZENDESK_OWNER,
  ownerOf,
  type FieldSet,
  type InvoiceRecord,
  type Owner,
} from './target-format.js';
import { upsertInvoices, type CallCounter, type JobPolling } from './target-invoices.js';
import { pushZendeskMany } from './target-bulk.js';
import { clearZendesk } from './target-clear.js';
import { locateDeflectionProfiles } from './target-profiles.js';
import { zendeskSetupProblems } from './setup.js';

export { NO_ZENDESK_OWNER };
/** Customers per bulk batch: a few update_many and job calls of 100, and one show_many poll for all their jobs. */
const ZENDESK_BULK_SIZE = 500;
const DEFAULT_RETRY_AFTER_MS = 60_000;
const DEFAULT_POLLING: JobPolling = { intervalMs: 1_000, maxPolls: 10 };

export interface ZendeskTargetOptions {
  /** Defaults to createZendeskClient(config.zendesk). */
  client?: ZendeskClient;
  /** How bulk invoice jobs are waited for (tests shorten the interval). */
  jobPolling?: Partial<JobPolling>;
  /** How a failed call of a push is retried in place (default CALL_RETRY). */
  callRetry?: CallRetry;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Zendesk's `details` of a RecordInvalid, `{field: [{description}]}`, as one line. */
function validationDetails(err: unknown): string | undefined {
  // A ZendeskApiError keeps the body; node-zendesk's own thrown errors keep it in `result`.
  const body = err instanceof ZendeskApiError ? err.body : isRecord(err) ? err['result'] : undefined;
  const details = isRecord(body) ? body['details'] : undefined;
  if (!isRecord(details)) return undefined;
  const lines = Object.entries(details).flatMap(([field, list]) =>
    (Array.isArray(list) ? list : [list]).map(
      (d) => `${field}: ${isRecord(d) && typeof d['description'] === 'string' ? d['description'] : JSON.stringify(d)}`,
    ),
  );
  return lines.length > 0 ? lines.join('; ') : undefined;
}

/** Any failure of a Zendesk call as the contract error the push worker acts on. */
function toPushError(err: unknown): RateLimitedError | RetryableError | PermanentError {
  if (err instanceof RateLimitedError || err instanceof RetryableError || err instanceof PermanentError) return err;
  const verdict = classifyZendeskError(err);
  if (verdict.status === 429) {
    return new RateLimitedError(verdict.message, Math.max(1_000, verdict.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS));
  }
  // A 503 may say when to come back (Zendesk sends Retry-After during maintenance): the retry waits that long.
  if (verdict.retryable)
    return new RetryableError(verdict.message, {
      cause: err,
      ...(verdict.retryAfterMs !== undefined && { retryAfterMs: verdict.retryAfterMs }),
    });
  const details = validationDetails(err);
  return new PermanentError(details ? `${verdict.message} (${details})` : verdict.message, verdict.status);
}

/** A Zendesk id from the links as the number node-zendesk takes; anything else is a data error. */
function zendeskId(kind: Owner['kind'], id: string): number {
  const n = Number(id);
  if (!/^[1-9]\d*$/.test(id) || !Number.isSafeInteger(n))
    throw new PermanentError(`not a Zendesk ${kind} id: ${id.slice(0, 40)}`);
  return n;
}

/**
 * Zendesk answers 200 to a write that names a custom field the account does not define, and drops that value
 * (its REST API ignores what is not in its data model). The portal would then never show it while every push
 * succeeded, so the push fails with this instead: permanent (trying again changes nothing until the field
 * exists), naming the fields and the fix. The push's other calls are still made (push() throws this last).
 */
export class UnprovisionedFieldsError extends PermanentError {
  override name = 'UnprovisionedFieldsError';
  constructor(
    readonly kind: Owner['kind'],
    readonly keys: readonly string[],
  ) {
    super(
      `Zendesk has no ${kind} field ${keys.join(', ')}: it answered the write and dropped ${keys.length === 1 ? 'that value' : 'those values'}. ` +
        'Run `portal-sync setup zendesk` (it creates what is missing), then `portal-sync dlq replay --all`',
    );
  }
}

/** The keys of `sent` that the written object Zendesk answered with does not hold: fields the account does not define. */
function droppedKeys(answer: unknown, kind: Owner['kind'], sent: FieldSet): string[] {
  // node-zendesk hands back the object itself; a raw body wraps it in its kind.
  const object = isRecord(answer) && isRecord(answer[kind]) ? answer[kind] : answer;
  const held = isRecord(object) ? object[kind === 'organization' ? 'organization_fields' : 'user_fields'] : undefined;
  // An answer without the fields (not Zendesk's shape) proves nothing either way: nothing is called dropped.
  if (!isRecord(held)) return [];
  return Object.keys(sent).filter((k) => !Object.hasOwn(held, k));
}

async function writeFields(client: ZendeskClient, owner: Owner, fields: FieldSet, calls: CallCounter): Promise<void> {
  const id = zendeskId(owner.kind, owner.id);
  calls.n++; // every try is a call
  const answer =
    owner.kind === 'organization'
      ? zendeskResult(await client.organizations.update(id, { organization: { organization_fields: fields } }))
      : zendeskResult(await client.users.update(id, { user: { user_fields: fields } }));
  const dropped = droppedKeys(answer, owner.kind, fields);
  if (dropped.length > 0) throw new UnprovisionedFieldsError(owner.kind, dropped);
}

export function createZendeskTarget(config: Config, options: ZendeskTargetOptions = {}): PortalTarget {
  const cfg = config.targets.zendesk;
  const client = options.client ?? createZendeskClient(config.zendesk);
  const polling: JobPolling = { ...DEFAULT_POLLING, ...options.jobPolling };
  const callRetry = options.callRetry ?? CALL_RETRY;
  /** One call of a push: a 5xx, reset or short 429 is tried again here; the calls before it stay done. */
  const attempt = <T>(call: () => Promise<T>): Promise<T> => retryingCall(call, toPushError, callRetry);
  return {
    name: 'zendesk',
    async push(p: PortalPush): Promise<PushResult> {
      const owner = ownerOf(p.links);
      if (owner === null) return { calls: 0, wrote: [], skipped: NO_ZENDESK_OWNER };
      const calls: CallCounter = { n: 0 };
      const wrote: string[] = [];
      const kept: string[] = [];
      // A call an earlier try of this push made, with the same content, is not made again (PortalPush.done).
      const once = async (key: string, label: string, call: () => Promise<unknown>): Promise<void> => {
        if (p.done?.has(key)) {
          kept.push(label);
          return p.onDone?.(key);
        }
        await call();
        p.onDone?.(key);
        wrote.push(label);
      };
      try {
        zendeskId(owner.kind, owner.id); // a malformed id must reach neither a path nor a lookup field
        const all = ownerFields(p.projection, cfg, owner.kind);
        const fields = changedFields(all, p.previous && ownerFields(p.previous, cfg, owner.kind));
        // Keyed by what the fields hold once written (all of them), not by the difference sent: a try that writes
        // everything (after a writer stopped before its accept) then keeps a fields call an earlier try made.
        // Fields Zendesk dropped fail the push, but only after its other calls: invoices need no field of the owner.
        let unprovisioned: UnprovisionedFieldsError | null = null;
        if (Object.keys(fields).length > 0)
          await once(callKey(`fields:${owner.kind}:${owner.id}`, all), `${owner.kind}_fields`, () =>
            attempt(() => writeFields(client, owner, fields, calls)),
          ).catch((err: unknown) => {
            if (!(err instanceof UnprovisionedFieldsError)) throw err;
            unprovisioned = err;
          });
        const invoiceKey = (r: InvoiceRecord) => callKey(`invoice:${r.external_id}`, r);
        const records: InvoiceRecord[] = [];
        const keptKeys: string[] = [];
        for (const r of changedInvoices(p.projection, p.previous, owner, cfg)) {
          if (p.done?.has(invoiceKey(r)) !== true) records.push(r);
          else {
            kept.push(`invoice:${r.external_id}`);
            keptKeys.push(invoiceKey(r));
          }
        }
        if (keptKeys.length > 0) p.onDone?.(...keptKeys);
        if (records.length > 0)
          wrote.push(
            ...(await upsertInvoices(client, cfg.invoiceObject.key, records, polling, calls, attempt, (written) =>
              p.onDone?.(...written.map(invoiceKey)),
            )),
          );
        const status = changedStatus(p.projection, p.previous, owner, cfg);
        if (status !== null)
          await once(callKey(`status:${status.external_id}`, status), `status:${status.external_id}`, () =>
            attempt(() => {
              calls.n++;
              return zendeskRequest(
                client,
                'PATCH',
                ['custom_objects', cfg.statusObject.key, 'records', { external_id: status.external_id }],
                { custom_object_record: status },
              );
            }),
          );
        if (unprovisioned) throw unprovisioned;
      } catch (err) {
        throw toPushError(err);
      }
      return { calls: calls.n, wrote, ...(kept.length > 0 && { kept }) };
    },
    placeOf: (links) => ownerOf(links),
    setupCheck: {
      run: async () => ({
        problems: await zendeskSetupProblems(client, cfg, config.mapping),
        consequence: 'what pushes write there is lost',
        fix: '`portal-sync setup zendesk` creates what is missing',
      }),
    },
    bulkSize: ZENDESK_BULK_SIZE,
    // The client passes every HTTP call through the gate it was built with: ctx.gate is not needed.
    pushMany: (pushes) => pushZendeskMany(pushes, { client, cfg, polling, toPushError }),
    clear: (c) => clearZendesk(client, cfg, c, config.mapping),
    locate: (emails) => locateDeflectionProfiles(client, cfg, emails),
    async recordDeflection(session: DeflectionEvent, links: PortalPush['links']): Promise<PushResult> {
      const email = deflectionEmail(session, links);
      if (email === null) return { calls: 0, wrote: [], skipped: NO_DEFLECTION_EMAIL };
      await attempt(() => recordZendeskDeflection(client, config, profileEventOf(session, email)));
      return { calls: 1, wrote: [`deflection:${session.id}`] };
    },
  };
}

const NO_DEFLECTION_EMAIL = 'no email for this contact: Zendesk profiles are matched by email';

/** The contact's email: the session's own contact, or the linked contact with its platform id. */
function deflectionEmail(session: DeflectionEvent, links: PortalPush['links']): string | null {
  const own = normalizeEmail(session.contact);
  if (own !== undefined) return own;
  const [platform, , id] = session.contact.split(':');
  const contact = links.contacts.find((c) =>
    platform === 'zendesk' ? c.zendeskUserId === id : c.salesforceContactId === id,
  );
  return normalizeEmail(contact?.email) ?? null;
}

/** A decided session as a profile event: `self_service_deflected` or `self_service_escalated`. */
function profileEventOf(session: DeflectionEvent, email: string): ZendeskProfileEvent {
  const last = session.lastActivity;
  const what =
    session.outcome === 'deflected'
      ? 'Solved in the portal without a ticket'
      : `Opened ticket ${session.ticketId ?? '(unknown)'} after using the portal`;
  return {
    email,
    type: `self_service_${session.outcome}`,
    description: `${what} (${session.category})`,
    properties: {
      deflection_id: session.id,
      session_id: session.sessionId,
      outcome: session.outcome,
      category: session.category,
      session_started_at: session.sessionStartedAt,
      ticket_id: session.ticketId ?? null,
      last_activity: last?.type ?? null,
      last_query: last?.query ?? null,
    },
    occurredAt: session.decidedAt,
  };
}

/** A self-service moment as Zendesk's profile events API takes it. */
export interface ZendeskProfileEvent {
  /** The customer who was helped; matches (or creates) their Zendesk profile. */
  email: string;
  /** e.g. `invoice_downloaded`, `article_viewed`. */
  type: string;
  description: string;
  properties: Record<string, unknown>;
  /** ISO 8601. */
  occurredAt: string;
}

/**
 * Records a self-service moment on the customer's Zendesk profile
 * (`POST /user_profiles/events`, answered 202 `{status: "received"}`).
 * Fails with the same contract errors as a push.
 */
export async function recordZendeskDeflection(
  client: ZendeskClient,
  config: Config,
  event: ZendeskProfileEvent,
): Promise<{ status: string }> {
  const email = normalizeEmail(event.email);
  if (email === undefined) throw new PermanentError("a deflection event needs the customer's email");
  const source = config.targets.zendesk.profileEventSource;
  const body = {
    profile: { source, type: DEFLECTION_PROFILE_TYPE, identifiers: [{ type: 'email', value: email }] },
    event: {
      source,
      type: event.type,
      description: event.description,
      properties: event.properties,
      created_at: event.occurredAt,
    },
  };
  try {
    const result = await zendeskRequest(client, 'POST', ['user_profiles', 'events'], body);
    return { status: isRecord(result) && typeof result['status'] === 'string' ? result['status'] : 'received' };
  } catch (err) {
    throw toPushError(err);
  }
}
