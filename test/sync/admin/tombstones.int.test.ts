/** Tombstones as the worker reads them: a forget is noticed within NOTICE_MS, and once one exists it is seen at once. */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { Tombstones } from '../../../src/sync/admin/tombstones.js';
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
});
