/** The key table names every key where deployed data already is: a renamed key would strand it after an upgrade. */
import { describe, expect, it } from 'vitest';
import { QUEUE_NAMES, REDIS_KEYS } from '../../../src/sync/redis/keys.js';

describe('REDIS_KEYS', () => {
  const p = 'ps';

  it('keeps the queue names BullMQ stores jobs under', () => {
    expect([
      QUEUE_NAMES.events,
      QUEUE_NAMES.push('zendesk'),
      QUEUE_NAMES.push('salesforce'),
      QUEUE_NAMES.deflection,
      QUEUE_NAMES.outbound('crm'),
      QUEUE_NAMES.reconcile,
    ]).toEqual(['events', 'push-zendesk', 'push-salesforce', 'deflection', 'outbound-crm', 'reconcile']);
    expect(REDIS_KEYS.queue(p, 'events')).toBe('ps:events:');
    expect(REDIS_KEYS.push(p).dedup('zendesk', 'cust_1-zendesk')).toBe('ps:push-zendesk:de:cust_1-zendesk');
  });

  it('keeps the keys of records, gates, pushes, bulk, quarantine, health, reconcile, resync, view and forgotten customers', () => {
    expect(REDIS_KEYS.everything(p)).toBe('ps:*');
    expect(REDIS_KEYS.records(p)).toMatchObject({
      head: 'ps:rec:',
      customers: 'ps:customers',
      customersComplete: 'ps:customers:complete',
    });
    expect(REDIS_KEYS.records(p).record('cust_1')).toBe('ps:rec:cust_1');
    expect(REDIS_KEYS.callGate(p, 'zendesk')).toBe('ps:rate:zendesk');
    expect(REDIS_KEYS.push(p).recent('salesforce', 'cust_1')).toBe('ps:push-recent:salesforce:cust_1');
    expect(REDIS_KEYS.push(p).accepted('zendesk', 'cust_1')).toBe('ps:pushed:zendesk:cust_1');
    expect(REDIS_KEYS.push(p).progress('zendesk', 'cust_1')).toBe('ps:push-progress:zendesk:cust_1');
    expect(REDIS_KEYS.push(p).writer('salesforce', 'cust_1')).toBe('ps:push-writer:salesforce:cust_1');
    expect(REDIS_KEYS.push(p).down('salesforce')).toBe('ps:push-down:salesforce');
    expect(REDIS_KEYS.mappingFingerprint(p, 'zendesk')).toBe('ps:mapping-fingerprint:zendesk');
    const bulk = REDIS_KEYS.bulk(p, 'zendesk');
    expect([bulk.pending, bulk.claimed, bulk.byJob('j1')]).toEqual([
      'ps:bulk:zendesk:pending',
      'ps:bulk:zendesk:claimed',
      'ps:bulk:zendesk:by:j1',
    ]);
    expect(REDIS_KEYS.quarantine(p)).toEqual({
      legacyList: 'ps:quarantine',
      ids: 'ps:quarantine:ids',
      meta: 'ps:quarantine:meta',
      bodies: 'ps:quarantine:bodies',
      bytes: 'ps:quarantine:bytes',
      evicted: 'ps:quarantine:evicted',
    });
    expect(REDIS_KEYS.health(p)).toEqual({ workers: 'ps:health:workers', webhooks: 'ps:health:webhooks' });
    const rc = REDIS_KEYS.reconcile(p);
    expect([rc.last, rc.checkpoint('stripe'), rc.history]).toEqual([
      'ps:reconcile:last',
      'ps:reconcile:checkpoint:stripe',
      'ps:reconcile:history',
    ]);
    const rs = REDIS_KEYS.resync(p);
    expect([rs.run('r1'), rs.counts('r1'), rs.latest, rs.runs]).toEqual([
      'ps:resync:run:r1',
      'ps:resync:run:r1:counts',
      'ps:resync:latest',
      'ps:resync:runs',
    ]);
    expect(REDIS_KEYS.view(p).rate('u1', 60_000)).toBe('ps:view:rate:u1:60000');
    const f = REDIS_KEYS.forgotten(p);
    expect([f.salt, f.key('h'), f.group('g'), f.dropped, f.portal('g')]).toEqual([
      'ps:forgotten:salt',
      'ps:forgotten:key:h',
      'ps:forgotten:group:g',
      'ps:forgotten:dropped',
      'ps:forgotten:portal:g',
    ]);
  });

  it('keeps deflection under ps:defl and outbound webhooks under ps:outbound', () => {
    const d = REDIS_KEYS.deflection(p);
    expect([
      d.seen('e'),
      d.contact('c'),
      d.session('s'),
      d.open('cu'),
      d.customerTickets('cu'),
      d.ticket('t'),
      d.counts('2026-11-23T10'),
    ]).toEqual([
      'ps:defl:seen:e',
      'ps:defl:contact:c',
      'ps:defl:session:s',
      'ps:defl:open:cu',
      'ps:defl:ctix:cu',
      'ps:defl:ticket:t',
      'ps:defl:count:2026-11-23T10',
    ]);
    expect([
      d.due,
      d.sessions,
      d.events,
      d.outbox,
      d.noResults,
      d.tickets,
      d.trimmedUntil,
      d.trimLock,
      d.customers,
      d.customersComplete,
    ]).toEqual([
      'ps:defl:due',
      'ps:defl:sessions',
      'ps:defl:events',
      'ps:defl:outbox',
      'ps:defl:nores',
      'ps:defl:tickets',
      'ps:defl:trimmed-until',
      'ps:defl:trim-lock',
      'ps:customers',
      'ps:customers:complete',
    ]);
    const o = REDIS_KEYS.outbound(p);
    expect([
      o.base,
      o.event('e'),
      o.logTime,
      o.logSeq,
      o.seq,
      o.view('cu'),
      o.lane('s', 'cu'),
      o.lanes('s'),
      o.fails('s'),
      o.state('s'),
      o.attempts('s'),
      o.failed('s'),
    ]).toEqual([
      'ps:outbound',
      'ps:outbound:evt:e',
      'ps:outbound:log:time',
      'ps:outbound:log:seq',
      'ps:outbound:seq',
      'ps:outbound:view:cu',
      'ps:outbound:lane:s:cu',
      'ps:outbound:lanes:s',
      'ps:outbound:fails:s',
      'ps:outbound:sub:s',
      'ps:outbound:attempts:s',
      'ps:outbound:failed:s',
    ]);
  });

  it("keeps the record store's, the ingest's, the admin sessions' and the migrations' keys", () => {
    const r = REDIS_KEYS.records(p);
    expect([
      r.owned('c'),
      r.untold('c'),
      r.unmoved('c'),
      r.people('c'),
      r.systemKeys('c'),
      r.audit('c'),
      r.index('stripe:cus_1'),
    ]).toEqual([
      'ps:rec:c:keys',
      'ps:rec:c:untold',
      'ps:rec:c:unmoved',
      'ps:rec:c:people',
      'ps:rec:c:sys',
      'ps:rec:c:audit',
      'ps:idx:stripe:cus_1',
    ]);
    expect([r.conflicts, r.ties, r.refused, r.apart, r.globalAudit]).toEqual([
      'ps:conflicts',
      'ps:ties',
      'ps:identity:refused',
      'ps:identity:apart',
      'ps:audit',
    ]);
    expect(REDIS_KEYS.seen(p, 'stripe-evt_1')).toBe('ps:seen:stripe-evt_1');
    expect(REDIS_KEYS.migrations(p)).toBe('ps:migrations');
    const a = REDIS_KEYS.admin(p);
    expect([a.session('h'), a.failedByClient(7, '10.0.0.1'), a.failedAll(7)]).toEqual([
      'ps:admin:session:h',
      'ps:admin:failed:7:ip:10.0.0.1',
      'ps:admin:failed:7:all',
    ]);
  });
});
