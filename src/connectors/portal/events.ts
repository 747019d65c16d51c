/**
 * Customer-portal activity → SourceEvent. Pure; the HMAC check happens
 * before this runs (src/webhooks/portal.ts).
 *
 * Wire format of `POST /events/portal` (JSON):
 *
 *   { "events": [ <event>, … ] }     at most 100 events per request,
 *   or a single <event> on its own, without the wrapper.
 *
 *   <event> = {
 *     "id":            string, 1–200 characters, unique per event (used to drop duplicates)
 *     "type":          "session_start" | "search" | "article_view" | "invoice_view" | "invoice_download"
 *                      | "ticket_status_view" | "account_update" | "ticket_form_opened" | "case_deflection"
 *     "occurred_at":   ISO 8601 date-time with seconds and a zone, e.g. "2026-11-23T10:15:00Z" or "…+01:00"
 *     "contact":       { "email"?: string, "zendesk_user_id"?: string | number, "salesforce_contact_id"?: string }
 *                      at least one of the three
 *     "session_id"?:   string
 *     "query"?:        string            (search)
 *     "result_count"?: integer ≥ 0       (search)
 *     "article_id"?:   string
 *     "invoice_id"?:   string
 *     "ticket_id"?:    string | number
 *     "brand_id"?:     Zendesk brand id (a positive integer, or its digits as a string): the brand whose
 *                      Help Center the activity happened on (browser events: the brand of the page's
 *                      host when zendesk.brands lists that host)
 *     "properties"?:   { [name]: string | number | boolean | null }   flat, at most 50 entries
 *   }
 *
 * Optional fields may be left out or sent as null. Other fields are rejected,
 * so a misspelt one is noticed: extra data goes in "properties". Each event
 * is judged on its own; one bad event does not sink the rest of its batch.
 */
import { z } from 'zod';
import { screenRefs, withRefused } from '../../sync/events/ids.js';
import {
  BrandIdSchema,
  PORTAL_ACTIVITY_TYPES,
  SourceEventSchema,
  describeZodError,
  normalizeEmail,
} from '../../sync/events/source-event.js';
import type { ParseResult } from '../../sync/events/source-event.js';

const MAX_PORTAL_EVENTS_PER_REQUEST = 100;
const MAX_PROPERTIES = 50;

const text = z.string().min(1);
const numericId = z.number().int().nonnegative().transform(String);

const contactSchema = z
  .strictObject({
    email: z
      .string()
      .refine((e) => normalizeEmail(e) !== undefined, { error: 'not an email address' })
      .nullish(),
    zendesk_user_id: z.union([text, numericId]).nullish(),
    salesforce_contact_id: text.nullish(),
  })
  .refine((c) => Boolean(c.email ?? c.zendesk_user_id ?? c.salesforce_contact_id), {
    error: 'needs at least one of email, zendesk_user_id, salesforce_contact_id',
  });

const portalEventSchema = z.strictObject({
  id: z.string().min(1).max(200),
  type: z.enum(PORTAL_ACTIVITY_TYPES),
  // The version must not be negative, and no portal event happened before 1970.
  occurred_at: z.iso.datetime({ offset: true }).refine((s) => Date.parse(s) >= 0, { error: 'must not be before 1970' }),
  contact: contactSchema,
  session_id: text.nullish(),
  query: z.string().nullish(),
  result_count: z.number().int().nonnegative().nullish(),
  article_id: text.nullish(),
  invoice_id: text.nullish(),
  ticket_id: z.union([text, numericId]).nullish(),
  brand_id: z
    .union([BrandIdSchema, z.number().int().positive().max(Number.MAX_SAFE_INTEGER).transform(String)])
    .nullish(),
  properties: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
    .refine((p) => Object.keys(p).length <= MAX_PROPERTIES, { error: `at most ${MAX_PROPERTIES} properties` })
    .nullish(),
});
type PortalEvent = z.infer<typeof portalEventSchema>;

/** The contact's ids, each checked by its system's shape (ids.ts); they attribute the event, they never link (identity.ts). */
function refsOf(contact: PortalEvent['contact']) {
  return screenRefs({
    email: contact.email,
    zendeskUserId: contact.zendesk_user_id,
    salesforceContactId: contact.salesforce_contact_id,
  });
}

/** An id to file a rejected event under, when the event has a usable one. */
function readableId(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || !Object.hasOwn(raw, 'id')) return undefined;
  const id: unknown = (raw as { id: unknown }).id;
  return typeof id === 'string' && id.length > 0 && id.length <= 200 ? id : undefined;
}

function parseOne(raw: unknown): ParseResult {
  const parsed = portalEventSchema.safeParse(raw);
  if (!parsed.success) return { kind: 'invalid', reason: describeZodError(parsed.error), eventId: readableId(raw) };
  const e = parsed.data;
  // Checked against the queue's own schema too: an occurred_at before 1970, say, passes the
  // ISO format but not the version rule, and is better quarantined here than retried by a worker.
  const { refs, refused } = refsOf(e.contact);
  const checked = SourceEventSchema.safeParse(
    withRefused(
      {
        v: 1,
        source: 'portal',
        eventId: e.id,
        type: e.type,
        objectId: e.session_id ?? e.id,
        version: Date.parse(e.occurred_at),
        origin: 'webhook',
        deleted: false,
        refs,
        data: {
          kind: 'portal.activity',
          activity: e.type,
          sessionId: e.session_id ?? null,
          query: e.query ?? null,
          resultCount: e.result_count ?? null,
          articleId: e.article_id ?? null,
          invoiceId: e.invoice_id ?? null,
          ticketId: e.ticket_id ?? null,
          ...(e.brand_id ? { brandId: e.brand_id } : {}),
          properties: e.properties ?? {},
        },
      },
      refused,
    ),
  );
  if (!checked.success) return { kind: 'invalid', reason: describeZodError(checked.error), eventId: e.id };
  return { kind: 'events', events: [checked.data] };
}

/**
 * One ParseResult per event in the request, in order. Never throws; a body
 * that is not an object, or holds too many events, is one `invalid` result.
 */
export function parsePortalEvents(body: unknown): ParseResult[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [{ kind: 'invalid', reason: 'body must be a JSON object: one event, or {"events": [...]}' }];
  }
  if (!Object.hasOwn(body, 'events')) return [parseOne(body)];
  const events: unknown = (body as { events: unknown }).events;
  if (!Array.isArray(events)) return [{ kind: 'invalid', reason: 'events: must be an array' }];
  if (events.length > MAX_PORTAL_EVENTS_PER_REQUEST) {
    return [
      {
        kind: 'invalid',
        reason: `events: ${events.length} events, at most ${MAX_PORTAL_EVENTS_PER_REQUEST} per request`,
      },
    ];
  }
  return events.map(parseOne);
}
