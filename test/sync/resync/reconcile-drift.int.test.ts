/**
 * Drift is what webhooks missed, not what a snapshot says more precisely: a ticket delivered by the
 * trigger (minute-resolution updated_at) and read back by the reconciler within that minute is no drift;
 * a change the webhook never brought is. A pass that cannot reach a source says why.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { zendeskSnapshotEvent } from '../../../src/connectors/zendesk/fetch.js';
import { parseZendeskWebhook } from '../../../src/connectors/zendesk/events.js';
import { createLogger } from '../../../src/log.js';
import { Ingestor } from '../../../src/sync/events/ingest.js';
import type { EventsQueue } from '../../../src/sync/events/queue.js';
import { describeSourceFailure, Reconciler } from '../../../src/sync/resync/reconcile.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { fixtureJson } from '../../support/http.js';
import { eventsUnderPrefix } from '../../support/store.js';

let redis: Redis;
let queue: EventsQueue;
let store: RecordStore;
const prefix = eventsUnderPrefix((open) => ({ redis, queue, store } = open));

/** The ticket as GET /api/v2/tickets (the incremental export) returns it, updated at `updatedAt` with `status`, on the brand the trigger named (every Zendesk ticket has one). */
function apiTicket(updatedAt: string, status: string) {
  return {
    id: 5302,
    subject: 'Upgrade to the "Team" plan',
    description: 'x',
    status,
    priority: 'normal',
    ticket_form_id: 360000000501,
    tags: ['billing', 'upgrade', 'plan_team'],
    requester_id: 8000000000201,
    submitter_id: 8000000000201,
    assignee_id: null,
    organization_id: 7000000000101,
    group_id: null,
    brand_id: 360000000002,
    type: null,
    external_id: null,
    is_public: true,
    via: { channel: 'web' },
    created_at: '2026-03-04T09:30:12Z',
    updated_at: updatedAt,
  };
}

/** A reconciler whose only stream, Zendesk's tickets, answers its one page with `page()`. */
function reconcilerOver(page: () => Promise<{ events: SourceEvent[]; read: number; next: null; rejected: [] }>) {
  return new Reconciler({
    redis,
    prefix,
    store,
    queue,
    ingestor: new Ingestor({
      redis,
      queue,
      prefix,
      dedupeTtlSeconds: 60,
      quarantineLimits: { maxEntries: 10, maxBytes: 1_048_576 },
      timeoutMs: 5000,
    }),
    streams: { zendesk: async () => [{ name: 'zendesk.tickets', source: 'zendesk', page }] },
    settings: { overlapMs: 1000, firstLookbackMs: 60_000 },
    logger: createLogger('silent'),
  });
}

function passOver(snapshot: SourceEvent): Promise<number> {
  return reconcilerOver(async () => ({ events: [snapshot], read: 1, next: null, rejected: [] }))
    .pass()
    .then((r) => r.drift);
}

describe('a reconcile pass that cannot reach a source', () => {
  it("says why, with the network error under undici's bare 'fetch failed'", async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4011'), { code: 'ECONNREFUSED' });
    const report = await reconcilerOver(async () => {
      throw new TypeError('fetch failed', { cause: refused });
    }).pass();

    expect(report.sources.zendesk?.error).toBe('fetch failed: connect ECONNREFUSED 127.0.0.1:4011');
    expect(describeSourceFailure('zendesk', report.sources.zendesk!)).toBe(
      'zendesk: FAILED fetch failed: connect ECONNREFUSED 127.0.0.1:4011',
    );
  });
});

describe('reconcile drift for a ticket the trigger delivered', () => {
  it("a snapshot within the trigger's minute that shows what the webhook showed is no drift; a status the webhook never brought is", async () => {
    const trigger = parseZendeskWebhook(fixtureJson('zendesk/trigger.ticket.json'), {
      signedAt: '2026-03-04T09:41:40Z',
    });
    if (trigger.kind !== 'events') throw new Error(trigger.kind);
    await store.apply(trigger.events[0]!);
    const snap = (updatedAt: string, status: string) =>
      zendeskSnapshotEvent('zendesk.ticket', apiTicket(updatedAt, status), {
        eventId: `snap-${updatedAt}-${status}`,
        type: 'snapshot:zendesk.ticket',
        version: Date.parse(updatedAt),
        versionPrecisionMs: 60_000,
      });
    expect(await passOver(snap('2026-03-04T09:41:37Z', 'open'))).toBe(0);
    expect(await passOver(snap('2026-03-04T09:47:02Z', 'pending'))).toBe(1);
  });
});
