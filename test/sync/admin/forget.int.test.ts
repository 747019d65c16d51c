/** `identity forget REF` and `identity restore` as sync/admin/forget runs them, on the real Redis. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import {
  erasureQueueNames,
  forgetByRef,
  restoreForgotten,
  withForgetDeps,
  type ForgetSettings,
} from '../../../src/sync/admin/forget.js';
import { NotFoundError } from '../../../src/sync/admin/inspect.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { Tombstones } from '../../../src/sync/events/tombstones.js';
import { OutboundStore } from '../../../src/sync/outbound/store.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { customer } from '../events/merge-events.js';

const prefix = uniquePrefix();
let redis: Redis;
let store: RecordStore;
const who = { by: 'ops@portal-sync', reason: 'erasure request #11' };
const keyOf = (ref: string) => (ref.includes('@') ? `email:${ref}` : `stripe:${ref}`);
const OUTBOUND = {
  concurrency: 1,
  backoffMs: 100,
  maxBackoffMs: 1_000,
  pauseAfterMs: 60_000,
  retentionMs: 60_000,
  attemptsKept: 10,
};
const settings = (subscribed: boolean): ForgetSettings => ({
  redis: { prefix },
  identity: { forgetTombstoneDays: 1 },
  outbound: OUTBOUND,
  subscriptions: subscribed
    ? [
        {
          id: 'crm-sync',
          url: 'http://127.0.0.1:9/hook',
          secretEnv: 'CRM_SYNC_SECRET',
          events: ['customer.*'],
          timeoutMs: 1_000,
          allowPrivateNetworks: true,
        },
      ]
    : [],
  // Standard Webhooks wants base64 after whsec_: the base64 of an obviously fake phrase.
  outboundSecrets: {
    'crm-sync': [`whsec_${Buffer.from('FAKE outbound secret for tests, not real').toString('base64')}`],
  },
});
const forget = (ref: string, subscribed = false, keyFor = keyOf) =>
  withForgetDeps(redis, settings(subscribed), { mode: 'keep', targets: [] }, createLogger('silent'), (deps) =>
    forgetByRef(deps, ref, who, keyFor),
  );

const stripeCustomer = (id: string, email: string): SourceEvent => ({
  ...customer({ version: 1_000, eventId: `evt_${id}` }, { name: 'Forgotten Ltd', email }),
  objectId: id,
  refs: { stripeCustomerId: id, email },
});

beforeAll(() => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  store = new RecordStore(redis, prefix);
});
afterAll(async () => {
  store.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('forget by ref', () => {
  it('forgets the customer the ref names, then, run again with its email, sweeps again instead of saying it is unknown', async () => {
    const applied = await store.apply(stripeCustomer('cus_Forget0001', 'gone@forget.example'));
    const first = await forget('cus_Forget0001');
    expect(first.forgot).toMatchObject({ recordId: applied.recordId, remaining: [], toldSubscribers: false });
    expect(await store.get(applied.recordId)).toBeNull();
    const again = await forget('gone@forget.example');
    expect(again.forgot).toBeUndefined();
    expect(again.again).toMatchObject({ remaining: [], portal: null, sweep: expect.any(Object) });
  });

  it('tells the configured subscribers customer.deleted', async () => {
    await store.apply(stripeCustomer('cus_Forget0002', 'told@forget.example'));
    const out = await forget('told@forget.example', true);
    expect(out.forgot?.toldSubscribers).toBe(true);
    const events = await new OutboundStore(redis, prefix, OUTBOUND).eventsSince(0);
    expect(events.filter((e) => e.type === 'customer.deleted')).toHaveLength(1);
  });

  it('refuses a ref that names no customer, now or forgotten before', async () => {
    await expect(forget('nobody@forget.example')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('never takes a record id for an identity of a forgotten customer', async () => {
    const asked: string[] = [];
    const noting = (ref: string) => (asked.push(ref), keyOf(ref));
    await expect(forget('cust_Unknown01', false, noting)).rejects.toBeInstanceOf(NotFoundError);
    expect(asked).toEqual([]);
  });

  it('sweeps the queues status shows, those of the subscriptions included, and the reconcile queue', () => {
    const names = erasureQueueNames({ subscriptions: [{ id: 'billing' }] });
    expect(names).toEqual(expect.arrayContaining(['events', 'reconcile']));
    expect(names.some((n) => n.includes('billing'))).toBe(true);
  });
});

describe('restore', () => {
  it('lifts the tombstone of every identity key of a forgotten customer by naming one, and says so in the audit trail', async () => {
    await store.apply(stripeCustomer('cus_Forget0003', 'back@forget.example'));
    await forget('cus_Forget0003');
    const tombstones = new Tombstones(redis, prefix);
    expect(await tombstones.groupOf('stripe:cus_Forget0003')).not.toBeNull();
    expect(await restoreForgotten(redis, prefix, 'email:back@forget.example', who)).toBe(2);
    expect(await tombstones.groupOf('stripe:cus_Forget0003')).toBeNull();
    expect(await tombstones.groupOf('email:back@forget.example')).toBeNull();
    const trail = await redis.lrange(store.globalAuditKey, 0, -1);
    expect(trail.map((e) => JSON.parse(e) as { action: string; by: string })).toContainEqual(
      expect.objectContaining({ action: 'restore', by: who.by }),
    );
  });

  it('lifts nothing for an identity never forgotten', async () => {
    expect(await restoreForgotten(redis, prefix, 'email:never@forget.example', who)).toBe(0);
  });
});
