/**
 * Takes back what the Salesforce target wrote for a forgotten customer
 * (`identity forget --portal clear`): the billing fields on its Account are
 * cleared (`PATCH sobjects/Account/{Id}`: null, the delinquent checkbox
 * false, as for a customer without billing data), and the invoice and ticket
 * records it upserted are found by their external ids (SOQL `… WHERE
 * <ExtId> IN (…)`) and deleted with sObject Collections (`DELETE
 * composite/sobjects?ids=…`, ≤200 ids a call, allOrNone false). The
 * deflection events it recorded on the customer's Accounts
 * (Portal_Deflection_Event__c, found by `Account__c IN (…)` with an event id)
 * are deleted the same way. The Account itself and every other record are
 * left alone. A record already deleted (ENTITY_IS_DELETED, NOT_FOUND,
 * INVALID_CROSS_REFERENCE_KEY) is "already gone", so a re-run is safe.
 */
import type { Connection } from 'jsforce';
import type { Config } from '../../config.js';
import type { ClearResult, PortalClear } from '../../sync/push/portal-target.js';
import { classifySalesforceError } from './client.js';
import { DEFLECTION_FIELDS, type SObjectFields } from './target-records.js';

/** Ids per SOQL IN list (the query stays far below Salesforce's 100,000-character limit). */
const IN_MAX = 200;
/** Codes that say the record is not there (any more): nothing to take back. */
const GONE = new Set(['ENTITY_IS_DELETED', 'NOT_FOUND', 'INVALID_CROSS_REFERENCE_KEY']);

/** Deflection events read per Account batch; any more are left for the next run (reported, so the plan stays). */
const DEFLECTIONS_MAX = 50_000;

type SaveErrorWire = { statusCode?: string; errorCode?: string; message?: string };

/** A SOQL string literal: backslashes and quotes escaped. */
const soqlString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The Account fields the target writes, emptied. */
function clearedAccountFields(f: Config['targets']['salesforce']['accountFields']): SObjectFields {
  // A checkbox has no "unknown": no billing data reads as not delinquent, as a push without billing data writes it.
  return {
    [f.status]: null,
    [f.plan]: null,
    [f.mrr]: null,
    [f.balance]: null,
    [f.nextInvoiceDate]: null,
    [f.delinquent]: false,
    [f.openTickets]: null,
  };
}

export async function clearSalesforce(
  conn: Connection,
  config: Config,
  c: PortalClear,
  opts: { headers: Record<string, string>; isAccountId: (id: string) => boolean },
): Promise<ClearResult> {
  const out: ClearResult = { calls: 0, cleared: [], absent: [], failed: [] };
  const t = config.targets.salesforce;
  const codeOf = (err: unknown): string | undefined => {
    const code = (err as { errorCode?: unknown } | null)?.errorCode;
    return typeof code === 'string' ? code : undefined;
  };

  const accounts = [...new Set(c.places.map((p) => p.salesforceAccountId).filter((id): id is string => id !== null))];
  for (const accountId of accounts) {
    const label = `account_fields:${accountId}`;
    if (!opts.isAccountId(accountId)) {
      out.failed.push(`${label}: not a Salesforce Account id`);
      continue;
    }
    out.calls++;
    try {
      // The mapped fields too: what portal-sync wrote there is this customer's data as much as billing is.
      const mapped = Object.fromEntries(
        config.mapping.salesforce.accountFields.map((e) => [e.to, e.transform === 'boolean' ? false : null]),
      );
      await conn
        .sobject('Account')
        .update({ Id: accountId, ...mapped, ...clearedAccountFields(t.accountFields) }, { headers: opts.headers });
      out.cleared.push(label);
    } catch (err) {
      if (GONE.has(codeOf(err) ?? '')) out.absent.push(label);
      else out.failed.push(`${label}: ${classifySalesforceError(err).message}`);
    }
  }

  for (const [kind, object, extId, wanted] of [
    ['invoice', t.invoice.object, t.invoice.externalId, [...new Set(c.invoiceIds)]],
    ['ticket', t.ticket.object, t.ticket.externalId, [...new Set(c.ticketIds)]],
  ] as const) {
    for (let i = 0; i < wanted.length; i += IN_MAX) {
      const chunk = wanted.slice(i, i + IN_MAX);
      const found = new Map<string, string>(); // Salesforce Id -> external id
      out.calls++;
      try {
        const soql = `SELECT Id, ${extId} FROM ${object} WHERE ${extId} IN (${chunk.map(soqlString).join(', ')})`;
        const res = await conn.query<Record<string, unknown>>(soql, { autoFetch: true, maxFetch: 10 * IN_MAX });
        for (const r of res.records)
          if (typeof r['Id'] === 'string' && typeof r[extId] === 'string') found.set(r['Id'], r[extId]);
      } catch (err) {
        out.failed.push(`${kind}:${chunk.join(',')}: ${classifySalesforceError(err).message}`);
        continue;
      }
      const seen = new Set(found.values());
      for (const ext of chunk) if (!seen.has(ext)) out.absent.push(`${kind}:${ext}`);
      await destroyFound(conn, object, kind, found, out, opts.headers);
    }
  }
  await deleteDeflections(conn, config, accounts.filter(opts.isAccountId), out, opts.headers);
  return out;
}

/** Deletes the given records (Salesforce Id → external id), ≤200 a call, each one's result filed under `kind:<external id>`. */
async function destroyFound(
  conn: Connection,
  object: string,
  kind: string,
  found: Map<string, string>,
  out: ClearResult,
  headers: Record<string, string>,
): Promise<void> {
  const ids = [...found.keys()];
  if (ids.length === 0) return;
  out.calls += Math.ceil(ids.length / IN_MAX);
  try {
    const results = await conn.sobject(object).destroy(ids, { allOrNone: false, allowRecursive: true, headers });
    ids.forEach((id, n) => {
      const label = `${kind}:${found.get(id)}`;
      const r = results[n];
      if (r?.success) return void out.cleared.push(label);
      const e = ((r as { errors?: SaveErrorWire[] } | undefined)?.errors?.[0] ?? {}) as SaveErrorWire;
      const code = e.statusCode ?? e.errorCode ?? 'UNKNOWN';
      if (GONE.has(code)) out.absent.push(label);
      else out.failed.push(`${label}: Salesforce ${code}: ${e.message ?? 'no result for this record'}`);
    });
  } catch (err) {
    out.failed.push(`${kind}:${ids.map((id) => found.get(id)).join(',')}: ${classifySalesforceError(err).message}`);
  }
}

/**
 * The deflection events portal-sync recorded on these Accounts (each carries its event id, the external
 * id it was upserted by), found by Account and deleted. Nothing found is nothing to report: unlike an
 * invoice, no list of expected events is kept.
 */
async function deleteDeflections(
  conn: Connection,
  config: Config,
  accounts: readonly string[],
  out: ClearResult,
  headers: Record<string, string>,
): Promise<void> {
  const { object, externalId } = config.targets.salesforce.deflection;
  for (let i = 0; i < accounts.length; i += IN_MAX) {
    const chunk = accounts.slice(i, i + IN_MAX);
    const found = new Map<string, string>();
    out.calls++;
    try {
      const soql = `SELECT Id, ${externalId} FROM ${object} WHERE ${DEFLECTION_FIELDS.account} IN (${chunk.map(soqlString).join(', ')}) AND ${externalId} != null`;
      const res = await conn.query<Record<string, unknown>>(soql, { autoFetch: true, maxFetch: DEFLECTIONS_MAX });
      for (const r of res.records)
        if (typeof r['Id'] === 'string' && typeof r[externalId] === 'string') found.set(r['Id'], r[externalId]);
      if (res.totalSize > res.records.length)
        out.failed.push(
          `deflections:${chunk.join(',')}: ${res.totalSize - res.records.length} more than one run deletes; run again`,
        );
    } catch (err) {
      out.failed.push(`deflections:${chunk.join(',')}: ${classifySalesforceError(err).message}`);
      continue;
    }
    await destroyFound(conn, object, 'deflection', found, out, headers);
  }
}
