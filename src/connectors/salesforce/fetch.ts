/**
 * Reads one Account or Contact through jsforce when two writes of it carry
 * the same version with different data, and returns it through recordEvent
 * (outbound.ts), the builder the Outbound Message and CDC parsers share.
 *
 * The REST API answers in JSON types where Outbound Messages carry text, so
 * values are rendered the way the SOAP message would render them: booleans
 * as "true"/"false", datetimes in UTC with a Z, numbers as their digits.
 * Compound fields (BillingAddress…) are skipped: their parts arrive as
 * fields of their own (BillingCity…), as in an Outbound Message.
 */
import type { Connection } from 'jsforce';
import { SourceEventSchema, describeZodError } from '../../sync/events/source-event.js';
import type { SourceEvent } from '../../sync/events/source-event.js';
import { API_NAME, recordEvent } from './outbound.js';

const SALESFORCE_REFETCH_KINDS = ['salesforce.account', 'salesforce.contact'] as const;
export type SalesforceRefetchKind = (typeof SALESFORCE_REFETCH_KINDS)[number];

export function isSalesforceRefetchKind(kind: string): kind is SalesforceRefetchKind {
  return (SALESFORCE_REFETCH_KINDS as readonly string[]).includes(kind);
}

const SOBJECT = { 'salesforce.account': 'Account', 'salesforce.contact': 'Contact' } as const;
const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;
/** REST renders datetimes as 2026-03-03T12:45:20.000+0000; SOAP as …20.000Z. */
const REST_UTC = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)\+0000$/;

function fieldValue(value: unknown): string | null | undefined {
  if (value === null) return null;
  if (typeof value === 'string') return value.replace(REST_UTC, '$1Z');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined; // compound fields and `attributes`
}

function fieldsOf(record: Record<string, unknown>): Record<string, string | null> {
  const fields: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(record)) {
    const text = fieldValue(value);
    if (text !== undefined && API_NAME.test(name)) fields[name] = text;
  }
  return fields;
}

/**
 * Retrieves `kind` `id` and returns it as a SourceEvent at `version` (the
 * tied version, in ms). jsforce's errors propagate: see classifySalesforceError.
 */
export async function fetchSalesforceObject(
  conn: Connection,
  kind: SalesforceRefetchKind,
  id: string,
  version: number,
): Promise<SourceEvent> {
  if (!RECORD_ID.test(id)) throw new Error(`not a Salesforce record id: ${id.slice(0, 40)}`);
  const record: unknown = await conn.sobject(SOBJECT[kind]).retrieve(id);
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new Error(`Salesforce returned no ${SOBJECT[kind]} record for ${id}`);
  }
  return salesforceSnapshotEvent(kind, record as Record<string, unknown>, {
    eventId: `refetch-${id}-${version}`,
    type: `refetch:${kind}`,
    version,
  });
}

/**
 * A REST record (from retrieve or a query) as a snapshot SourceEvent. Without `version`, the
 * record's own SystemModstamp/LastModifiedDate versions it (what a resync wants).
 */
export function salesforceSnapshotEvent(
  kind: SalesforceRefetchKind,
  record: Record<string, unknown>,
  at: { eventId: string; type: string; version?: number },
): SourceEvent {
  const entity = SOBJECT[kind];
  const fields = fieldsOf(record);
  const id = typeof record['Id'] === 'string' ? record['Id'] : '';
  const result = recordEvent({
    entity,
    eventId: at.eventId,
    type: at.type,
    objectId: id,
    deleted: fields['IsDeleted'] === 'true',
    fields,
    ...(at.version !== undefined && { fallbackVersion: at.version }),
  });
  const event = result.kind === 'events' ? result.events[0] : undefined;
  if (event === undefined) {
    throw new Error(
      `Salesforce returned ${entity} ${id} in a shape the parser rejects: ${result.kind === 'events' ? 'no event' : result.reason}`,
    );
  }
  const checked = SourceEventSchema.safeParse({
    ...event,
    ...(at.version !== undefined && { version: at.version }),
    origin: 'snapshot',
  });
  if (!checked.success) throw new Error(`${kind} ${id}: ${describeZodError(checked.error)}`);
  return checked.data;
}
