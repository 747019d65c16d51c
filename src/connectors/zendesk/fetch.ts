/**
 * Reads one Zendesk ticket, user or organization through node-zendesk when
 * two writes of it carry the same version with different data (trigger
 * timestamps have 1-minute resolution).
 *
 * The API object is handed to parseZendeskWebhook as the `detail` of a
 * synthetic `zen:event-type:*` envelope, so status, priority, id and refs
 * normalization stays in events.ts. Two attributes event details never
 * carry, and the parser therefore leaves unknown (null), are filled in from
 * the API object: a user's name and an organization's tags.
 */
import { SourceEventSchema, describeZodError } from '../../sync/events/source-event.js';
import type { EventData, SourceEvent } from '../../sync/events/source-event.js';
import { zendeskResult } from './client.js';
import type { ZendeskClient } from './client.js';
import { parseZendeskWebhook } from './events.js';

const ZENDESK_REFETCH_KINDS = ['zendesk.ticket', 'zendesk.user', 'zendesk.organization'] as const;
export type ZendeskRefetchKind = (typeof ZENDESK_REFETCH_KINDS)[number];

export function isZendeskRefetchKind(kind: string): kind is ZendeskRefetchKind {
  return (ZENDESK_REFETCH_KINDS as readonly string[]).includes(kind);
}

type ApiObject = Record<string, unknown>;
const isRecord = (v: unknown): v is ApiObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const pick = (o: ApiObject, keys: readonly string[]): ApiObject =>
  Object.fromEntries(keys.filter((k) => Object.hasOwn(o, k)).map((k) => [k, o[k]]));
const textOrNull = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

/** How one kind is read, and how its API object becomes an event detail (the envelope's event name decides `deleted`). */
interface Reader {
  show(client: ZendeskClient, id: number): Promise<{ response: unknown; result: unknown }>;
  toDetail(o: ApiObject): { event: string; detail: ApiObject };
  /** Attributes the API object has and event details lack. */
  fill(data: EventData, o: ApiObject): EventData;
}

const READERS: { readonly [K in ZendeskRefetchKind]: Reader } = {
  'zendesk.ticket': {
    show: (client, id) => client.tickets.show(id),
    toDetail: (t) => ({
      // tickets.show answers 404 for a deleted ticket; a `deleted` status can still show up in exports and stand-ins.
      event: t['status'] === 'deleted' ? 'ticket.soft_deleted' : 'ticket.created',
      detail: {
        ...pick(t, [
          'id',
          'subject',
          'description',
          'status',
          'priority',
          'tags',
          'requester_id',
          'organization_id',
          'brand_id',
          'created_at',
          'updated_at',
        ]),
        form_id: t['ticket_form_id'],
      },
    }),
    fill: (data) => data,
  },
  'zendesk.user': {
    show: (client, id) => client.users.show(id),
    // A deleted user keeps answering show with active: false, which the parser reads as a deletion too.
    toDetail: (u) => ({
      event: u['active'] === false ? 'user.deleted' : 'user.created',
      detail: pick(u, ['id', 'email', 'external_id', 'organization_id', 'role', 'updated_at']),
    }),
    fill: (data, u) => (data.kind === 'zendesk.user' ? { ...data, name: textOrNull(u['name']) } : data),
  },
  'zendesk.organization': {
    show: (client, id) => client.organizations.show(id),
    toDetail: (o) => ({ event: 'organization.created', detail: pick(o, ['id', 'name', 'external_id', 'updated_at']) }),
    fill: (data, o) => {
      const tags = o['tags'];
      const known = Array.isArray(tags) && tags.every((t) => typeof t === 'string');
      return data.kind === 'zendesk.organization' && known ? { ...data, tags } : data;
    },
  },
};

/**
 * Reads `kind` `id` and returns it as a SourceEvent at `version` (the tied
 * version, in ms), or at the object's own updated_at when that is later: what
 * was read is newer than both tied writes, and a write of the tied minute
 * arriving after the settlement must not pass it. Failed calls throw (node-zendesk's error, or a
 * ZendeskApiError for the failures it resolves); see classifyZendeskError.
 */
export async function fetchZendeskObject(
  client: ZendeskClient,
  kind: ZendeskRefetchKind,
  id: string,
  version: number,
  keptFields: readonly string[] = [],
): Promise<SourceEvent> {
  const numeric = Number(id);
  if (!/^[1-9]\d*$/.test(id) || !Number.isSafeInteger(numeric)) throw new Error(`not a Zendesk id: ${id.slice(0, 40)}`);
  const object = zendeskResult(await READERS[kind].show(client, numeric));
  if (!isRecord(object)) throw new Error(`Zendesk returned no ${kind} object for ${id}`);
  const own = Date.parse(String(object['updated_at']));
  return zendeskSnapshotEvent(
    kind,
    object,
    {
      eventId: `refetch-${id}-${version}`,
      type: `refetch:${kind}`,
      version: Number.isNaN(own) ? version : Math.max(version, own),
    },
    keptFields,
  );
}

/** An organization's mapped organization_fields (a multiselect's values joined with ", "), when a mapping names any. */
function withOrganizationFields(
  data: SourceEvent['data'],
  object: Record<string, unknown>,
  kept: readonly string[],
): SourceEvent['data'] {
  if (data.kind !== 'zendesk.organization' || kept.length === 0) return data;
  const all = isRecord(object['organization_fields']) ? object['organization_fields'] : {};
  const value = (v: unknown): string | number | boolean | null =>
    Array.isArray(v)
      ? v.filter((x) => typeof x === 'string').join(', ')
      : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
        ? v
        : null;
  return {
    ...data,
    fields: Object.fromEntries(kept.filter((k) => Object.hasOwn(all, k)).map((k) => [k, value(all[k])])),
  };
}

/**
 * An API object (from show, a list or an incremental export) as a snapshot SourceEvent, normalized
 * by the webhook parser. Throws when the object has a shape the parser rejects.
 */
export function zendeskSnapshotEvent(
  kind: ZendeskRefetchKind,
  object: Record<string, unknown>,
  at: { eventId: string; type: string; version: number; versionPrecisionMs?: number },
  /** The organization_fields keys a field mapping names: kept on an organization's data, nothing else of them. */
  keptFields: readonly string[] = [],
): SourceEvent {
  const reader = READERS[kind];
  const { event, detail } = reader.toDetail(object);
  // `time` only versions the parse; the given version replaces it below.
  const envelope = {
    type: `zen:event-type:${event}`,
    id: at.eventId,
    time: new Date(at.version).toISOString(),
    detail,
  };
  const result = parseZendeskWebhook(envelope, {});
  const parsed = result.kind === 'events' ? result.events[0] : undefined;
  if (parsed === undefined) {
    throw new Error(
      `Zendesk returned ${kind} ${String(object['id'])} in a shape the parser rejects: ${result.kind === 'events' ? 'no event' : result.reason}`,
    );
  }
  const checked = SourceEventSchema.safeParse({
    ...parsed,
    eventId: at.eventId,
    type: at.type,
    version: at.version,
    ...(at.versionPrecisionMs !== undefined && { versionPrecisionMs: at.versionPrecisionMs }),
    origin: 'snapshot',
    data: withOrganizationFields(reader.fill(parsed.data, object), object, keptFields),
  });
  if (!checked.success) throw new Error(`${kind} ${String(object['id'])}: ${describeZodError(checked.error)}`);
  return checked.data;
}
