/** `identity forget REF` as sync/admin/forget reads REF, on the real Redis: a customer now, or one forgotten before. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { erasureQueueNames, forgetByRef, type ForgetDeps } from '../../../src/sync/admin/forget.js';
import { NotFoundError } from '../../../src/sync/admin/inspect.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { customer } from '../events/merge-events.js';

const prefix = uniquePrefix();
let redis: Redis;
let deps: ForgetDeps;
const who = { by: 'ops@portal-sync', reason: 'erasure request #11' };
const EMAIL = 'gone@forget.example';
const keyOf = (ref: string) => (ref.includes('@') ? `email:${ref}` : `stripe:${ref}`);

const stripeCustomer = (id: string, email: string): SourceEvent => ({
  ...customer({ version: 1_000, eventId: `evt_${id}` }, { name: 'Forgotten Ltd', email }),
  objectId: id,
  refs: { stripeCustomerId: id, email },
});

beforeAll(() => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  deps = {
    redis,
    prefix,
    store: new RecordStore(redis, prefix),
    queueNames: erasureQueueNames({ subscriptions: [] }),
    tombstoneDays: 1,
    portal: { mode: 'keep', targets: [] },
  };
});
afterAll(async () => {
  deps.store.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('forget by ref', () => {
  it('forgets the customer the ref names, then, run again with its email, sweeps again instead of saying it is unknown', async () => {
    const applied = await deps.store.apply(stripeCustomer('cus_Forget0001', EMAIL));
    const first = await forgetByRef(deps, 'cus_Forget0001', who, keyOf);
    expect(first.forgot?.recordId).toBe(applied.recordId);
    expect(first.forgot?.remaining).toEqual([]);
    expect(await deps.store.get(applied.recordId)).toBeNull();
    const again = await forgetByRef(deps, EMAIL, who, keyOf);
    expect(again.forgot).toBeUndefined();
    expect(again.again).toMatchObject({ remaining: [], portal: null, sweep: expect.any(Object) });
  });

  it('refuses a ref that names no customer, now or forgotten before', async () => {
    await expect(forgetByRef(deps, 'nobody@forget.example', who, keyOf)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('never takes a record id for an identity of a forgotten customer', async () => {
    const asked: string[] = [];
    const noting = (ref: string) => (asked.push(ref), keyOf(ref));
    await expect(forgetByRef(deps, 'cust_Unknown01', who, noting)).rejects.toBeInstanceOf(NotFoundError);
    expect(asked).toEqual([]);
  });

  it('sweeps the queues status shows, those of the subscriptions included, and the reconcile queue', () => {
    const names = erasureQueueNames({ subscriptions: [{ id: 'billing' }] });
    expect(names).toEqual(expect.arrayContaining(['events', 'reconcile']));
    expect(names.some((n) => n.includes('billing'))).toBe(true);
  });
});
