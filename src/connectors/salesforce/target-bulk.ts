/**
 * Many customers' pushes to Salesforce at once (resync), as sObject
 * Collections of up to 200 records per call: Account fields through
 * `PATCH composite/sobjects` (update by Id), Portal_Invoice__c and
 * Support_Ticket__c through `PATCH composite/sobjects/{SObject}/{ExtId}`
 * (upsert), all with allOrNone false.
 *
 * Each collection answers per record, in request order; a refused record is
 * its customer's error, judged by the same rules as a whole failed push, and
 * the others stand. Every call passes the target's call gate first: jsforce
 * has no per-request hook, so the gate is called here.
 */
import type { Connection } from 'jsforce';
import type { Config } from '../../config.js';
import { PermanentError, RetryableError } from '../../sync/errors.js';
import {
  waitingOutShortLimits,
  type BulkItem,
  type CallGate,
  type BulkPushResult,
  type PortalPush,
} from '../../sync/push/portal-target.js';
import { planSalesforceWrites, type SObjectFields } from './target-records.js';

/** sObject Collections take at most this many records per call. */
const COLLECTION_SIZE = 200;

interface RecordFailure {
  label: string;
  code: string;
  message: string;
}

export interface SalesforceBulkOptions {
  config: Config;
  headers: Record<string, string>;
  gate: CallGate;
  /** Account ids are checked before they are written (target.ts's rule). */
  isAccountId: (id: string) => boolean;
  noAccount: string;
  /** A failed call as a contract error (target.ts's toTargetError). */
  toTargetError: (err: unknown) => Error;
  /** A customer's refused records as one contract error (target.ts's failuresError). */
  failuresError: (failures: RecordFailure[], wrote: string[]) => Error;
}

interface Row {
  push: number;
  label: string;
  record: SObjectFields;
}

type SaveResult = {
  success?: boolean;
  errors?: Array<{ statusCode?: string; errorCode?: string; message?: string; fields?: string[] }>;
};

export async function pushSalesforceMany(
  conn: Connection,
  pushes: readonly PortalPush[],
  opts: SalesforceBulkOptions,
): Promise<BulkPushResult> {
  const c = opts.config.targets.salesforce;
  const items: Array<BulkItem | null> = pushes.map(() => null);
  const accounts: Row[] = [];
  const invoices: Row[] = [];
  const tickets: Row[] = [];
  pushes.forEach((p, push) => {
    const accountId = p.links.salesforceAccountId;
    if (!accountId) return void (items[push] = { ok: true, result: { calls: 0, wrote: [], skipped: opts.noAccount } });
    if (!opts.isAccountId(accountId)) {
      return void (items[push] = {
        ok: false,
        error: new PermanentError(`the linked Salesforce Account id is not an Account id: ${accountId.slice(0, 40)}`),
      });
    }
    const writes = planSalesforceWrites(p, accountId, c);
    if (writes.account) accounts.push({ push, label: 'account_fields', record: { Id: accountId, ...writes.account } });
    for (const i of writes.invoices) invoices.push({ push, ...i });
    for (const t of writes.tickets) tickets.push({ push, ...t });
  });

  let calls = 0;
  const wrote = pushes.map((): string[] => []);
  const failed = pushes.map((): RecordFailure[] => []);
  const send = async (rows: Row[], write: (records: SObjectFields[]) => Promise<unknown>) => {
    for (let i = 0; i < rows.length; i += COLLECTION_SIZE) {
      const part = rows.slice(i, i + COLLECTION_SIZE);
      const results = await waitingOutShortLimits(async () => {
        const release = await opts.gate();
        calls++;
        try {
          return (await write(part.map((r) => r.record))) as SaveResult[];
        } catch (err) {
          throw opts.toTargetError(err);
        } finally {
          release?.();
        }
      });
      part.forEach((row, n) => {
        const result = results[n];
        if (result?.success) return void wrote[row.push]!.push(row.label);
        const error = result?.errors?.[0] ?? {};
        const fields = error.fields?.length ? ` [${error.fields.join(', ')}]` : '';
        failed[row.push]!.push({
          label: row.label,
          code: error.statusCode ?? error.errorCode ?? 'UNKNOWN',
          message: `${error.message ?? 'no result for this record'}${fields}`,
        });
      });
    }
  };
  const options = { allOrNone: false, headers: opts.headers };
  await send(accounts, (records) =>
    conn.sobject('Account').update(records as Array<SObjectFields & { Id: string }>, options),
  );
  await send(invoices, (records) => conn.sobject(c.invoice.object).upsert(records, c.invoice.externalId, options));
  await send(tickets, (records) => conn.sobject(c.ticket.object).upsert(records, c.ticket.externalId, options));

  return {
    calls,
    items: items.map((given, push): BulkItem => {
      if (given) return given;
      if (failed[push]!.length === 0) return { ok: true, result: { calls: 0, wrote: wrote[push]! } };
      const error = opts.failuresError(failed[push]!, wrote[push]!);
      return { ok: false, error: error instanceof PermanentError ? error : new RetryableError(error.message) };
    }),
  };
}
