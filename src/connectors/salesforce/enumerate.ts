/**
 * Salesforce Accounts and Contacts as snapshot streams, through jsforce.
 *
 * Pages are keyset SOQL queries ordered by (SystemModstamp, Id): the cursor
 * is the last record's pair, so a stream resumes exactly after its last
 * finished page — long after a query locator would have expired (15 min).
 * Within a page, jsforce's queryMore follows `nextRecordsUrl` when the API
 * returns the page in smaller batches. `queryAll` includes deleted records,
 * which become tombstones. Each record is versioned by its SystemModstamp.
 *
 * Bulk API 2.0 would read faster above a few hundred thousand records; a
 * keyset query of 2,000 records per call keeps to the same API budget class
 * and stays resumable, so it is the only path for now.
 */
import type { Connection } from 'jsforce';
import { snapshotEventId, type SnapshotPage, type SnapshotStream } from '../../sync/resync/snapshot.js';
import { pageError } from '../../sync/errors.js';
import { classifySalesforceError } from './client.js';
import { salesforceSnapshotEvent, type SalesforceRefetchKind } from './fetch.js';

export interface SalesforceStreamOptions {
  since?: Date | null;
  /** Records per keyset query (SOQL batches are up to 2,000). */
  pageSize?: number;
  /** Account fields not to read: the ones the Salesforce portal target writes (our own output is not source data). */
  ownAccountFields?: readonly string[];
}

type Row = Record<string, unknown>;
const ENTITIES = { 'salesforce.account': 'Account', 'salesforce.contact': 'Contact' } as const;
/** Compound fields repeat their parts, which are fields of their own. */
const COMPOUND = new Set(['address', 'location']);
const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/** SOQL datetime literal: no quotes, seconds precision, UTC. */
function soqlDateTime(at: Date | number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function call<T>(work: () => PromiseLike<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw pageError('salesforce', classifySalesforceError(err), err);
  }
}

/** Field names to select: every non-compound field the org's describe lists (custom ones included), but `leaveOut`. */
async function selectableFields(conn: Connection, entity: string, leaveOut: readonly string[] = []): Promise<string[]> {
  const describe = await call(() => conn.sobject(entity).describe());
  return describe.fields.filter((f) => !COMPOUND.has(String(f.type)) && !leaveOut.includes(f.name)).map((f) => f.name);
}

/** Runs `soql` (deleted rows included) and follows queryMore until the result is complete. */
async function queryAllRows(conn: Connection, soql: string): Promise<Row[]> {
  const rows: Row[] = [];
  type Result = { records: Row[]; done: boolean; nextRecordsUrl?: string };
  let result: Result = await call(
    () => conn.query<Row>(soql, { scanAll: true, autoFetch: false }) as PromiseLike<Result>,
  );
  rows.push(...result.records);
  while (!result.done && result.nextRecordsUrl) {
    const locator = result.nextRecordsUrl;
    result = await call(() => conn.queryMore<Row>(locator) as PromiseLike<Result>);
    rows.push(...result.records);
  }
  return rows;
}

function toPage(kind: SalesforceRefetchKind, rows: readonly Row[], next: string | null): SnapshotPage {
  const page: SnapshotPage = { events: [], next, read: rows.length, rejected: [] };
  for (const row of rows) {
    const id = typeof row['Id'] === 'string' ? row['Id'] : '?';
    try {
      const stamp = Date.parse(String(row['SystemModstamp'] ?? row['LastModifiedDate']));
      page.events.push(
        salesforceSnapshotEvent(kind, row, {
          eventId: snapshotEventId(id, Number.isNaN(stamp) ? 0 : stamp),
          type: `snapshot:${kind}`,
        }),
      );
    } catch (err) {
      page.rejected.push({ objectId: id, reason: (err as Error).message });
    }
  }
  return page;
}

const encodeCursor = (row: Row) => `${String(row['SystemModstamp'])}|${String(row['Id'])}`;

export function salesforceSnapshotStreams(conn: Connection, opts: SalesforceStreamOptions): SnapshotStream[] {
  const pageSize = opts.pageSize ?? 2000;
  const stream = (kind: SalesforceRefetchKind, name: string): SnapshotStream => {
    const entity = ENTITIES[kind];
    let fields: Promise<string[]> | null = null;
    const since = opts.since ? `SystemModstamp >= ${soqlDateTime(opts.since)}` : null;
    return {
      name,
      source: 'salesforce',
      async estimate() {
        const result = await call(
          () =>
            conn.query(`SELECT COUNT() FROM ${entity}${since ? ` WHERE ${since}` : ''}`) as PromiseLike<{
              totalSize: number;
            }>,
        );
        return result.totalSize;
      },
      async page(cursor) {
        fields ??= selectableFields(conn, entity, entity === 'Account' ? opts.ownAccountFields : []);
        const names = await fields.catch((err: unknown) => {
          fields = null; // a failed describe is retried with the page
          throw err;
        });
        const where: string[] = since ? [since] : [];
        if (cursor !== null) {
          const [stamp, id] = cursor.split('|');
          if (!stamp || !id || Number.isNaN(Date.parse(stamp)) || !RECORD_ID.test(id))
            throw new Error(`bad Salesforce resync cursor: ${cursor.slice(0, 60)}`);
          const at = soqlDateTime(Date.parse(stamp));
          where.push(`(SystemModstamp > ${at} OR (SystemModstamp = ${at} AND Id > '${id}'))`);
        }
        const soql = `SELECT ${names.join(', ')} FROM ${entity}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY SystemModstamp, Id LIMIT ${pageSize}`;
        const rows = await queryAllRows(conn, soql);
        const next = rows.length < pageSize ? null : encodeCursor(rows.at(-1)!);
        return toPage(kind, rows, next);
      },
    };
  };
  return [stream('salesforce.account', 'salesforce.accounts'), stream('salesforce.contact', 'salesforce.contacts')];
}

/** One Account, fresh, with its Contacts, as one page. */
export function salesforceAccountStream(
  conn: Connection,
  accountId: string,
  opts: Pick<SalesforceStreamOptions, 'ownAccountFields'> = {},
): SnapshotStream {
  if (!RECORD_ID.test(accountId)) throw new Error(`not a Salesforce Account id: ${accountId.slice(0, 40)}`);
  return {
    name: `salesforce.account.${accountId}`,
    source: 'salesforce',
    async page() {
      const [accountFields, contactFields] = await Promise.all([
        selectableFields(conn, 'Account', opts.ownAccountFields),
        selectableFields(conn, 'Contact'),
      ]);
      const accounts = await queryAllRows(
        conn,
        `SELECT ${accountFields.join(', ')} FROM Account WHERE Id = '${accountId}'`,
      );
      const contacts = await queryAllRows(
        conn,
        `SELECT ${contactFields.join(', ')} FROM Contact WHERE AccountId = '${accountId}'`,
      );
      const pages = [toPage('salesforce.account', accounts, null), toPage('salesforce.contact', contacts, null)];
      return {
        events: pages.flatMap((p) => p.events),
        next: null,
        read: accounts.length + contacts.length,
        rejected: pages.flatMap((p) => p.rejected),
      };
    },
  };
}
