/**
 * What the events worker tells the tracker after each stored event: portal
 * activity files into its contact's session, a Zendesk ticket counts as
 * opened (once per ticket id) and escalates the customer's sessions it falls
 * in, and a merge moves the merged records' open sessions along.
 *
 * It runs after EVERY apply, not only after a change: an older activity
 * changes nothing on the record (the record keeps the newest), yet it is
 * still part of a session. The tracker makes repeats harmless.
 */
import type { EventDataOf, SourceEvent, TicketCategory } from '../events/source-event.js';
import type { ApplyOutcome } from '../events/store.js';
import { isTicketCategory, type TicketClassifier } from '../events/ticket-categories.js';
import { besideField, contactIdentityKey, contactOf } from './contact.js';
import type { TrackedActivity } from './session.js';
import type { DeflectionTracker } from './tracker.js';
import type { ActivitySummary } from './types.js';

type PortalActivity = EventDataOf<'portal.activity'>;

export interface DeflectionFeedOptions {
  tracker: DeflectionTracker;
  classifier: TicketClassifier;
  /** What viewing a thing says about the topic, from config: invoice views → billing, … */
  activityCategories: Partial<Record<PortalActivity['activity'], TicketCategory>>;
  /**
   * The record store's note of merges whose sessions have not been moved yet (RecordStore.unmoved/moved): a job
   * that stored a merge and failed before moving them finds nothing to merge on its retry.
   */
  merges?: { unmoved(id: string): Promise<string[]>; moved(id: string, mergedIds: readonly string[]): Promise<void> };
  /** The people kept beside the records (RecordStore.peopleBeside): an activity naming one of them by platform id only is filed under their email too. */
  people?: { peopleBeside(id: string, fields: readonly string[]): Promise<Map<string, string | null>> };
}

export type DeflectionFeed = (
  event: SourceEvent,
  outcome: Pick<ApplyOutcome, 'recordId' | 'record' | 'mergedIds'>,
  ctx?: { retry: boolean },
) => Promise<void>;

const textOf = (v: unknown): string | null =>
  typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' ? String(v) : null;

/**
 * The topic an activity points to: a category the portal declares, the configured one for its
 * type, the ticket form the customer opened, or the words they typed or read.
 */
export function activityHint(
  d: PortalActivity,
  opts: Pick<DeflectionFeedOptions, 'classifier' | 'activityCategories'>,
): TicketCategory | null {
  const declared = d.properties['category'];
  if (isTicketCategory(declared)) return declared;
  const configured = opts.activityCategories[d.activity];
  if (configured) return configured;
  const formId = textOf(d.properties['form_id'] ?? d.properties['ticket_form_id']);
  const byForm = formId !== null ? opts.classifier.form(formId) : null;
  if (byForm) return byForm;
  const words = [d.query, textOf(d.properties['title'])].filter((s): s is string => !!s).join('\n');
  return words !== '' ? opts.classifier.text(words) : null;
}

export function activitySummary(event: SourceEvent & { data: PortalActivity }): ActivitySummary {
  const d = event.data;
  return {
    type: d.activity,
    at: new Date(event.version).toISOString(),
    query: d.query,
    resultCount: d.resultCount,
    articleId: d.articleId,
    invoiceId: d.invoiceId,
    ticketId: d.ticketId,
  };
}

const isActivity = (e: SourceEvent): e is SourceEvent & { data: PortalActivity } => e.data.kind === 'portal.activity';

export function createDeflectionFeed(opts: DeflectionFeedOptions): DeflectionFeed {
  const { tracker } = opts;
  return async (event, outcome, ctx = { retry: false }) => {
    const customerId = outcome.recordId;
    const noted = ctx.retry || outcome.mergedIds.length > 0 ? ((await opts.merges?.unmoved(customerId)) ?? []) : [];
    const merged = [...new Set([...outcome.mergedIds, ...noted])];
    if (merged.length > 0) {
      await tracker.onMerged(customerId, merged);
      await opts.merges?.moved(customerId, merged);
    }
    if (isActivity(event)) {
      let contact = contactOf(event.refs, outcome.record);
      const field = besideField(event.refs);
      // Not among the record's contacts by that id: the person may be kept beside the record (one HGET).
      if (field !== null && opts.people && contact !== null && contactIdentityKey(contact) === field) {
        contact = contactOf(
          event.refs,
          outcome.record,
          (await opts.people.peopleBeside(customerId, [field])).get(field) ?? null,
        );
      }
      if (contact === null) return;
      const d = event.data;
      const activity: TrackedActivity = {
        eventId: event.eventId,
        atMs: event.version,
        summary: activitySummary(event),
        hint: activityHint(d, opts),
        ...(d.brandId ? { brandId: d.brandId } : {}),
      };
      const noResult = d.activity === 'search' && d.resultCount === 0 && d.query !== null && d.query.trim() !== '';
      await tracker.onActivity({ customerId, contact, activity, noResultQuery: noResult ? d.query : null });
      return;
    }
    const t = event.data;
    // Only a ticket that says when it was opened can fall inside a window; a deletion (spam, say) opens nothing.
    if (t.kind === 'zendesk.ticket' && !event.deleted && t.createdAt !== null) {
      // A webhook whose version is coarse (the ticket trigger's placeholders go to the minute) has coarse times too.
      const slack =
        event.origin === 'webhook' && event.versionPrecisionMs !== undefined
          ? { slackMs: event.versionPrecisionMs - 1 }
          : {};
      const brand = t.brandId ? { brandId: t.brandId } : {};
      await tracker.onTicket({
        customerId,
        ticketId: t.id,
        category: t.category ?? opts.classifier.ticket(t),
        createdAt: Date.parse(t.createdAt),
        ...brand,
        ...slack,
      });
    }
  };
}
