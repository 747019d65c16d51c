/**
 * The bulk drainer on the real Redis, with a recording target: batches,
 * unchanged customers, refusals inside a bulk answer and of a whole call,
 * rate limits, a drain that died mid-batch, and the wait for a running
 * resync. The targets' bulk shapes are tested against the stand-ins in
 * test/e2e/resync-push.e2e.test.ts.
 */
import { DelayedError, Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import {
  bulkBacklog,
  createBulkDrainer,
  queueForBulk,
  type BulkDrainerOptions,
  type PreparedPush,
} from '../../../src/sync/push/bulk.js';
import { PermanentError, RateLimitedError, RetryableError } from '../../../src/sync/errors.js';
import type { BulkContext, BulkPushResult, PortalPush, PortalTarget } from '../../../src/sync/push/portal-target.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { REDIS_KEYS } from '../../../src/sync/redis/keys.js';

const prefix = uniquePrefix();
let redis: Redis;
let queue: Queue;

const push = (customerId: string): PortalPush => ({
  customerId,
  links: {
    stripeCustomerId: null,
    salesforceAccountId: null,
    zendeskOrganizationId: `org-${customerId}`,
    contacts: [],
  },
  profile: { name: customerId, email: null, ownerId: null, tier: null } as unknown as PortalPush['profile'],
  projection: { billing: null, openInvoiceCount: 0, invoices: [], support: null },
  previous: null,
});

class BulkTarget implements PortalTarget {
  readonly name = 'zendesk' as const;
  readonly bulkSize = 4;
  readonly batches: string[][] = [];
  gates = 0;
  /** What the next pushMany does: answer (refusing these customers), throw, or never answer (its worker died). */
  next: Array<{ refuse?: string[] } | Error | 'hang'> = [];
  async push(): Promise<never> {
    throw new Error('bulk drains never push one customer');
  }
  async pushMany(pushes: readonly PortalPush[], ctx: BulkContext): Promise<BulkPushResult> {
    await ctx.gate();
    this.batches.push(pushes.map((p) => p.customerId));
    const answer = this.next.shift() ?? {};
    if (answer === 'hang') return new Promise(() => undefined);
    if (answer instanceof Error) throw answer;
    return {
      calls: 1,
      items: pushes.map((p) =>
        answer.refuse?.includes(p.customerId)
          ? { ok: false, error: new PermanentError(`RecordInvalid: ${p.customerId}`) }
          : { ok: true, result: { calls: 0, wrote: ['organization_fields'] } },
      ),
    };
  }
}

let target: BulkTarget;
let accepted: string[];
let alone: string[];
let unchanged: Set<string>;
/** Records that change while their bulk call is on its way. */
let movedOn: Set<string>;

function drainer(overrides: Partial<BulkDrainerOptions> = {}) {
  return createBulkDrainer({
    redis,
    prefix,
    target,
    queue,
    slots: 2,
    gate: async () => void (target.gates += 1),
    prepare: async (id): Promise<PreparedPush> =>
      unchanged.has(id) || (accepted.includes(id) && !movedOn.has(id))
        ? {
            kind: 'skip',
            result: { calls: 0, wrote: [], skipped: 'unchanged since the last accepted push' },
            counted: true,
          }
        : { kind: 'push', push: push(id), accept: async () => (accepted.push(id), true) },
    pushAlone: async (id) => void alone.push(id),
    logger: createLogger('silent'),
    holdMaxMs: 0,
    ...overrides,
  });
}

const job = (id: string, moved: number[] = []) =>
  ({ id, moveToDelayed: async (at: number) => void moved.push(at) }) as unknown as Job;
const keys = REDIS_KEYS.bulk(prefix, 'zendesk');
const pending = () => redis.zrange(keys.pending, '0', '-1');
const claimed = () => redis.zrange(keys.claimed, '0', '-1');

beforeAll(async () => {
  redis = new Redis(redisUrl());
  queue = new Queue('push-zendesk', { connection: redis, prefix });
});
afterAll(async () => {
  await queue.close();
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});
beforeEach(async () => {
  target = new BulkTarget();
  accepted = [];
  alone = [];
  unchanged = new Set();
  movedOn = new Set();
  await queue.obliterate({ force: true });
  await redis.del(keys.pending, keys.claimed);
});

describe('bulk drains', () => {
  it('take a batch in one bulk call, skip customers already accepted as they are, and hand refused ones to per-customer pushes', async () => {
    await queueForBulk(redis, prefix, 'zendesk', ['c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
    unchanged.add('c2');
    target.next = [{ refuse: ['c3'] }];
    const outcome = await drainer().drain(job('d1'), undefined);
    // Four claimed (the batch size); the unchanged one costs no call.
    expect(target.batches).toEqual([['c1', 'c3', 'c4']]);
    expect(outcome).toEqual({ claimed: 4, pushed: 2, unchanged: 1, alone: 1, calls: 1 });
    expect(accepted.sort()).toEqual(['c1', 'c4']);
    expect(alone).toEqual(['c3']);
    expect(target.gates).toBe(1);
    expect(await claimed()).toEqual([]);
    expect(await pending()).toEqual(['c5', 'c6']);
    // Customers still wait: every slot gets a drain.
    expect(
      (await queue.getJobs(['delayed', 'waiting', 'prioritized'])).map((j) => j.opts.deduplication?.id).sort(),
    ).toEqual(['bulk-zendesk-0', 'bulk-zendesk-1']);
  });

  it('tell `status` how many customers wait, since when, and how many a drain holds', async () => {
    expect(await bulkBacklog(redis, prefix, 'zendesk')).toEqual({ pending: 0, inFlight: 0, oldestSeconds: 0 });
    const now = Date.now();
    await queueForBulk(redis, prefix, 'zendesk', ['c1', 'c2'], [], now - 90_000);
    await queueForBulk(redis, prefix, 'zendesk', ['c3', 'c4', 'c5', 'c6', 'c7'], [], now - 5_000);
    // Taken by a drain (its lease runs for another minute).
    await redis.zadd(keys.claimed, String(now + 60_000), 'c8');
    expect(await bulkBacklog(redis, prefix, 'zendesk', now)).toEqual({ pending: 7, inFlight: 1, oldestSeconds: 90 });
  });

  it('push a customer again on its own when its record changed while the bulk call was on its way', async () => {
    await queueForBulk(redis, prefix, 'zendesk', ['c1', 'c2', 'c3']);
    movedOn.add('c2'); // a webhook changed c2 (and its real-time push may already have landed) during the batch
    const outcome = await drainer().drain(job('d1'), undefined);
    expect(target.batches).toEqual([['c1', 'c2', 'c3']]);
    expect(outcome).toMatchObject({ pushed: 3, alone: 1 });
    expect(alone).toEqual(['c2']);
  });

  it('hold a customer once however often it is queued, and drop records merged into another', async () => {
    expect(await queueForBulk(redis, prefix, 'zendesk', ['c1', 'c2', 'c3'])).toBe(3);
    // c1 changes again (already waiting: no new drain needed), and c2 and c3 turn out to be c1.
    expect(await queueForBulk(redis, prefix, 'zendesk', ['c1'], ['c2', 'c3'])).toBe(0);
    expect(await pending()).toEqual(['c1']);
    await drainer().drain(job('d1'), undefined);
    expect(target.batches).toEqual([['c1']]);
  });

  it('send every customer of a call refused as a whole on its own', async () => {
    await queueForBulk(redis, prefix, 'zendesk', ['c1', 'c2', 'c3']);
    target.next = [new PermanentError('Zendesk 400: InvalidValue: organizations must be a non-empty array')];
    const outcome = await drainer().drain(job('d1'), undefined);
    expect(outcome).toMatchObject({ claimed: 3, pushed: 0, alone: 3 });
    expect(alone.sort()).toEqual(['c1', 'c2', 'c3']);
    expect(accepted).toEqual([]);
    expect([...(await claimed()), ...(await pending())]).toEqual([]);
  });

  it('put the whole batch back when rate limited or when a call fails, and accept nothing of it', async () => {
    await queueForBulk(redis, prefix, 'zendesk', ['c1', 'c2', 'c3']);
    target.next = [new RateLimitedError('429 Too Many Requests', 30_000)];
    await expect(drainer().drain(job('d1'), undefined)).rejects.toBeInstanceOf(RateLimitedError);
    expect((await pending()).sort()).toEqual(['c1', 'c2', 'c3']);
    target.next = [new RetryableError('Zendesk 503: ServiceUnavailable')];
    await expect(drainer().drain(job('d2'), undefined)).rejects.toBeInstanceOf(RetryableError);
    expect((await pending()).sort()).toEqual(['c1', 'c2', 'c3']);
    expect(await claimed()).toEqual([]);
    expect(accepted).toEqual([]);
    // Then they go out, once.
    await drainer().drain(job('d3'), undefined);
    expect(accepted.sort()).toEqual(['c1', 'c2', 'c3']);
  });

  it('push again what a drain took before its worker died: at once when BullMQ re-runs that job, after the lease for any other drain', async () => {
    await queueForBulk(redis, prefix, 'zendesk', ['c1', 'c2']);
    target.next = ['hang'];
    void drainer({ leaseMs: 400 }).drain(job('dead'), undefined);
    await expect.poll(claimed).toEqual(['c1', 'c2']);
    // Another drain does not take customers a live drain may still be writing.
    expect(await drainer({ leaseMs: 400 }).drain(job('other'), undefined)).toMatchObject({ claimed: 0 });
    // The stalled job, run again under its id, takes its own customers back.
    expect(await drainer({ leaseMs: 400 }).drain(job('dead'), undefined)).toMatchObject({ claimed: 2, pushed: 2 });
    expect(accepted.sort()).toEqual(['c1', 'c2']);

    await queueForBulk(redis, prefix, 'zendesk', ['c3']);
    target.next = ['hang'];
    void drainer({ leaseMs: 300 }).drain(job('lost'), undefined);
    await expect.poll(claimed).toEqual(['c3']);
    await new Promise((r) => setTimeout(r, 400));
    expect(await drainer().drain(job('later'), undefined)).toMatchObject({ claimed: 1, pushed: 1 });
    expect(accepted).toContain('c3');
  });

  it('are scheduled by a starting worker for what a stopped one left pending or claimed', async () => {
    await drainer().kick();
    expect(await queue.getJobs(['delayed', 'waiting', 'prioritized'])).toHaveLength(0);
    await redis.zadd(keys.claimed, String(Date.now() + 60_000), 'c9');
    await drainer().kick();
    const [leftover] = await queue.getJobs(['delayed']);
    expect(leftover?.data).toEqual({ v: 1, kind: 'bulk', target: 'zendesk', slot: 0 });
    // It runs when the lease is over.
    expect(leftover!.opts.delay).toBeGreaterThan(55_000);
  });

  it('wait while a resync is still being applied, up to the longest hold', async () => {
    await queueForBulk(redis, prefix, 'zendesk', ['c1']);
    const moved: number[] = [];
    const active = drainer({ holdMaxMs: 60_000, resyncActive: async () => true });
    await expect(active.drain(job('h1', moved), undefined)).rejects.toBeInstanceOf(DelayedError);
    expect(moved).toHaveLength(1);
    expect(target.batches).toEqual([]);
    expect(await pending()).toEqual(['c1']);
    // The resync is over: out it goes.
    expect(
      await drainer({ holdMaxMs: 60_000, resyncActive: async () => false }).drain(job('h2'), undefined),
    ).toMatchObject({ pushed: 1 });
    // A resync that never ends holds its customers no longer than holdMaxMs after the first was queued.
    await queueForBulk(redis, prefix, 'zendesk', ['c2'], [], Date.now() - 61_000);
    expect(
      await drainer({ holdMaxMs: 60_000, resyncActive: async () => true }).drain(job('h3'), undefined),
    ).toMatchObject({ pushed: 1 });
  });
});
