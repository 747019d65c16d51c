/**
 * The push worker on the real Redis, against a recording target that answers
 * like a platform would (success, 429 with Retry-After, a validation 400).
 * The targets themselves are tested against the platforms' wire formats in
 * test/connectors.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueStatusOf } from '../../../src/sync/admin/status.js';
import { createEventsQueue } from '../../../src/sync/events/queue.js';
import { acceptedKey, pauseForRateLimit } from '../../../src/sync/push/worker.js';
import { RESYNC_PRIORITY } from '../../../src/sync/resync/runner.js';
import { PermanentError, RateLimitedError, RetryableError } from '../../../src/sync/errors.js';
import type { BulkPushResult, PortalPush, PortalTarget, PushResult } from '../../../src/sync/push/portal-target.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { startTestPipeline, type TestPipeline } from '../../support/pipeline.js';
import { invoice, subscription } from '../events/merge-events.js';
import { until } from '../../support/e2e.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { REDIS_KEYS } from '../../../src/sync/redis/keys.js';
import { jobStarts, limiterPeak } from '../../support/limiter.js';

class RecordingTarget implements PortalTarget {
  readonly name = 'zendesk' as const;
  readonly pushes: Array<{ at: number; push: PortalPush }> = [];
  /** Writes to the organization, like the Zendesk target. */
  placeOf(links: PortalPush['links']): unknown {
    return links.zendeskOrganizationId;
  }
  readonly attempts: number[] = [];
  next: Array<'ok' | '429-short' | '429' | '429-long' | '400' | '503' | '503-hour'> = [];
  /** Customers whose next single push answers only when the promise settles (it has written by then). */
  readonly holdAnswer = new Map<string, Promise<void>>();
  /** Customers whose next bulk write happens only when the promise settles. */
  readonly holdBulk = new Map<string, Promise<void>>();
  /** Customers whose bulk write is being held now. */
  readonly bulkHeld = new Set<string>();
  /** Reads a customer's writer token (push/progress.ts) as a call starts, into `writers`, when set. */
  readWriter?: (customerId: string) => Promise<string | null>;
  readonly writers: Array<{ customerId: string; by: 'push' | 'bulk'; token: string | null }> = [];
  async push(p: PortalPush): Promise<PushResult> {
    if (this.readWriter)
      this.writers.push({ customerId: p.customerId, by: 'push', token: await this.readWriter(p.customerId) });
    this.attempts.push(Date.now());
    const answer = this.next.shift() ?? 'ok';
    if (answer === '429-short') throw new RateLimitedError('429 Too Many Requests', 300);
    if (answer === '429') throw new RateLimitedError('429 Too Many Requests', 1_000);
    if (answer === '429-long') throw new RateLimitedError('429 Too Many Requests', 3_000);
    if (answer === '400') throw new PermanentError('RecordInvalid: billing_mrr must be a number', 422);
    if (answer === '503') throw new RetryableError('Zendesk 503: Maintenance', { retryAfterMs: 1_500 });
    if (answer === '503-hour') throw new RetryableError('Zendesk 503: Maintenance', { retryAfterMs: 3_600_000 });
    this.pushes.push({ at: Date.now(), push: p });
    const hold = this.holdAnswer.get(p.customerId);
    this.holdAnswer.delete(p.customerId);
    if (hold) await hold;
    return { calls: 1, wrote: ['organization_fields'] };
  }
  /** Resync pushes: down (503) while `bulkDown`. */
  bulkDown = false;
  /** Customers written by bulk calls. */
  readonly bulk: string[] = [];
  readonly bulkSize = 100;
  async pushMany(pushes: readonly PortalPush[]): Promise<BulkPushResult> {
    for (const p of pushes)
      if (this.readWriter)
        this.writers.push({ customerId: p.customerId, by: 'bulk', token: await this.readWriter(p.customerId) });
    if (this.bulkDown) throw new RetryableError('Zendesk 503: Service Unavailable');
    for (const p of pushes) {
      const hold = this.holdBulk.get(p.customerId);
      this.holdBulk.delete(p.customerId);
      if (hold) {
        this.bulkHeld.add(p.customerId);
        await hold;
        this.bulkHeld.delete(p.customerId);
      }
    }
    for (const p of pushes) this.pushes.push({ at: Date.now(), push: p });
    this.bulk.push(...pushes.map((p) => p.customerId));
    return { calls: 1, items: pushes.map(() => ({ ok: true, result: { calls: 1, wrote: ['organization_fields'] } })) };
  }
}

const target = new RecordingTarget();
let p: TestPipeline;
const ZD = {
  PORTAL_TARGET: 'zendesk',
  ZENDESK_SUBDOMAIN: 'acme',
  ZENDESK_EMAIL: 'ops@acme.example',
  ZENDESK_API_TOKEN: 'zd_token_0123456789abcdef',
};
const withRefs = (e: SourceEvent, id: string): SourceEvent => ({
  ...e,
  refs: { stripeCustomerId: id, zendeskOrganizationId: `org-${id}` },
});

beforeAll(async () => {
  p = await startTestPipeline(
    ZD,
    (c) => {
      c.push.debounceMs = 50;
      c.push.backoffMs = 100; // exponential would retry after 50–100 ms: a later retry is Retry-After's doing
      c.push.maxBackoffMs = 100; // 20 tries in a few seconds: a drain can give up within a test
    },
    () => target,
  );
});
afterAll(async () => {
  await p.stop();
});

describe('push worker', () => {
  it('pushes a change once, and makes no call for a push of the same state', async () => {
    await p.daemon.ingestor.enqueue([withRefs(subscription('sub_pw1', 'active', { version: 1_000 }), 'cus_pw1')]);
    await until('the push to reach the target', () => target.pushes.length === 1);
    const first = target.pushes[0]!.push;
    expect(first.projection.billing?.status).toBe('active');
    expect(first.previous).toBeNull();
    expect(first.links.stripeCustomerId).toBe('cus_pw1');
    // Replan the same record (as a retry would): nothing new reaches the platform.
    const record = await p.worker.store.findByKey('stripe:cus_pw1');
    await p.worker.planner.plan(null, record!);
    await new Promise((r) => setTimeout(r, 300));
    expect(target.pushes).toHaveLength(1);
    // A real change goes out, with what was accepted before.
    await p.daemon.ingestor.enqueue([withRefs(subscription('sub_pw1', 'past_due', { version: 2_000 }), 'cus_pw1')]);
    await until('the push to reach the target', () => target.pushes.length === 2);
    expect(target.pushes[1]!.push.previous?.billing?.status).toBe('active');
    expect(target.pushes[1]!.push.projection.billing?.status).toBe('past_due');
  });

  it('waits out a 1 s Retry-After within the push, not for the rest of the limiter window, and never counts it as pushed', async () => {
    target.next = ['429'];
    const before = target.pushes.length;
    await p.daemon.ingestor.enqueue([withRefs(invoice('in_pw2', 'open', { version: 1_000 }), 'cus_pw2')]);
    await until('the push to reach the target', () => target.pushes.length === before + 1);
    const [rejected, accepted] = target.attempts.slice(-2);
    expect(accepted! - rejected!).toBeGreaterThanOrEqual(950);
    // The job limiter's window here is a minute (targets.zendesk.rate): the push must not wait for it to end.
    expect(accepted! - rejected!).toBeLessThan(5_000);
    const text = await (await fetch(`${p.daemon.url}/metrics`)).text();
    expect(text).toMatch(/portal_sync_pushes_total\{target="zendesk",outcome="written"\} 3/);
  });

  it('retries a 503 no sooner than its Retry-After', async () => {
    target.next = ['503'];
    const before = target.pushes.length;
    await p.daemon.ingestor.enqueue([withRefs(invoice('in_pw4', 'open', { version: 1_000 }), 'cus_pw4')]);
    await until('the push to reach the target', () => target.pushes.length === before + 1, 10_000);
    const [refused, accepted] = target.attempts.slice(-2);
    expect(accepted! - refused!).toBeGreaterThanOrEqual(1_450);
  });

  it('dead-letters a push the platform refuses, with its message, and delivers it on replay', async () => {
    target.next = ['400'];
    const before = target.pushes.length;
    await p.daemon.ingestor.enqueue([withRefs(invoice('in_pw3', 'open', { version: 1_000 }), 'cus_pw3')]);
    const queue = p.worker.planner.queues.get('zendesk')!;
    await until('the dead letter', async () => (await queue.getFailedCount()) === 1);
    const [failed] = await queue.getFailed();
    expect(failed!.failedReason).toBe('zendesk refused the push: RecordInvalid: billing_mrr must be a number');
    expect(failed!.attemptsMade).toBe(1);
    expect(target.pushes).toHaveLength(before);
    await failed!.retry('failed'); // what `dlq replay` does
    await until('the push to reach the target', () => target.pushes.length === before + 1);
    expect(target.pushes.at(-1)!.push.links.stripeCustomerId).toBe('cus_pw3');
  });

  it('follows a resync drain that gave up with a new one: its customers are pushed once the platform is back', async () => {
    await p.daemon.ingestor.enqueue([withRefs(subscription('sub_pw6', 'active', { version: 1_000 }), 'cus_pw6')]);
    await until('the real-time push', () => target.pushes.some((x) => x.push.links.stripeCustomerId === 'cus_pw6'));
    const queue = p.worker.planner.queues.get('zendesk')!;
    const failedBefore = await queue.getFailedCount();
    target.bulkDown = true;
    // A resync found a change: it waits for a bulk call, and Zendesk is down for all of the drain's 20 tries.
    await p.daemon.ingestor.enqueue([
      { ...withRefs(subscription('sub_pw6', 'past_due', { version: 2_000 }), 'cus_pw6'), origin: 'snapshot' },
    ]);
    await until('the drain to give up', async () => (await queue.getFailedCount()) > failedBefore, 30_000);
    const [gaveUp] = (await queue.getFailed()).filter((j) => (j.data as { kind?: string }).kind === 'bulk');
    expect(gaveUp!.failedReason).toMatch(/503/);
    target.bulkDown = false;
    const pushed = await until(
      'the change pushed by the next drain',
      () =>
        target.pushes.find(
          (x) => x.push.links.stripeCustomerId === 'cus_pw6' && x.push.projection.billing?.status === 'past_due',
        ),
      15_000,
    );
    expect(pushed).toBeDefined();
  });

  it('pushes when a customer gains a place to write (a new Account or organization id) though nothing it shows changed', async () => {
    const first = subscription('sub_pw7', 'active', { version: 1_000, eventId: 'evt_pw7_a' });
    await p.daemon.ingestor.enqueue([{ ...first, refs: { stripeCustomerId: 'cus_pw7' } }]);
    await until('the first push', () => target.pushes.some((x) => x.push.links.stripeCustomerId === 'cus_pw7'));
    expect(
      target.pushes.filter((x) => x.push.links.stripeCustomerId === 'cus_pw7').at(-1)!.push.links.zendeskOrganizationId,
    ).toBeNull();
    // The same subscription state, now naming the customer's Zendesk organization (e.g. Stripe metadata added later).
    await p.daemon.ingestor.enqueue([
      { ...first, eventId: 'evt_pw7_b', refs: { stripeCustomerId: 'cus_pw7', zendeskOrganizationId: 'org-pw7' } },
    ]);
    const pushed = await until('the push to the new organization', () =>
      target.pushes.find(
        (x) => x.push.links.stripeCustomerId === 'cus_pw7' && x.push.links.zendeskOrganizationId === 'org-pw7',
      ),
    );
    expect(pushed.push.projection.billing?.status).toBe('active');
  });

  it('pushes what a reconcile pass or a --since resync read back from Stripe in bulk, by the lane in its job data', async () => {
    // A Stripe event the webhook lost, read back from the Events API: its own id and origin ('webhook'), queued
    // with lane 'reconcile' at resync priority. Its job id says nothing of where it came from.
    const events = createEventsQueue(p.daemon.redis, p.daemon.prefix);
    try {
      for (const lane of ['reconcile', 'resync'] as const) {
        const missed = {
          ...subscription(`sub_pw16${lane}`, 'active', { version: 1_000, eventId: `evt_pw16_${lane}` }),
          refs: { stripeCustomerId: `cus_pw16${lane}` },
          lane,
        };
        await events.add(missed.type, missed, { jobId: `stripe-evt_pw16_${lane}`, priority: RESYNC_PRIORITY });
        const record = await until('the record', () => p.worker.store.findByKey(`stripe:cus_pw16${lane}`));
        await until('the bulk push', () => target.bulk.includes(record.id));
        expect(target.pushes.filter((x) => x.push.customerId === record.id)).toHaveLength(1); // that one bulk write, no real-time push
      }
    } finally {
      await events.close();
    }
  });

  it('pushes a real-time job as a real-time push whatever its job id looks like', async () => {
    const live = {
      ...subscription('sub_pw17', 'active', { version: 1_000, eventId: 'evt_pw17' }),
      refs: { stripeCustomerId: 'cus_pw17' },
      lane: 'realtime' as const,
    };
    const events = createEventsQueue(p.daemon.redis, p.daemon.prefix);
    try {
      await events.add(live.type, live, { jobId: 'rs-lookalike-stripe-evt_pw17' });
      const record = await until('the record', () => p.worker.store.findByKey('stripe:cus_pw17'));
      await until('the push', () => target.pushes.some((x) => x.push.customerId === record.id));
      expect(target.bulk).not.toContain(record.id);
    } finally {
      await events.close();
    }
  });

  it("pushes a job queued before lanes were carried (no lane) in bulk when its id is a reconcile pass's", async () => {
    // Left by the previous release in a rolling deploy: the reconciler's `rc-` job id at resync priority, no lane.
    const missed = {
      ...subscription('sub_pw9', 'active', { version: 1_000, eventId: 'evt_pw9_missed' }),
      refs: { stripeCustomerId: 'cus_pw9' },
    };
    const events = createEventsQueue(p.daemon.redis, p.daemon.prefix);
    try {
      await events.add(missed.type, missed, { jobId: 'rc-pass1-stripe-evt_pw9_missed', priority: RESYNC_PRIORITY });
      const record = await until('the record', () => p.worker.store.findByKey('stripe:cus_pw9'));
      await until('the bulk push', () => target.bulk.includes(record.id));
      expect(target.pushes.filter((x) => x.push.customerId === record.id)).toHaveLength(1); // that one bulk write, no real-time push
    } finally {
      await events.close();
    }
  });
  it('sends only the difference after a new contact joins the customer, since the push still writes to the same organization', async () => {
    await p.daemon.ingestor.enqueue([withRefs(invoice('in_pw12', 'open', { version: 1_000 }), 'cus_pw12')]);
    await until('the first push', () => target.pushes.some((x) => x.push.links.stripeCustomerId === 'cus_pw12'));
    const joined = withRefs(invoice('in_pw12b', 'open', { version: 2_000 }), 'cus_pw12');
    await p.daemon.ingestor.enqueue([{ ...joined, refs: { ...joined.refs, zendeskUserId: '9007' } }]);
    await until(
      'the second push',
      () => target.pushes.filter((x) => x.push.links.stripeCustomerId === 'cus_pw12').length === 2,
    );
    const [first, second] = target.pushes
      .filter((x) => x.push.links.stripeCustomerId === 'cus_pw12')
      .map((x) => x.push);
    expect(await p.worker.store.ownedKeys(second!.customerId)).toContain('zduser:9007');
    // The organization is known, so a joining user is no place to write (store.linkKeys): the links stay as they were.
    expect(second!.links).toEqual(first!.links);
    expect(second!.previous?.invoices.map((i) => i.id)).toEqual(['in_pw12']);
  });

  it('wakes a push waiting on backoff as soon as the target answers another push, instead of sleeping out its timer', async () => {
    target.next = ['503-hour'];
    const before = target.attempts.length;
    await p.daemon.ingestor.enqueue([withRefs(invoice('in_pw13', 'open', { version: 1_000 }), 'cus_pw13')]);
    await until('the refused push', () => target.attempts.length > before);
    const queue = p.worker.planner.queues.get('zendesk')!;
    const record = await p.worker.store.findByKey('stripe:cus_pw13');
    const waiting = await until('the push on backoff', async () =>
      (await queue.getDelayed()).find((j) => j.data.customerId === record!.id && j.attemptsMade === 1),
    );
    expect(waiting.delay).toBeGreaterThan(60_000);
    // Another customer's push goes through: the target is back.
    await p.daemon.ingestor.enqueue([withRefs(invoice('in_pw14', 'open', { version: 1_000 }), 'cus_pw14')]);
    await until(
      'the push after the recovery',
      () => target.pushes.some((x) => x.push.links.stripeCustomerId === 'cus_pw13'),
      10_000,
    );
  });

  it('makes every push try and every resync drain the writer of the customer before its first call, each with a fresh token', async () => {
    const writerKey = (id: string) => REDIS_KEYS.push(p.daemon.prefix).writer('zendesk', id);
    target.readWriter = (id) => p.daemon.redis.get(writerKey(id));
    try {
      // A try, a 429 waited out within the job and a second try, then a retry after a 503's backoff.
      target.next = ['429-short', '503'];
      await p.daemon.ingestor.enqueue([withRefs(subscription('sub_pw16', 'active', { version: 1_000 }), 'cus_pw16')]);
      const record = await until('the record', () => p.worker.store.findByKey('stripe:cus_pw16'));
      const mine = () => target.writers.filter((w) => w.customerId === record.id);
      await until('the third try', () => mine().length === 3, 10_000);
      // A resync found a change: a drain writes it.
      await p.daemon.ingestor.enqueue([
        { ...withRefs(subscription('sub_pw16', 'past_due', { version: 2_000 }), 'cus_pw16'), origin: 'snapshot' },
      ]);
      await until('the drain', () => mine().some((w) => w.by === 'bulk'), 10_000);

      const seen = mine();
      expect(seen.map((w) => w.by)).toEqual(['push', 'push', 'push', 'bulk']);
      expect(seen.every((w) => w.token !== null)).toBe(true);
      expect(new Set(seen.map((w) => w.token)).size).toBe(seen.length);
    } finally {
      target.readWriter = undefined;
    }
  });

  it('writes the newest state again when a resync drain and a real-time push of one customer cross (each accepts only over what it read)', async () => {
    // The drain reads the record at v1 and its bulk call is held; a newer real-time change is written while it waits.
    let releaseBulk!: () => void;
    let releaseAnswer!: () => void;
    const events = createEventsQueue(p.daemon.redis, p.daemon.prefix);
    try {
      const older = {
        ...subscription('sub_pw15', 'active', { version: 1_000, eventId: 'evt_pw15_resync' }),
        refs: { stripeCustomerId: 'cus_pw15', zendeskOrganizationId: 'org-pw15' },
      };
      await events.add(older.type, older, { jobId: 'rc-pass2-stripe-evt_pw15_resync', priority: RESYNC_PRIORITY });
      const record = await until('the record', () => p.worker.store.findByKey('stripe:cus_pw15'));
      target.holdBulk.set(record.id, new Promise<void>((r) => (releaseBulk = r)));
      const inBulk = () => target.bulk.includes(record.id);
      // The real-time push writes v2 and its answer is held: the drain's older write lands after it at the platform.
      target.holdAnswer.set(record.id, new Promise<void>((r) => (releaseAnswer = r)));
      await until('the drain holding the older state', () => target.bulkHeld.has(record.id));
      await p.daemon.ingestor.enqueue([
        {
          ...subscription('sub_pw15', 'past_due', { version: 2_000, eventId: 'evt_pw15_live' }),
          refs: { stripeCustomerId: 'cus_pw15' },
        },
      ]);
      await until('the real-time write of v2', () =>
        target.pushes.some((x) => x.push.customerId === record.id && x.push.projection.billing?.status === 'past_due'),
      );
      releaseBulk();
      await until("the drain's older write", inBulk);
      // The drain has accepted its older state; now the real-time push's answer comes back.
      const accepted = acceptedKey(p.daemon.prefix, 'zendesk', record.id);
      await until("the drain's accepted state", async () => (await p.daemon.redis.get(accepted))?.includes('"active"'));
      releaseAnswer();
      const statusLast = async () => {
        const mine = target.pushes.filter((x) => x.push.customerId === record.id);
        return mine.at(-1)?.push.projection.billing?.status;
      };
      await until('the newest state written last', async () => (await statusLast()) === 'past_due', 10_000);
      await new Promise((r) => setTimeout(r, 500)); // let anything still queued for this customer finish
      expect(await statusLast()).toBe('past_due');
    } finally {
      releaseBulk?.();
      releaseAnswer?.();
      await events.close();
    }
  });
});

describe('push worker under its job limiter (BullMQ limiter: at most max push jobs start per window)', () => {
  const RATE = { max: 3, perMs: 1_500 };
  const limited = new RecordingTarget();
  let lp: TestPipeline;
  beforeAll(async () => {
    lp = await startTestPipeline(
      ZD,
      (c) => {
        c.push.debounceMs = 50;
        c.targets.zendesk.rate = RATE;
        c.targets.zendesk.concurrency = 2;
      },
      () => limited,
    );
  });
  afterAll(async () => {
    await lp.stop();
  });
  const queue = () => lp.worker.planner.queues.get('zendesk')! as unknown as Queue;

  it('starts no more than max push jobs in any limiter window when a 429 asks to wait less than the window', async () => {
    limited.next = ['ok', '429-short'];
    const customers = Array.from({ length: 10 }, (_, n) => `cus_lim${n}`);
    await lp.daemon.ingestor.enqueue(
      customers.map((c, n) => withRefs(invoice(`in_lim${n}`, 'open', { version: 1_000 }), c)),
    );
    const pushedAll = () => customers.every((c) => limited.pushes.some((x) => x.push.links.stripeCustomerId === c));
    await until('every customer pushed', pushedAll, 30_000);
    await lp.drainAll();
    const starts = await jobStarts(lp.daemon.redis, queue());
    expect(starts.length).toBeGreaterThanOrEqual(customers.length);
    expect(limiterPeak(starts, RATE.perMs)).toBeLessThanOrEqual(RATE.max);
  });

  it('shows in `status` how long a rate limit keeps the queue paused', async () => {
    // Three seconds outlast the limiter's window: the queue is paused for all of them.
    limited.next = ['429-long'];
    const before = limited.attempts.length;
    await lp.daemon.ingestor.enqueue([withRefs(invoice('in_lim_long', 'open', { version: 1_000 }), 'cus_lim_long')]);
    await until('the refused push', () => limited.attempts.length > before);
    const paused = await until(
      'the pause',
      async () => (await queueStatusOf(queue())).rateLimitedForSeconds || undefined,
    );
    expect(paused).toBeGreaterThanOrEqual(1);
    expect(paused).toBeLessThanOrEqual(3);
    await until(
      'the push after the pause',
      () => limited.pushes.some((x) => x.push.links.stripeCustomerId === 'cus_lim_long'),
      10_000,
    );
    expect((await queueStatusOf(queue())).rateLimitedForSeconds).toBe(0);
  });
});

describe('a rate limit against the job limiter window (pauseForRateLimit)', () => {
  const prefix = uniquePrefix();
  const redis = new Redis(redisUrl());
  const queue = new Queue('push-zendesk', { connection: redis, prefix });
  const limiter = queue.keys.limiter!;
  const PAUSED = Number.MAX_SAFE_INTEGER;
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await deleteByPrefix(redisUrl(), prefix);
  });
  /** A window of BullMQ's limiter in which `jobs` started, `leftMs` before it ends (what its moveToActive script keeps). */
  const window = (jobs: number, leftMs: number) => redis.set(limiter, String(jobs), 'PX', leftMs);

  it('pauses the queue for the whole wait when no window is open, or the window ends within the wait', async () => {
    // (Bounds wide enough for a loaded machine: what matters is which of the two lengths the pause took.)
    await redis.del(limiter);
    expect(await pauseForRateLimit(redis, queue, 5_000, true)).toBe(5_000);
    expect(await queue.getRateLimitTtl(PAUSED)).toBeGreaterThan(3_000);
    await window(2, 500);
    expect(await pauseForRateLimit(redis, queue, 5_000, false)).toBe(5_000);
    expect(await queue.getRateLimitTtl(PAUSED)).toBeGreaterThan(3_000);
  });

  it('leaves a window that outlasts a short wait as it is, its job count kept, for the push to wait in place', async () => {
    await window(2, 20_000);
    expect(await pauseForRateLimit(redis, queue, 1_000, true)).toBe(0);
    expect(await redis.get(limiter)).toBe('2');
    expect(await redis.pttl(limiter)).toBeGreaterThan(10_000);
    expect(await queue.getRateLimitTtl(PAUSED)).toBe(0); // not paused: the window's other jobs may still start
  });

  it('pauses until the window ends, never shorter, when the window outlasts a wait too long to wait in place', async () => {
    await window(2, 20_000);
    const paused = await pauseForRateLimit(redis, queue, 6_000, false);
    expect(paused).toBeGreaterThan(12_000);
    expect(await queue.getRateLimitTtl(PAUSED)).toBeGreaterThan(12_000);
  });
});
