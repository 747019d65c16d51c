/**
 * Zendesk wire payload → SourceEvent. Pure: no I/O, no SDK.
 *
 * Two kinds of body reach the one Zendesk endpoint:
 * - event-subscribed webhooks, in Zendesk's `zen:event-type:*` envelope
 *   (organization, user and ticket events; ids arrive as strings);
 * - trigger webhooks for tickets, whose body is OUR Liquid template
 *   (ZENDESK_TICKET_TRIGGER_TEMPLATE) as Zendesk rendered it.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { screenRefs, withRefused, type RefusedRef } from '../../sync/events/ids.js';
import {
  SourceEventSchema,
  describeZodError,
  normalizeEmail,
  type CustomerRefs,
  type EventData,
  type ParseResult,
} from '../../sync/events/source-event.js';

/** Cross-id convention (config identity.zendeskOrganizationExternalIdIs): an organization's external_id is its Salesforce Account Id. */
const ZENDESK_ORGANIZATION_EXTERNAL_ID_REF = 'salesforceAccountId' satisfies keyof CustomerRefs;

/** Marks a body as our trigger template, and which revision of it. */
const ZENDESK_TRIGGER_MARKER = 'ticket.v1';
/** SourceEvent.type for trigger deliveries, which carry no Zendesk event name. */
export const ZENDESK_TRIGGER_EVENT_TYPE = 'trigger:ticket.v1';

/**
 * Paste into the trigger's "Notify by > Active webhook" JSON body. Every value
 * is quoted, so an empty placeholder renders `""` and the JSON stays valid.
 * The subject is user text: the Liquid filters escape backslashes and quotes
 * and drop newlines. The description is left out: the first comment can hold
 * anything, and escaping it reliably in Liquid is not something we can check.
 */
export const ZENDESK_TICKET_TRIGGER_TEMPLATE = `{
  "portal_sync": "${ZENDESK_TRIGGER_MARKER}",
  "ticket": {
    "id": "{{ticket.id}}",
    "subject": "{{ticket.title | replace: '\\', '\\\\' | replace: '"', '\\"' | strip_newlines}}",
    "status": "{{ticket.status}}",
    "priority": "{{ticket.priority}}",
    "form_id": "{{ticket.ticket_form_id}}",
    "tags": "{{ticket.tags}}",
    "requester_id": "{{ticket.requester.id}}",
    "requester_email": "{{ticket.requester.email}}",
    "organization_id": "{{ticket.organization.id}}",
    "organization_external_id": "{{ticket.organization.external_id}}",
    "brand_id": "{{ticket.brand.id}}",
    "created_at": "{{ticket.created_at_with_timestamp}}",
    "updated_at": "{{ticket.updated_at_with_timestamp}}"
  }
}`;

const EVENT_PREFIX = 'zen:event-type:';
// Only events that can change a field we keep; the rest are acknowledged and ignored.
const ORGANIZATION_EVENTS = new Set([
  'created',
  'deleted',
  'name_changed',
  'external_id_changed',
  'tags_changed',
  'custom_field_changed',
]);
const USER_EVENTS = new Set([
  'created',
  'deleted',
  'active_changed',
  'role_changed',
  'external_id_changed',
  'name_changed',
  'tags_changed',
  'custom_field_changed',
  'organization_membership_created',
  'organization_membership_deleted',
  'identity_created',
  'identity_changed',
  'identity_deleted',
]);
const TICKET_EVENTS = new Set([
  'created',
  'status_changed',
  'custom_status_changed',
  'priority_changed',
  'subject_changed',
  'description_changed',
  'tags_changed',
  'form_changed',
  'organization_changed',
  'requester_changed',
  'type_changed',
  'external_id_changed',
  'custom_field_changed',
  'merged',
  'marked_as_spam',
  'soft_deleted',
  'permanently_deleted',
  'undeleted',
  'brand_changed',
]);
// Marking as spam deletes the ticket in Zendesk, so the portal should drop it too.
const DELETING_EVENTS = new Set([
  'organization.deleted',
  'user.deleted',
  'ticket.soft_deleted',
  'ticket.permanently_deleted',
  'ticket.marked_as_spam',
]);

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
function isoToMs(value: string | null | undefined): number | null {
  if (!value || !ISO_8601.test(value.trim())) return null;
  const ms = Date.parse(value.trim());
  return Number.isFinite(ms) ? ms : null;
}
/** SourceEvent wants full ISO; Zendesk placeholders give minute precision and events nanoseconds. */
function isoOrNull(value: string | null | undefined): string | null {
  const ms = isoToMs(value);
  return ms === null ? null : new Date(ms).toISOString();
}

// Zendesk ids are positive integers, sent as strings in events and rendered as
// strings by the template; numbers are accepted too (stand-ins, older shapes).
const id = z
  .union([
    z
      .string()
      .trim()
      .regex(/^[1-9]\d*$/),
    z.number().int().positive(),
  ])
  .transform(String);
// Absent references show up as null, "" (empty placeholder) or "0" (user
// events' organization_id), all of which mean "none".
const optionalId = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((v) => {
    const s = v === null || v === undefined ? '' : String(v).trim();
    return /^[1-9]\d*$/.test(s) ? s : null;
  });
const text = z
  .string()
  .nullish()
  .transform((v) => (v === null || v === undefined || v.trim() === '' ? null : v));
const timestamp = z.string().nullish();

// Not .strict(): Zendesk adds detail fields over time, and an added field must
// not quarantine events. Only the id is required: a permanently deleted
// ticket's snapshot may be scrubbed.
const OrganizationDetail = z.object({ id, name: text, external_id: text, updated_at: timestamp });
const UserDetail = z.object({
  id,
  email: text,
  external_id: text,
  organization_id: optionalId,
  role: text,
  updated_at: timestamp,
});
const TicketDetail = z.object({
  id,
  subject: text,
  description: text,
  status: text,
  priority: text,
  form_id: optionalId,
  tags: z.array(z.string()).nullish(),
  requester_id: optionalId,
  organization_id: optionalId,
  brand_id: optionalId,
  created_at: timestamp,
  updated_at: timestamp,
});
const Envelope = z.object({
  type: z.string(),
  id: z.string().min(1).max(200),
  time: z.string(),
  detail: z.unknown(),
  event: z.unknown().optional(),
});
const TriggerBody = z.object({
  portal_sync: z.literal(ZENDESK_TRIGGER_MARKER),
  ticket: z.object({
    id,
    subject: text,
    status: text,
    priority: text,
    form_id: optionalId,
    tags: text,
    requester_id: optionalId,
    requester_email: text,
    organization_id: optionalId,
    organization_external_id: text,
    created_at: timestamp,
    updated_at: z.string(),
    // Absent from bodies rendered by the template before brands were read: the brand is then unknown.
    brand_id: optionalId,
  }),
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Events send `HOLD`, placeholders render the agent-facing title `On-hold`. */
function normalizeStatus(status: string | null): string | null {
  const s = status?.trim().toLowerCase();
  if (!s) return null;
  return s === 'on-hold' || s === 'on hold' ? 'hold' : s;
}
function normalizePriority(priority: string | null): string | null {
  const p = priority?.trim().toLowerCase();
  return p && p !== '-' ? p : null;
}

interface Draft {
  eventId: string;
  type: string;
  objectId: string;
  version: number;
  versionPrecisionMs?: number;
  deleted: boolean;
  refs: CustomerRefs;
  refused: RefusedRef[];
  data: EventData;
}

/** Checks the finished event against the contract, so a normalization slip is quarantined, never enqueued. */
function finish(draft: Draft): ParseResult {
  const { refused, ...rest } = draft;
  const checked = SourceEventSchema.safeParse(
    withRefused({ v: 1, source: 'zendesk', origin: 'webhook', ...rest }, refused),
  );
  return checked.success
    ? { kind: 'events', events: [checked.data] }
    : { kind: 'invalid', reason: describeZodError(checked.error), eventId: draft.eventId };
}

function organizationDraft(
  detail: z.infer<typeof OrganizationDetail>,
): Pick<Draft, 'objectId' | 'refs' | 'refused' | 'data'> {
  return {
    objectId: detail.id,
    ...screenRefs({ zendeskOrganizationId: detail.id, [ZENDESK_ORGANIZATION_EXTERNAL_ID_REF]: detail.external_id }),
    // The event detail carries no tags, so they are unknown here (null), not empty.
    data: {
      kind: 'zendesk.organization',
      id: detail.id,
      name: detail.name,
      externalId: detail.external_id,
      tags: null,
    },
  };
}

/**
 * Cross-id convention for users, as Zendesk's Salesforce integration sets it: a user's external_id
 * is their Salesforce Contact Id. Other uses of external_id (an SSO id) are common, so only a value
 * that claims to be a Contact id (003…) is one; ids.ts then checks its length and checksum.
 */
function contactIdFrom(externalId: string | null | undefined): string | null {
  const v = externalId?.trim();
  return v && v.startsWith('003') ? v : null;
}

function userDraft(
  detail: z.infer<typeof UserDetail>,
  action: string,
  event: unknown,
): Pick<Draft, 'objectId' | 'refs' | 'refused' | 'data'> {
  const email = normalizeEmail(detail.email) ?? null;
  const refs = screenRefs({
    zendeskUserId: detail.id,
    zendeskOrganizationId: detail.organization_id,
    email: detail.email,
    salesforceContactId: contactIdFrom(detail.external_id),
  });
  // The detail snapshot has no name; only a name change carries one.
  const name = action === 'name_changed' && isRecord(event) && typeof event.current === 'string' ? event.current : null;
  return {
    objectId: detail.id,
    ...refs,
    data: {
      kind: 'zendesk.user',
      id: detail.id,
      name,
      email,
      externalId: detail.external_id,
      organizationId: detail.organization_id,
      role: detail.role,
    },
  };
}

function ticketDraft(detail: z.infer<typeof TicketDetail>): Pick<Draft, 'objectId' | 'refs' | 'refused' | 'data'> {
  return {
    objectId: detail.id,
    ...screenRefs({ zendeskOrganizationId: detail.organization_id, zendeskUserId: detail.requester_id }),
    data: {
      kind: 'zendesk.ticket',
      id: detail.id,
      subject: detail.subject,
      description: detail.description,
      status: normalizeStatus(detail.status),
      priority: normalizePriority(detail.priority),
      formId: detail.form_id,
      tags: detail.tags ?? [],
      requesterId: detail.requester_id,
      organizationId: detail.organization_id,
      createdAt: isoOrNull(detail.created_at),
      updatedAt: isoOrNull(detail.updated_at),
      brandId: detail.brand_id,
    },
  };
}

type Parts = Pick<Draft, 'objectId' | 'refs' | 'refused' | 'data'> & { updatedAt: string | null | undefined };
type DetailResult = { ok: true; parts: Parts } | { ok: false; error: z.ZodError };

function parseDetail(domain: string, action: string, detail: unknown, event: unknown): DetailResult {
  if (domain === 'organization') {
    const d = OrganizationDetail.safeParse(detail);
    return d.success
      ? { ok: true, parts: { ...organizationDraft(d.data), updatedAt: d.data.updated_at } }
      : { ok: false, error: d.error };
  }
  if (domain === 'user') {
    const d = UserDetail.safeParse(detail);
    return d.success
      ? { ok: true, parts: { ...userDraft(d.data, action, event), updatedAt: d.data.updated_at } }
      : { ok: false, error: d.error };
  }
  const d = TicketDetail.safeParse(detail);
  return d.success
    ? { ok: true, parts: { ...ticketDraft(d.data), updatedAt: d.data.updated_at } }
    : { ok: false, error: d.error };
}

function parseEnvelope(body: Record<string, unknown>, type: string): ParseResult {
  const eventId = typeof body.id === 'string' && body.id !== '' ? { eventId: body.id } : {};
  const name = type.slice(EVENT_PREFIX.length);
  const dot = name.indexOf('.');
  const domain = dot < 0 ? name : name.slice(0, dot);
  const action = dot < 0 ? '' : name.slice(dot + 1);
  const known =
    (domain === 'organization' && ORGANIZATION_EVENTS.has(action)) ||
    (domain === 'user' && USER_EVENTS.has(action)) ||
    (domain === 'ticket' && TICKET_EVENTS.has(action));
  if (!known) return { kind: 'ignored', reason: `unhandled Zendesk event type ${type}`, ...eventId };

  const envelope = Envelope.safeParse(body);
  if (!envelope.success) return { kind: 'invalid', reason: describeZodError(envelope.error), ...eventId };
  const env = envelope.data;
  const detail = parseDetail(domain, action, env.detail, env.event);
  if (!detail.ok) return { kind: 'invalid', reason: `detail: ${describeZodError(detail.error)}`, eventId: env.id };

  // The object's own updated_at orders changes; the envelope time is a fallback only.
  const { updatedAt, ...parts } = detail.parts;
  const version = updatedAt ? isoToMs(updatedAt) : isoToMs(env.time);
  if (version === null)
    return { kind: 'invalid', reason: 'no ISO-8601 detail.updated_at or time to version by', eventId: env.id };

  // A user whose active flag goes false has been soft deleted (user events docs).
  const deactivated =
    domain === 'user' && action === 'active_changed' && isRecord(env.event) && env.event.current === false;
  const deleted = DELETING_EVENTS.has(`${domain}.${action}`) || deactivated;
  return finish({ eventId: env.id, type, version, deleted, ...parts });
}

function parseTrigger(body: Record<string, unknown>, meta: TriggerMeta): ParseResult {
  const parsed = TriggerBody.safeParse(body);
  if (!parsed.success) return { kind: 'invalid', reason: `trigger body: ${describeZodError(parsed.error)}` };
  const t = parsed.data.ticket;
  // A delivery is named by what its signature covers: the signed timestamp and the body. Zendesk's
  // X-Zendesk-Webhook-Invocation-Id is not signed, so whoever replays a signed body could pick it, and
  // mark a later genuine delivery as already seen. Without a timestamp (an old quarantine entry) the
  // content alone names it: a retry renders the same body, a later change a different one.
  const signed = meta.signedAt === undefined ? '' : `${meta.signedAt}\n`;
  const digest = createHash('sha256').update(signed).update(JSON.stringify(parsed.data)).digest('hex').slice(0, 16);
  const eventId = `ticket-${t.id}-${digest}`;
  const version = isoToMs(t.updated_at);
  if (version === null) return { kind: 'invalid', reason: 'trigger body: ticket.updated_at is not ISO-8601', eventId };

  const status = normalizeStatus(t.status);
  return finish({
    eventId,
    type: ZENDESK_TRIGGER_EVENT_TYPE,
    objectId: t.id,
    version,
    // {{ticket.updated_at_with_timestamp}} has minute resolution.
    versionPrecisionMs: 60_000,
    deleted: status === 'deleted',
    ...screenRefs({
      zendeskOrganizationId: t.organization_id,
      zendeskUserId: t.requester_id,
      email: t.requester_email,
      [ZENDESK_ORGANIZATION_EXTERNAL_ID_REF]: t.organization_id ? t.organization_external_id : null,
    }),
    data: {
      kind: 'zendesk.ticket',
      id: t.id,
      subject: t.subject,
      description: null,
      status,
      priority: normalizePriority(t.priority),
      formId: t.form_id,
      tags: t.tags ? t.tags.split(/\s+/).filter(Boolean) : [],
      requesterId: t.requester_id,
      organizationId: t.organization_id,
      createdAt: isoOrNull(t.created_at),
      updatedAt: isoOrNull(t.updated_at),
      brandId: t.brand_id,
    },
  });
}

/** One verified Zendesk webhook body → what to do with it. Never throws. */
/** What the receiver verified besides the body: the signed `X-Zendesk-Webhook-Signature-Timestamp`. */
export interface TriggerMeta {
  signedAt?: string;
}

export function parseZendeskWebhook(body: unknown, meta: TriggerMeta): ParseResult {
  if (!isRecord(body)) return { kind: 'invalid', reason: 'body is not a JSON object' };
  if ('portal_sync' in body) return parseTrigger(body, meta);
  if (typeof body.type === 'string' && body.type.startsWith(EVENT_PREFIX)) return parseEnvelope(body, body.type);
  return { kind: 'invalid', reason: 'neither a zen:event-type envelope nor the portal-sync ticket trigger body' };
}
