/**
 * Change Data Capture-shaped JSON that a Flow HTTP Callout or an Apex
 * callout posts to us: one event, `{ events: [...] }`, or a CometD message.
 * Unlike Outbound Messages an UPDATE carries only the changed fields, so
 * `fields` is partial and a missing key means "unchanged", not null.
 * Pure and total: every input yields ParseResults, never an exception.
 */
import { z } from 'zod';
import { describeZodError } from '../../sync/events/source-event.js';
import type { ParseResult } from '../../sync/events/source-event.js';
import { isCaseDeflectionMessage, parseCaseDeflectionMessage } from './case-deflection.js';
import { API_NAME, recordEvent } from './outbound.js';

const MAX_CDC_EVENTS = 100;
export type CdcOptions = { clientId: string };

const ENTITIES = ['Account', 'Contact'] as const;
type Entity = (typeof ENTITIES)[number];
const isEntity = (name: string): name is Entity => (ENTITIES as readonly string[]).includes(name);
const CHANGE_TYPES = ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE'];

const HeaderSchema = z.object({
  entityName: z.string().min(1),
  // GAP_OVERFLOW may name no record at all; other change types are checked below.
  recordIds: z.array(z.string().min(1)),
  changeType: z.string().min(1),
  commitTimestamp: z.number().int().nonnegative(),
  transactionKey: z.string().min(1),
  sequenceNumber: z.number().int().nonnegative(),
  nulledFields: z.array(z.string()).default([]),
  diffFields: z.array(z.string()).default([]),
  changeOrigin: z.string().nullish(),
});
type Header = z.infer<typeof HeaderSchema>;

type XObject = Record<string, unknown>;
const isObject = (v: unknown): v is XObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Our writes set `Sforce-Call-Options: client=<clientId>`, which Salesforce
 * echoes as `…;client=<clientId>` in changeOrigin. The value is compared
 * whole so that `portal-sync` does not also match `portal-sync-test`.
 */
export function isEchoOfOurOwnWrite(changeOrigin: string | undefined, clientId: string): boolean {
  if (!changeOrigin || !clientId) return false;
  return changeOrigin.split(';').some((part) => {
    const p = part.trim();
    if (!p.startsWith('client=')) return false;
    const value = p.slice('client='.length);
    // Salesforce's own origins look like `client=SfdcInternalAPI/`.
    return value === clientId || value === `${clientId}/`;
  });
}

export function parseSalesforceJson(body: unknown, opts: CdcOptions): ParseResult[] {
  try {
    if (isObject(body) && 'events' in body) {
      const events = body['events'];
      if (!Array.isArray(events)) return [{ kind: 'invalid', reason: 'events is not an array' }];
      if (events.length > MAX_CDC_EVENTS) {
        return [{ kind: 'invalid', reason: `${events.length} events, at most ${MAX_CDC_EVENTS} allowed` }];
      }
      return events.flatMap((item) => parseEvent(item, opts));
    }
    return parseEvent(body, opts);
  } catch (err) {
    // Only a hostile object (a throwing getter) gets here; JSON.parse output never does.
    return [{ kind: 'invalid', reason: `unreadable body: ${err instanceof Error ? err.message : String(err)}` }];
  }
}

/** A bare event, a CometD `data` ({schema, event, payload}) or a whole CometD message ({channel, data}). */
function unwrap(item: unknown): { event: unknown; replayId: string | undefined } {
  let message = item;
  if (isObject(message) && isObject(message['data']) && !('ChangeEventHeader' in message)) message = message['data'];
  if (!isObject(message) || 'ChangeEventHeader' in message || !isObject(message['payload'])) {
    return { event: message, replayId: undefined };
  }
  const replay = isObject(message['event']) ? message['event']['replayId'] : undefined;
  const replayId =
    typeof replay === 'number' && Number.isSafeInteger(replay)
      ? String(replay)
      : typeof replay === 'string' && /^\d+$/.test(replay)
        ? replay
        : undefined;
  return { event: message['payload'], replayId };
}

function parseEvent(item: unknown, opts: CdcOptions): ParseResult[] {
  // A relayed platform event, not a change event: it has no ChangeEventHeader (case-deflection.ts).
  if (isCaseDeflectionMessage(item)) return [parseCaseDeflectionMessage(item)];
  const { event, replayId } = unwrap(item);
  if (!isObject(event)) return [{ kind: 'invalid', reason: 'not a change event object' }];
  const parsed = HeaderSchema.safeParse(event['ChangeEventHeader']);
  if (!parsed.success) {
    return [{ kind: 'invalid', reason: `ChangeEventHeader ${describeZodError(parsed.error)}` }];
  }
  const h = parsed.data;
  // A replayId names the delivery on its channel; without one the transaction position does.
  const eventId = replayId !== undefined ? `${h.entityName}-${replayId}` : `${h.transactionKey}-${h.sequenceNumber}`;
  const entity = h.entityName;
  if (!isEntity(entity)) return [{ kind: 'ignored', eventId, reason: `unsupported entity ${entity}` }];
  if (isEchoOfOurOwnWrite(h.changeOrigin ?? undefined, opts.clientId)) {
    return [{ kind: 'ignored', eventId, reason: 'echo of portal-sync write' }];
  }
  // Gap events and wildcard ids (001*) carry no usable field values: only a re-read can repair them.
  if (h.changeType.startsWith('GAP_') || h.recordIds.some((id) => id.endsWith('*'))) {
    const which = h.recordIds.length > 0 ? h.recordIds.join(', ') : 'all records';
    return [{ kind: 'ignored', eventId, reason: `gap event: needs a resync of ${entity} ${which} (${h.changeType})` }];
  }
  if (!CHANGE_TYPES.includes(h.changeType)) {
    return [{ kind: 'ignored', eventId, reason: `unsupported changeType ${h.changeType}` }];
  }
  if (h.recordIds.length === 0) return [{ kind: 'invalid', eventId, reason: 'ChangeEventHeader.recordIds is empty' }];
  const fields = bodyFields(event, h);
  // One change may cover many records (same change, same transaction): fan out per record.
  return h.recordIds.map((recordId) =>
    recordEvent({
      entity,
      eventId: `${eventId}-${recordId}`,
      type: `cdc.${entity}.${h.changeType}`,
      objectId: recordId,
      deleted: h.changeType === 'DELETE',
      fields,
      fallbackVersion: h.commitTimestamp,
    }),
  );
}

/**
 * Compound fields arrive nested; flatten them to the API names Outbound
 * Messages and the REST API use, so one field mapping serves every channel.
 */
function apiName(compound: string, component: string): string {
  if (compound === 'Name') return component; // Contact / person-account Name → FirstName, LastName, …
  if (compound.endsWith('Address') && !compound.includes('__')) {
    return compound.slice(0, -'Address'.length) + component; // BillingAddress.Street → BillingStreet
  }
  return `${compound}.${component}`; // e.g. geolocation custom fields: no single rule, keep the CDC path
}

function pathToApiName(path: string): string | undefined {
  const [compound, component, ...rest] = path.split('.');
  if (!compound || !API_NAME.test(compound) || rest.length > 0) return undefined;
  if (component === undefined) return compound;
  return API_NAME.test(component) ? apiName(compound, component) : undefined;
}

function scalar(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function bodyFields(event: XObject, h: Header): Record<string, string | null> {
  const entries: Array<[string, string | null]> = [];
  for (const [name, value] of Object.entries(event)) {
    if (name === 'ChangeEventHeader' || !API_NAME.test(name)) continue;
    if (!isObject(value)) {
      entries.push([name, scalar(value)]);
      continue;
    }
    for (const [component, part] of Object.entries(value)) {
      if (API_NAME.test(component)) entries.push([apiName(name, component), scalar(part)]);
    }
  }
  for (const path of h.nulledFields) {
    const name = pathToApiName(path);
    if (name) entries.push([name, null]);
  }
  // diffFields hold a diff of a long text value, not the value: keeping it would corrupt the field.
  const diffs = new Set(h.diffFields.map(pathToApiName));
  return Object.fromEntries(entries.filter(([name]) => !diffs.has(name)));
}
