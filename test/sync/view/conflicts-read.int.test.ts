/**
 * A customer's view reads only its own customer's identity conflicts (store.conflictsNaming, through the
 * per-key index), however many other customers' conflicts the deployment stores: a page load must not cost
 * more as conflicts pile up elsewhere. Conflicts an earlier release stored without the index are still
 * found (every conflict read) until the worker's indexConflicts adds them, and a settled conflict leaves the
 * index with the conflict. Real Redis, the real record store, reader and identity admin.
 */
import { Redis, type Command } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdentityAdmin } from '../../../src/sync/admin/identity-admin.js';
import type { IdentityConflict } from '../../../src/sync/events/identity.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { REDIS_KEYS } from '../../../src/sync/redis/keys.js';
import { ViewRateLimiter } from '../../../src/sync/view/rate-limit.js';
import { ViewReader, type ViewRead } from '../../../src/sync/view/read.js';
import type { CustomerView } from '../../../src/sync/view/view.js';
import { createLogger } from '../../../src/log.js';
import { startWorker } from '../../../src/worker-role.js';
import { startTestDaemon } from '../../support/daemon.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { acme, ann, applyAll, bob, bobco, stripeSide, userEvent, zendeskSide } from '../../support/view.js';

let prefix: string;
let storeConnection: Redis;
let store: RecordStore;
let readerConnection: Redis;
/** The commands the store's connection sent, with their arguments. */
let sent: Array<{ name: string; args: string[] }> = [];

/** A conflict between two other organizations, written as a release before the per-key index wrote it. */
function foreignConflict(n: number): IdentityConflict {
  const [x, y] = [`zdorg:${100_000 + n}`, `zdorg:${200_000 + n}`] as const;
  return {
    id: `cust_x${n}|cust_y${n}|${x}|${y}`,
    recordIds: [`cust_x${n}`, `cust_y${n}`],
    system: 'zdorg',
    keys: [x, y],
    evidence: { source: 'zendesk', eventId: `evt_${n}`, type: 'zen:event-type:user.updated', via: `zduser:${n}` },
  };
}

async function storeTheOldWay(conflicts: IdentityConflict[]): Promise<void> {
  await storeConnection.hset(
    REDIS_KEYS.records(prefix).conflicts,
    Object.fromEntries(conflicts.map((c) => [c.id, JSON.stringify(c)])),
  );
}

const reader = () =>
  new ViewReader(readerConnection, store, new ViewRateLimiter(prefix, 1000), {
    recentPaidInvoices: 12,
    tickets: 'organization',
  });
const viewOf = (read: ViewRead): CustomerView => {
  if (read.kind !== 'customer') throw new Error(`expected a customer, got ${JSON.stringify(read)}`);
  return JSON.parse(read.body) as CustomerView;
};
/** Ann joins Bobco's organization in Zendesk: her user key stays with Acme's record, and the records conflict. */
const annMoves = () => store.apply(userEvent('9001', { id: '8001', email: 'ann@acme.example' }, 5_000));

beforeEach(async () => {
  prefix = uniquePrefix();
  storeConnection = new Redis(redisUrl());
  const send = storeConnection.sendCommand.bind(storeConnection);
  storeConnection.sendCommand = (command: Command, stream) => {
    sent.push({ name: command.name, args: command.args.map(String) });
    return send(command, stream);
  };
  store = new RecordStore(storeConnection, prefix);
  readerConnection = new Redis(redisUrl());
  await applyAll(store, [...zendeskSide(acme), ...stripeSide(acme), ...zendeskSide(bobco), ...stripeSide(bobco)]);
  sent = [];
});
afterEach(async () => {
  store.close();
  storeConnection.disconnect();
  readerConnection.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe("the customer view and the deployment's identity conflicts", () => {
  it("finds the viewer moved by their own customer's conflict without reading 300 other customers' conflicts", async () => {
    await storeTheOldWay(Array.from({ length: 300 }, (_, n) => foreignConflict(n)));
    expect(await store.indexConflicts()).toBe(300);
    await annMoves();
    const r = reader();
    sent = [];
    const moved = await r.read(ann);
    expect(JSON.stringify(moved)).not.toMatch(/in_acme|Acme|5001/);
    expect(sent.map((c) => c.name)).not.toContain('hvals');
    const conflictReads = sent.filter((c) => c.name === 'hmget' && c.args[0] === REDIS_KEYS.records(prefix).conflicts);
    expect(conflictReads.flatMap((c) => c.args.slice(1)).every((id) => !id.startsWith('cust_x'))).toBe(true);
    // Bob, whose customer is in the same conflict, is still Bobco's.
    expect(viewOf(await r.read(bob)).customer.name).toBe('Bobco');
  });

  it('still finds a conflict an earlier release stored without the index, and reads by the index once it is added', async () => {
    await annMoves();
    const [conflict] = await store.listConflicts();
    const [key, other] = conflict!.keys;
    // As a release before the index would have left it: the conflict alone.
    const keys = REDIS_KEYS.records(prefix);
    await storeConnection.del(keys.conflictsIndexed, keys.conflictsOf(key), keys.conflictsOf(other));
    await storeTheOldWay(Array.from({ length: 20 }, (_, n) => foreignConflict(n)));

    expect(await store.conflictsNaming([key])).toEqual([conflict]);
    expect(JSON.stringify(await reader().read(ann))).not.toMatch(/in_acme|Acme|5001/);

    expect(await store.indexConflicts()).toBe(21);
    expect(await store.indexConflicts()).toBe(0);
    sent = [];
    expect(await store.conflictsNaming([other, 'zdorg:5555'])).toEqual([conflict]);
    expect(await store.conflictsNaming(['zdorg:5555'])).toEqual([]);
    expect(sent.map((c) => c.name)).not.toContain('hvals');
    expect(JSON.stringify(await reader().read(ann))).not.toMatch(/in_acme|Acme|5001/);
  });

  it('takes a conflict settled by identity link out of the index with it', async () => {
    await annMoves();
    const [conflict] = await store.listConflicts();
    const acmeId = (await store.findByKey('stripe:cus_acme'))!.id;
    const bobcoId = (await store.findByKey('stripe:cus_bob'))!.id;
    expect([...conflict!.recordIds].sort()).toEqual([acmeId, bobcoId].sort());
    // The admin's way to settle it: Bobco's Stripe customer and organization go to records of their own, then the rest is linked.
    const admin = new IdentityAdmin(store, storeConnection);
    const who = { by: 'test', reason: 'the same company after all' };
    await admin.unlink(bobcoId, 'stripe:cus_bob', who);
    await admin.unlink(bobcoId, 'zdorg:9001', who);
    await admin.link(acmeId, bobcoId, who);
    expect(await store.listConflicts()).toEqual([]);
    expect(await store.conflictsNaming(conflict!.keys)).toEqual([]);
    const keys = REDIS_KEYS.records(prefix);
    expect(await storeConnection.scard(keys.conflictsIndexed)).toBe(0);
    expect(await storeConnection.exists(keys.conflictsOf(conflict!.keys[0]), keys.conflictsOf(conflict!.keys[1]))).toBe(
      0,
    );
  });
  it('is indexed by a starting worker when an earlier release stored the conflicts: the view then reads by the index', async () => {
    const daemon = await startTestDaemon();
    const keys = REDIS_KEYS.records(daemon.prefix);
    const old = foreignConflict(7);
    await storeConnection.hset(keys.conflicts, old.id, JSON.stringify(old));
    const worker = await startWorker(daemon.config, createLogger('silent'), { concurrency: 1 });
    try {
      const until = Date.now() + 5_000;
      while ((await storeConnection.scard(keys.conflictsIndexed)) < 1 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 25));
      expect(await storeConnection.smembers(keys.conflictsOf(old.keys[0]))).toEqual([old.id]);
      expect(await worker.store.conflictsNaming([old.keys[1]])).toEqual([old]);
    } finally {
      await worker.close();
      await daemon.stop();
      await deleteByPrefix(redisUrl(), daemon.prefix);
    }
  });
});
