/**
 * The Salesforce Experience Cloud portal target: writes what the portal
 * shows onto the customer's Account (fields) and into custom objects
 * (invoices, tickets, deflection events), upserted by external id so that a
 * replayed push is harmless.
 *
 * Every write goes through jsforce on one connection, created on the first
 * push and reused, and carries `Sforce-Call-Options: client=<clientId>`:
 * Salesforce echoes it in the CDC header's changeOrigin, which is how our
 * own writes are told apart when they come back (cdc.ts).
 *
 * Lists are sent as sObject Collections (PATCH composite/sobjects/{SObject}/
 * {ExtIdField}, allOrNone false): jsforce cuts them into calls of 200
 * records when allowRecursive is set. A record Salesforce refuses does not
 * stop the others; the push fails after them, naming it.
 */
import { salesforceSchema, salesforceSetupProblems, verifySalesforceSchema } from './setup.js';
import type { Connection } from 'jsforce';
import type { Config } from '../../config.js';
import { PermanentError, RateLimitedError, RetryableError } from '../../sync/errors.js';
import { CALL_RETRY, callKey, retryingCall, type CallRetry } from '../../sync/push/portal-target.js';
import type { PortalPush, PortalTarget, PushResult } from '../../sync/push/portal-target.js';
import type { DeflectionEvent } from '../../sync/deflection/types.js';
import { ApiBudget } from './api-budget.js';
import { callNotingRetryAfter, classifySalesforceError, createSalesforceConnection } from './client.js';
import { DEFLECTION_FIELDS, planSalesforceWrites, toSalesforceDateTime } from './target-records.js';
import { pushSalesforceMany } from './target-bulk.js';
import { clearSalesforce } from './target-clear.js';
import type { LabelledRecord, SObjectFields } from './target-records.js';

/** Salesforce sends no Retry-After with REQUEST_LIMIT_EXCEEDED, so the queue pauses this long (and a 429 without one). */
const REQUEST_LIMIT_WAIT_MS = 60_000;
/** sObject Collections take at most this many records per call (jsforce's MAX_DML_COUNT). */
const COLLECTION_SIZE = 200;
/** Account ids start with 001; checked before one goes into a URL path. */
const ACCOUNT_ID = /^001[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$/;
const NO_ACCOUNT = 'no Salesforce Account for this customer yet';
/** Customers per bulk batch: one collection call of each kind (Accounts, invoices, tickets) when each has a record or so. */
const SALESFORCE_BULK_SIZE = 200;

export { DEFLECTION_FIELDS };

export interface SalesforceDeflectionEvent {
  /** The portal event id: the external id, so a replayed event updates the same record. */
  id: string;
  accountId: string;
  type: string;
  category: string | null;
  occurredAt: string;
}

interface Failure {
  label: string;
  code: string;
  message: string;
}

interface Outcome {
  calls: number;
  wrote: string[];
  failures: Failure[];
}

/** The one mapping from a failed call to the push worker's error classes. */
function toTargetError(err: unknown): Error {
  if (err instanceof RateLimitedError || err instanceof RetryableError || err instanceof PermanentError) return err;
  const verdict = classifySalesforceError(err);
  const code = (err as { errorCode?: unknown } | null)?.errorCode;
  // A 429 says when to come back (Retry-After): that long, whatever its body's code, not the minute of the daily limit.
  if (verdict.status === 429)
    return new RateLimitedError(
      verdict.message,
      verdict.retryAfterMs !== undefined ? Math.max(1_000, verdict.retryAfterMs) : REQUEST_LIMIT_WAIT_MS,
    );
  if (code === 'REQUEST_LIMIT_EXCEEDED') return new RateLimitedError(verdict.message, REQUEST_LIMIT_WAIT_MS);
  if (verdict.retryable)
    return new RetryableError(verdict.message, {
      cause: err,
      ...(verdict.retryAfterMs !== undefined && { retryAfterMs: verdict.retryAfterMs }),
    });
  return new PermanentError(verdict.message, verdict.status);
}

/** Refused records, judged by the same rules as whole calls: one that no retry can fix makes the push permanent. */
function failuresError(failures: Failure[], wrote: string[]): Error {
  const verdicts = failures.map((f) => toTargetError(Object.assign(new Error(f.message), { errorCode: f.code })));
  const shown = failures.slice(0, 5).map((f) => `${f.label} (${f.code}: ${f.message})`);
  if (failures.length > shown.length) shown.push(`and ${failures.length - shown.length} more`);
  const message = `Salesforce refused ${failures.length} record(s): ${shown.join('; ')}; wrote ${wrote.length > 0 ? wrote.join(', ') : 'nothing'}`;
  if (verdicts.some((v) => v instanceof PermanentError)) return new PermanentError(message);
  if (verdicts.some((v) => v instanceof RateLimitedError)) return new RateLimitedError(message, REQUEST_LIMIT_WAIT_MS);
  return new RetryableError(message);
}

type SaveErrorWire = { statusCode?: string; errorCode?: string; message?: string; fields?: string[] };

/** Collections answer per record, in request order; a failed record has no id, so it is named by position. */
async function upsertRecords(
  conn: Connection,
  object: string,
  extId: string,
  items: LabelledRecord[],
  headers: Record<string, string>,
): Promise<Outcome> {
  const outcome: Outcome = { calls: 0, wrote: [], failures: [] };
  if (items.length === 0) return outcome;
  const results = await conn.sobject(object).upsert(
    items.map((i) => i.record),
    extId,
    { allOrNone: false, allowRecursive: true, headers },
  );
  outcome.calls = Math.ceil(items.length / COLLECTION_SIZE);
  items.forEach((item, n) => {
    const result = results[n];
    if (result?.success) {
      outcome.wrote.push(item.label);
      return;
    }
    const error = (result?.errors[0] ?? {}) as SaveErrorWire;
    const fields = error.fields?.length ? ` [${error.fields.join(', ')}]` : '';
    outcome.failures.push({
      label: item.label,
      code: error.statusCode ?? error.errorCode ?? 'UNKNOWN',
      message: `${error.message ?? 'no result for this record'}${fields}`,
    });
  });
  return outcome;
}

const callOptions = (config: Config): Record<string, string> => ({
  'Sforce-Call-Options': `client=${config.salesforce.clientId}`,
});

/** One call of a push, noting its Retry-After: a 5xx, reset or short 429 is tried again here; the calls before it stay done. */
const attemptWith =
  (retry: CallRetry) =>
  <T>(call: () => Promise<T>): Promise<T> =>
    retryingCall(() => callNotingRetryAfter(call), toTargetError, retry);

/**
 * The Account update, then the invoice and ticket collections. A call (the Account's) or a record an earlier try
 * of this push wrote with the same content is not sent again (PortalPush.done): it is reported in `kept`.
 */
async function pushWith(
  conn: Connection,
  config: Config,
  accountId: string,
  writes: ReturnType<typeof planSalesforceWrites>,
  p: Pick<PortalPush, 'done' | 'onDone'>,
  retry: CallRetry,
): Promise<PushResult> {
  const headers = callOptions(config);
  const c = config.targets.salesforce;
  const attempt = attemptWith(retry);
  const done: Outcome = { calls: 0, wrote: [], failures: [] };
  const kept: string[] = [];
  if (writes.account) {
    // A single record: PATCH sobjects/Account/{Id}; an error is thrown, not returned.
    const account = writes.account;
    // Keyed by what the Account's fields hold once written (all of them), not by the difference sent: a try that
    // writes everything (after a writer stopped before its accept) then keeps an Account call an earlier try made.
    const key = callKey(`account:${accountId}`, writes.accountAll);
    if (p.done?.has(key)) {
      kept.push('account_fields');
      p.onDone?.(key);
    } else {
      await attempt(() => {
        done.calls += 1;
        return conn.sobject('Account').update({ Id: accountId, ...account }, { headers });
      });
      p.onDone?.(key);
      done.wrote.push('account_fields');
    }
  }
  for (const [object, extId, all] of [
    [c.invoice.object, c.invoice.externalId, writes.invoices],
    [c.ticket.object, c.ticket.externalId, writes.tickets],
  ] as const) {
    const keyOf = (i: LabelledRecord) => callKey(`${object}:${String(i.record[extId])}`, i.record);
    const items: LabelledRecord[] = [];
    const keptKeys: string[] = [];
    for (const i of all) {
      if (!p.done?.has(keyOf(i))) items.push(i);
      else {
        kept.push(i.label);
        keptKeys.push(keyOf(i));
      }
    }
    if (keptKeys.length > 0) p.onDone?.(...keptKeys);
    const o = await attempt(() => upsertRecords(conn, object, extId, items, headers));
    // Per record: those Salesforce refused are still missing, the others need not be sent by a next try.
    const written = new Set(o.wrote);
    const writtenKeys = items.filter((i) => written.has(i.label)).map(keyOf);
    if (writtenKeys.length > 0) p.onDone?.(...writtenKeys);
    done.calls += o.calls;
    done.wrote.push(...o.wrote);
    done.failures.push(...o.failures);
  }
  if (done.failures.length > 0) throw failuresError(done.failures, done.wrote);
  return { calls: done.calls, wrote: done.wrote, ...(kept.length > 0 && { kept }) };
}

export function createSalesforceTarget(
  config: Config,
  opts: { now?: () => number; onApiUsage?: (used: number, limit: number) => void; callRetry?: CallRetry } = {},
): PortalTarget {
  const callRetry = opts.callRetry ?? CALL_RETRY;
  const budget = new ApiBudget(config.targets.salesforce.apiBudget, opts.now);
  /** Writes through the connection unless the org's API budget is spent; reads the usage its answers report. */
  const withBudget = async <T>(write: (conn: Connection) => Promise<T>): Promise<T> => {
    let conn: Connection;
    try {
      conn = await connect();
    } catch (err) {
      throw toTargetError(err);
    }
    budget.check();
    try {
      return await write(conn);
    } finally {
      budget.observe(conn);
      const usage = budget.last;
      if (usage) opts.onApiUsage?.(usage.used, usage.limit);
    }
  };
  let connection: Promise<Connection> | undefined;
  const connect = (): Promise<Connection> => {
    connection ??= createSalesforceConnection(config.salesforceAuth, config.salesforce.apiVersion).catch(
      (err: unknown) => {
        connection = undefined; // the next push tries again
        throw err;
      },
    );
    return connection;
  };
  return {
    name: 'salesforce',
    // Salesforce refuses a write to a field it lacks (the push dead-letters with its error); checked once a start
    // (again only while the check cannot run), since each describe counts against the org's daily API allowance.
    setupCheck: {
      atStartOnly: true,
      run: async () => ({
        problems: salesforceSetupProblems(
          await verifySalesforceSchema(await connect(), salesforceSchema(config.targets.salesforce, config.mapping)),
        ),
        consequence: 'pushes writing there fail',
        fix: 'deploy the metadata package (`portal-sync setup salesforce` shows how)',
      }),
    },
    async push(p: PortalPush): Promise<PushResult> {
      // Only ever the Account the record links to: never one found some other way.
      const accountId = p.links.salesforceAccountId;
      if (!accountId) return { calls: 0, wrote: [], skipped: NO_ACCOUNT };
      if (!ACCOUNT_ID.test(accountId))
        throw new PermanentError(`the linked Salesforce Account id is not an Account id: ${accountId.slice(0, 40)}`);
      const writes = planSalesforceWrites(p, accountId, config.targets.salesforce);
      if (!writes.account && writes.invoices.length === 0 && writes.tickets.length === 0)
        return { calls: 0, wrote: [] };
      return withBudget(async (conn) => {
        try {
          return await pushWith(conn, config, accountId, writes, p, callRetry);
        } catch (err) {
          throw toTargetError(err);
        }
      });
    },
    placeOf: (links) => links.salesforceAccountId,
    bulkSize: SALESFORCE_BULK_SIZE,
    async pushMany(pushes, ctx) {
      return withBudget((conn) =>
        pushSalesforceMany(conn, pushes, {
          config,
          headers: callOptions(config),
          gate: ctx.gate,
          isAccountId: (id) => ACCOUNT_ID.test(id),
          noAccount: NO_ACCOUNT,
          toTargetError,
          failuresError,
        }),
      );
    },
    clear: (c) =>
      withBudget((conn) =>
        clearSalesforce(conn, config, c, { headers: callOptions(config), isAccountId: (id) => ACCOUNT_ID.test(id) }),
      ),
    async recordDeflection(session: DeflectionEvent, links: PortalPush['links']): Promise<PushResult> {
      const accountId = links.salesforceAccountId;
      if (!accountId) return { calls: 0, wrote: [], skipped: NO_ACCOUNT };
      return withBudget((conn) =>
        recordSalesforceDeflection(
          conn,
          config,
          {
            id: session.id,
            accountId,
            type: session.outcome,
            category: session.category,
            occurredAt: session.decidedAt,
          },
          callRetry,
        ),
      );
    },
  };
}

/**
 * Upserts one deflection event by its id. Sent as a collection of one, so
 * the id travels in the body: in a URL path (sobjects/{X}/{ExtId}/{value})
 * an id with `/` or a `.com`-like suffix would not reach the right record.
 */
export async function recordSalesforceDeflection(
  conn: Connection,
  config: Config,
  event: SalesforceDeflectionEvent,
  retry: CallRetry = CALL_RETRY,
): Promise<PushResult> {
  if (!ACCOUNT_ID.test(event.accountId))
    throw new PermanentError(`not a Salesforce Account id: ${event.accountId.slice(0, 40)}`);
  const { object, externalId } = config.targets.salesforce.deflection;
  const f = DEFLECTION_FIELDS;
  const record: SObjectFields = {
    [externalId]: event.id,
    [f.account]: event.accountId,
    [f.type]: event.type,
    [f.category]: event.category,
    [f.occurredAt]: toSalesforceDateTime(event.occurredAt),
  };
  try {
    const o = await attemptWith(retry)(() =>
      upsertRecords(conn, object, externalId, [{ label: `deflection:${event.id}`, record }], callOptions(config)),
    );
    if (o.failures.length > 0) throw failuresError(o.failures, o.wrote);
    return { calls: o.calls, wrote: o.wrote };
  } catch (err) {
    throw toTargetError(err);
  }
}
