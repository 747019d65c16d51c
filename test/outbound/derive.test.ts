/**
 * Which events a change makes, derived in pure code from what subscribers
 * were told before and the record now: the events a user of the webhooks
 * would notice, and ids that stay the same however often one change is
 * derived.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deadLetteredEvent,
  deflectionRecordedEvent,
  deriveChangeEvents,
  outboundEventId,
  viewHash,
  viewOf,
  type OutboundView,
} from '../../src/sync/outbound/derive.js';
import { retryDelayMs } from '../../src/sync/outbound/queue.js';
import { patternMatches, subscriptionWants, type OutboundEvent } from '../../src/sync/outbound/types.js';
import type { IdentityConflict } from '../../src/sync/events/identity.js';
import { customer, invoice, replay, subscription, ticket } from '../sync/events/merge-events.js';

const NOW = new Date('2026-11-23T10:00:00Z');
const ID = 'cust_1';
const derive = (
  before: OutboundView | null,
  after: OutboundView,
  version = 2,
  extra: { mergedIds?: string[]; conflicts?: IdentityConflict[] } = {},
) =>
  deriveChangeEvents({
    customerId: ID,
    version,
    before,
    after,
    mergedIds: extra.mergedIds ?? [],
    conflicts: extra.conflicts ?? [],
    now: NOW,
  });
const types = (events: OutboundEvent[]) => events.map((e) => e.type);
const hosted = { hostedInvoiceUrl: 'https://invoice.stripe.com/i/x', invoicePdf: 'https://pay.stripe.com/x/pdf' };

const base = [customer({ version: 1_000 }), subscription('sub_1', 'active', { version: 1_000 })];
const v0 = viewOf(replay(base, ID));

describe('customer events', () => {
  it('a customer subscribers never heard of is created, with what is known of it', () => {
    const events = derive(null, v0, 1);
    expect(types(events)).toEqual(['customer.created', 'billing.status_changed']);
    expect(events[0]).toMatchObject({
      type: 'customer.created',
      timestamp: NOW.toISOString(),
      data: { customer: { id: ID, version: 1 }, projection: { billing: { status: 'active' } } },
    });
    expect(events[1]?.data).toMatchObject({ from: { status: null }, to: { status: 'active' } });
  });

  it('nothing is sent when nothing subscribers see changed', () => {
    const sameButNewer = viewOf(replay([...base, customer({ version: 2_000 })], ID));
    expect(viewHash(sameButNewer)).toBe(viewHash(v0));
    expect(derive(v0, sameButNewer)).toEqual([]);
  });

  it('a subscription falling past due: billing.status_changed and customer.updated with the billing group, before and after', () => {
    const after = viewOf(replay([...base, subscription('sub_1', 'past_due', { version: 2_000 })], ID));
    const events = derive(v0, after);
    expect(types(events)).toEqual(['customer.updated', 'billing.status_changed']);
    expect(events[0]?.data).toMatchObject({
      changed: ['billing'],
      before: { billing: { status: 'active' } },
      after: { billing: { status: 'past_due' } },
    });
    expect(events[1]?.data).toMatchObject({
      from: { status: 'active', delinquent: false },
      to: { status: 'past_due' },
    });
  });

  it('merges and identity conflicts are told once, whatever version they come with', () => {
    const conflict: IdentityConflict = {
      id: 'a|b|sfacct:1|sfacct:2',
      recordIds: [ID, 'cust_2'],
      system: 'sfacct',
      keys: ['sfacct:1', 'sfacct:2'],
      evidence: { source: 'stripe', eventId: 'evt_1', type: 'customer.updated', via: 'email:x@y.z' },
    };
    const first = derive(v0, v0, 2, { mergedIds: ['cust_9', 'cust_3'], conflicts: [conflict] });
    const again = derive(v0, v0, 7, { mergedIds: ['cust_3', 'cust_9'], conflicts: [conflict] });
    expect(types(first)).toEqual(['customer.merged', 'customer.identity_conflict']);
    expect(first.map((e) => e.id)).toEqual(again.map((e) => e.id));
    expect(first[0]?.data.mergedIds).toEqual(['cust_3', 'cust_9']);
    expect(first[1]?.data).toEqual(
      expect.objectContaining({
        otherCustomerId: 'cust_2',
        system: 'sfacct',
        evidence: { source: 'stripe', eventId: 'evt_1', type: 'customer.updated' },
      }),
    );
    expect(JSON.stringify(first[1])).not.toContain('x@y.z');
  });
});

describe('invoice.available', () => {
  it('waits for a hosted page or PDF, then says new (with the status before), then changed', () => {
    const draft = viewOf(replay([...base, invoice('in_1', 'draft', { version: 2_000 })], ID));
    expect(types(derive(v0, draft))).toEqual(['customer.updated']);
    const open = viewOf(replay([...base, invoice('in_1', 'open', { version: 3_000 }, hosted)], ID));
    const opened = derive(draft, open, 3).find((e) => e.type === 'invoice.available');
    expect(opened?.data).toMatchObject({
      change: 'new',
      previousStatus: 'draft',
      invoice: { id: 'in_1', status: 'open', ...hosted },
    });
    const paid = viewOf(replay([...base, invoice('in_1', 'paid', { version: 4_000 }, hosted)], ID));
    const changed = derive(open, paid, 4).filter((e) => e.type === 'invoice.available');
    expect(changed).toHaveLength(1);
    expect(changed[0]?.data).toMatchObject({ change: 'changed', previousStatus: 'open', invoice: { status: 'paid' } });
    expect(derive(paid, paid, 5)).toEqual([]);
  });
});

describe('ticket.status_changed', () => {
  it('says when a ticket appears, changes status, and goes', () => {
    const opened = viewOf(replay([ticket('501', 'new', { version: 1_000 })], ID));
    const solved = viewOf(replay([ticket('501', 'solved', { version: 2_000 })], ID));
    const gone = viewOf(replay([ticket('501', 'solved', { version: 3_000, deleted: true })], ID));
    expect(derive(null, opened, 1).find((e) => e.type === 'ticket.status_changed')?.data).toMatchObject({
      from: null,
      to: 'new',
      deleted: false,
      ticket: { id: '501' },
    });
    expect(
      derive(opened, solved)
        .filter((e) => e.type === 'ticket.status_changed')
        .map((e) => [e.data.from, e.data.to]),
    ).toEqual([['new', 'solved']]);
    expect(derive(solved, gone, 3).find((e) => e.type === 'ticket.status_changed')?.data).toMatchObject({
      from: 'solved',
      to: null,
      deleted: true,
    });
  });
});

describe('event ids', () => {
  it('are the same for the same change derived twice, and differ between versions, types and subjects', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 1e6 }), (a, b) => {
        const after = viewOf(
          replay(
            [
              ...base,
              subscription('sub_1', 'past_due', { version: 2_000 }),
              invoice('in_1', 'open', { version: 2_000 }, hosted),
            ],
            ID,
          ),
        );
        const x = deriveChangeEvents({
          customerId: ID,
          version: a,
          before: v0,
          after,
          mergedIds: [],
          conflicts: [],
          now: NOW,
        });
        const y = deriveChangeEvents({
          customerId: ID,
          version: a,
          before: v0,
          after,
          mergedIds: [],
          conflicts: [],
          now: new Date(NOW.getTime() + 5_000),
        });
        const z = deriveChangeEvents({
          customerId: ID,
          version: b,
          before: v0,
          after,
          mergedIds: [],
          conflicts: [],
          now: NOW,
        });
        expect(x.map((e) => e.id)).toEqual(y.map((e) => e.id));
        expect(new Set(x.map((e) => e.id)).size).toBe(x.length);
        if (a !== b) expect(x.some((e) => z.some((f) => f.id === e.id))).toBe(false);
      }),
    );
    expect(outboundEventId('c', 1, 'customer.updated', '')).toMatch(/^evt_[0-9a-f]{32}$/);
  });

  it('of deflection and dead-letter events come from what they are about', () => {
    const ref = {
      id: ID,
      version: 3,
      links: { stripeCustomerId: null, salesforceAccountId: null, zendeskOrganizationId: null },
    };
    const deflection = {
      id: 'defl-s1',
      customerId: ID,
      sessionId: 's1',
      contact: 'a@b.c',
      outcome: 'deflected' as const,
      category: 'billing' as const,
      sessionStartedAt: NOW.toISOString(),
      decidedAt: NOW.toISOString(),
      lastActivity: null,
    };
    expect(deflectionRecordedEvent(deflection, ref, NOW).id).toBe(
      deflectionRecordedEvent(deflection, ref, new Date(0)).id,
    );
    const facts = {
      queue: 'push-zendesk',
      jobId: '42',
      reason: 'zendesk refused the push: 422',
      attempts: 1,
      failedAt: 1_000,
    };
    expect(deadLetteredEvent(facts, null, NOW).id).toBe(deadLetteredEvent(facts, null, new Date(0)).id);
    expect(deadLetteredEvent({ ...facts, failedAt: 2_000 }, null, NOW).id).not.toBe(
      deadLetteredEvent(facts, null, NOW).id,
    );
    expect(deadLetteredEvent(facts, null, NOW).data).toEqual({
      customer: null,
      queue: 'push-zendesk',
      jobId: '42',
      reason: 'zendesk refused the push: 422',
      attempts: 1,
      failedAt: new Date(1_000).toISOString(),
    });
  });
});

describe('subscriptions', () => {
  const event = (type: OutboundEvent['type'], salesforceAccountId: string | null): OutboundEvent => ({
    id: 'evt_1',
    type,
    timestamp: NOW.toISOString(),
    data: {
      customer: {
        id: ID,
        version: 1,
        links: { stripeCustomerId: 'cus_1', salesforceAccountId, zendeskOrganizationId: null },
      },
    },
  });
  it('take the types they name, a family with .*, or everything with *', () => {
    expect(patternMatches('*', 'invoice.available')).toBe(true);
    expect(patternMatches('customer.*', 'customer.merged')).toBe(true);
    expect(patternMatches('customer.*', 'invoice.available')).toBe(false);
    expect(patternMatches('invoice.available', 'invoice.available')).toBe(true);
  });
  it('with requires, take only customers that carry those links', () => {
    const sub = { events: ['invoice.available'], requires: ['salesforceAccountId' as const] };
    expect(subscriptionWants(sub, event('invoice.available', '001A'))).toBe(true);
    expect(subscriptionWants(sub, event('invoice.available', null))).toBe(false);
    expect(subscriptionWants(sub, event('customer.updated', '001A'))).toBe(false);
    expect(subscriptionWants(sub, { ...event('sync.dead_lettered', null), data: { customer: null } })).toBe(false);
    expect(
      subscriptionWants({ events: ['*'] }, { ...event('sync.dead_lettered', null), data: { customer: null } }),
    ).toBe(true);
  });
});

describe('retry delays', () => {
  const settings = { backoffMs: 1_000, maxBackoffMs: 3_600_000 };
  it('double with every failure, with jitter between half and all, up to the cap', () => {
    expect(retryDelayMs(1, settings, undefined, () => 1)).toBe(1_000);
    expect(retryDelayMs(4, settings, undefined, () => 1)).toBe(8_000);
    expect(retryDelayMs(4, settings, undefined, () => 0)).toBe(4_000);
    expect(retryDelayMs(40, settings, undefined, () => 1)).toBe(3_600_000);
  });
  it("honour the subscriber's Retry-After instead", () => {
    expect(retryDelayMs(1, settings, 120_000)).toBe(120_000);
    expect(retryDelayMs(9, settings, 5 * 86_400_000)).toBe(86_400_000);
  });
  it('add up to more than 24 hours before a subscription with the default settings would pause', () => {
    let total = 0;
    let n = 0;
    while (total < 86_400_000)
      total += retryDelayMs(++n, { backoffMs: 5_000, maxBackoffMs: 3_600_000 }, undefined, () => 0.5);
    expect(n).toBeGreaterThan(20); // the lane keeps trying until pauseAfterMs (24 h) has passed
  });
});
