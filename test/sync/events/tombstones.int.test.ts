/** Tombstones as the worker reads them: a forget is noticed within NOTICE_MS, and once one exists it is seen at once. */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { PortalClearPlans } from '../../../src/sync/admin/portal-clear.js';
import { Tombstones } from '../../../src/sync/events/tombstones.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const prefix = uniquePrefix();
const redis = new Redis(redisUrl());
afterAll(async () => {
  await deleteByPrefix(redisUrl(), prefix);
  redis.disconnect();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('tombstones seen by a worker', () => {
  it('a worker that has seen no forget yet notices the first one within NOTICE_MS, and later ones at once', async () => {
    const worker = new Tombstones(redis, prefix);
    const admin = new Tombstones(redis, prefix);
    expect(await worker.forgotten(['email:ann@acme.example'])).toBe(false);

    await admin.add(['email:ann@acme.example'], 1);
    // Within the notice window the worker may still take "nothing forgotten here" on trust...
    expect(await worker.forgotten(['email:ann@acme.example'])).toBe(false);
    await sleep(Tombstones.NOTICE_MS + 50);
    // ...but never after it: this is what forgetCustomer waits out before its sweep.
    expect(await worker.forgotten(['email:ann@acme.example'])).toBe(true);

    await admin.add(['email:bob@bobco.example'], 1);
    expect(await worker.forgotten(['email:bob@bobco.example'])).toBe(true);
    expect(await worker.forgotten(['email:carl@acme.example'])).toBe(false);
  });

  it("a forget's portal clear plan is found through any of its identities, and identity restore drops it with the tombstones", async () => {
    const tombstones = new Tombstones(redis, prefix);
    const plans = new PortalClearPlans(redis, prefix);
    const { group } = await tombstones.add(['email:dora@doraco.example', 'stripe:cus_Dora0001'], 1);
    await plans.save(group, { places: [], invoiceIds: ['in_Dora1'], ticketIds: [] }, 1);

    expect(await tombstones.groupOf('stripe:cus_Dora0001')).toBe(group);
    expect(await plans.load(group)).toEqual({ places: [], invoiceIds: ['in_Dora1'], ticketIds: [] });
    expect(await redis.pttl(plans.key(group))).toBeGreaterThan(86_000_000);
    expect(await tombstones.restore('email:dora@doraco.example')).toBe(2);
    expect(await tombstones.groupOf('stripe:cus_Dora0001')).toBeNull();
    expect(await plans.load(group)).toBeNull();
  });
});

describe('identity restore, audited', () => {
  it('writes one audit entry naming the key by its hash only when tombstones were lifted, and none when there were none', async () => {
    const tombstones = new Tombstones(redis, prefix);
    const auditKey = `${prefix}:test-audit`;
    await tombstones.add(['email:erin@erinco.example', 'stripe:cus_Erin0001'], 1);

    expect(
      await tombstones.restoreAudited(
        'email:erin@erinco.example',
        { by: 'dpo', reason: 'request withdrawn' },
        auditKey,
        new Date('2026-12-06T09:00:00Z'),
      ),
    ).toBe(2);
    const entries = (await redis.lrange(auditKey, 0, -1)).map((e) => JSON.parse(e) as Record<string, unknown>);
    expect(entries).toEqual([
      {
        at: '2026-12-06T09:00:00.000Z',
        action: 'restore',
        by: 'dpo',
        reason: 'request withdrawn',
        recordIds: [],
        keys: [expect.stringMatching(/^forgotten:[0-9a-f]{32}$/)],
      },
    ]);
    expect(JSON.stringify(entries)).not.toContain('erin@');

    expect(await tombstones.restoreAudited('email:erin@erinco.example', { by: 'dpo', reason: 'again' }, auditKey)).toBe(
      0,
    );
    expect(await redis.llen(auditKey)).toBe(1);
  });
});
