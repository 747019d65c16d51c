/**
 * The property behind "no false drift": after any history of a ticket delivered in full by webhook —
 * through Zendesk's event webhooks (second resolution) or the ticket trigger (minute resolution), in any
 * order, any number of times, ties settled by a refetch as the worker does — the reconciler's snapshot of
 * the ticket as it is now finds no drift.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseZendeskWebhook } from '../../../src/connectors/zendesk/events.js';
import { zendeskSnapshotEvent } from '../../../src/connectors/zendesk/fetch.js';
import { applyEvent } from '../../../src/sync/events/merge.js';
import { snapshotDrifts } from '../../../src/sync/resync/reconcile.js';
import { emptyRecord, type CustomerRecord } from '../../../src/sync/events/record.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';

const T0 = Date.parse('2026-03-04T09:00:00Z');
const STATUSES = ['new', 'open', 'pending', 'hold', 'solved'] as const;
const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

interface State {
  status: (typeof STATUSES)[number];
  priority: (typeof PRIORITIES)[number];
  subject: string;
  at: number;
}

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const isoMinute = (ms: number) => new Date(ms).toISOString().slice(0, 16) + 'Z';

function only(r: ReturnType<typeof parseZendeskWebhook>): SourceEvent {
  if (r.kind !== 'events') throw new Error(`${r.kind}: ${'reason' in r ? r.reason : ''}`);
  return r.events[0]!;
}

/** The event webhook Zendesk sends for the ticket in state `s` (the n-th delivery). */
function eventWebhook(s: State, n: number): SourceEvent {
  return only(
    parseZendeskWebhook(
      {
        type: 'zen:event-type:ticket.status_changed',
        account_id: 1,
        id: `ev-${s.at}-${n}`,
        time: isoSeconds(s.at),
        zendesk_event_version: '2022-11-06',
        subject: 'zen:ticket:5302',
        detail: {
          id: '5302',
          subject: s.subject,
          status: s.status.toUpperCase(),
          priority: s.priority.toUpperCase(),
          tags: [],
          requester_id: '8000000000201',
          organization_id: '7000000000101',
          form_id: null,
          created_at: isoSeconds(T0),
          updated_at: isoSeconds(s.at),
          type: null,
          is_public: true,
        },
        event: { current: s.status.toUpperCase(), previous: 'OPEN' },
      },
      {},
    ),
  );
}

/** The portal-sync ticket trigger's body for the ticket in state `s` (minute-resolution times). */
function triggerWebhook(s: State, n: number): SourceEvent {
  return only(
    parseZendeskWebhook(
      {
        portal_sync: 'ticket.v1',
        ticket: {
          id: '5302',
          subject: s.subject,
          status: s.status[0]!.toUpperCase() + s.status.slice(1),
          priority: s.priority[0]!.toUpperCase() + s.priority.slice(1),
          form_id: '',
          tags: '',
          requester_id: '8000000000201',
          requester_email: 'jane.doe@example.com',
          organization_id: '7000000000101',
          organization_external_id: '',
          created_at: isoMinute(T0),
          updated_at: isoMinute(s.at),
        },
      },
      { signedAt: `${isoSeconds(s.at)}#${n}` },
    ),
  );
}

/** The ticket as the API (export, refetch) returns it in state `s`. */
function snapshot(s: State, rank = ''): SourceEvent {
  const api = {
    id: 5302,
    subject: s.subject,
    description: 'x',
    status: s.status,
    priority: s.priority,
    ticket_form_id: null,
    tags: [],
    requester_id: 8000000000201,
    submitter_id: 8000000000201,
    assignee_id: null,
    organization_id: 7000000000101,
    group_id: null,
    brand_id: null,
    type: null,
    external_id: null,
    is_public: true,
    via: { channel: 'web' },
    created_at: isoSeconds(T0),
    updated_at: isoSeconds(s.at),
  };
  return zendeskSnapshotEvent('zendesk.ticket', api, {
    eventId: `snap-${s.at}${rank}`,
    type: 'snapshot:zendesk.ticket',
    version: s.at,
    versionPrecisionMs: 60_000,
  });
}

const historyArb = fc
  .array(
    fc.record({
      status: fc.constantFrom(...STATUSES),
      priority: fc.constantFrom(...PRIORITIES),
      subject: fc.constantFrom('Seats', 'Invoice copy', 'Locked out'),
      gapSeconds: fc.integer({ min: 1, max: 150 }),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map((steps) => {
    let at = T0;
    return steps.map(({ gapSeconds, ...rest }): State => ({ ...rest, at: (at += gapSeconds * 1000) }));
  });

describe('reconcile after a history delivered in full', () => {
  it('any ticket history, through either Zendesk channel, in any order and duplication, leaves no drift for the snapshot of now', () => {
    fc.assert(
      fc.property(
        historyArb.chain((history) =>
          fc.tuple(
            fc.constant(history),
            // Every state delivered at least once, by one channel or the other, some twice.
            fc
              .shuffledSubarray(
                history.flatMap(
                  (s, i) =>
                    [
                      [i, 'event', 0],
                      [i, 'trigger', 0],
                      [i, 'event', 1],
                      [i, 'trigger', 1],
                    ] as const,
                ),
              )
              .chain((extra) => fc.constant(extra)),
            fc.array(fc.constantFrom('event' as const, 'trigger' as const), {
              minLength: history.length,
              maxLength: history.length,
            }),
            fc.infiniteStream(fc.integer()),
          ),
        ),
        ([history, extra, channels, noise]) => {
          const deliveries: SourceEvent[] = history.map((s, i) =>
            channels[i] === 'event' ? eventWebhook(s, 9) : triggerWebhook(s, 9),
          );
          for (const [i, channel, n] of extra)
            deliveries.push(channel === 'event' ? eventWebhook(history[i]!, n) : triggerWebhook(history[i]!, n));
          const order = deliveries
            .map((d) => ({ d, k: noise.next().value }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.d);
          const now = history.at(-1)!;
          let record: CustomerRecord = emptyRecord('cust_prop');
          for (const event of order) {
            const r = applyEvent(record, event);
            record = r.record;
            // A tie is settled as the worker settles it: the object read back now (fetchZendeskObject), applied at rank 1
            // at the tied version or the object's own updated_at, whichever is later.
            if (r.tie)
              record = applyEvent(
                record,
                { ...snapshot(now, '-refetch'), version: Math.max(r.tie.version, now.at) },
                { rank: 1 },
              ).record;
          }
          expect(snapshotDrifts(record, snapshot(now))).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});
