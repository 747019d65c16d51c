/**
 * The push worker of one portal target: reads the customer's CURRENT record,
 * skips it when the target already accepted exactly this (hash of links +
 * projection kept per customer and target), otherwise lets the target write
 * the difference. The target's rate limit is global (BullMQ limiter on the
 * target's own queue); a rate limit (a 429, the call gate, the API budget) is
 * waited out as pauseForRateLimit decides — within the push when it is short
 * and the limiter's window outlasts it, else by pausing the whole queue — and
 * never opens a second window of jobs inside the limiter's; 5xx back off;
 * other 4xx are dead-lettered with the platform's message. (The targets retry
 * a failed call a few times within the push first: retryingCall in
 * portal-target.ts.) When a target answers again after a push of it failed,
 * the pushes waiting on backoff go at once.
 */
import { createHash } from 'node:crypto';
import { parseStripeKey } from '../events/identity.js';
import { MetricsTime, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { PermanentError, RateLimitedError } from '../errors.js';
import { runScript } from '../redis/scripts.js';
import type { CallGate, PortalTarget, PushResult } from './portal-target.js';
import { portalProjection, type PortalProjection } from '../events/project.js';
import { withMapped } from '../mapping/apply.js';
import type { MappingConfig } from '../mapping/schema.js';
import { cappedBackoffStrategy } from '../backoff.js';
import { createPushQueue, projectionJob, pushQueueName, PushQueueJobSchema, recentPushKey } from './planner.js';
import { createBulkDrainer, type PreparedPush } from './bulk.js';
import { sha256Hex, stableStringify, type CustomerRecord, type Derived } from '../events/record.js';
import type { RecordStore } from '../events/store.js';
import { contactIdentityKey } from '../deflection/contact.js';
import type { DeflectionEvent } from '../deflection/types.js';
import { REDIS_KEYS } from '../redis/keys.js';

export interface PushWorkerOptions {
  connection: Redis;
  /** For the accepted-state keys (not blocking). */
  redis: Redis;
  prefix: string;
  store: RecordStore;
  target: PortalTarget;
  rate: { max: number; perMs: number };
  concurrency: number;
  logger: Logger;
  onPushed?: (target: string, result: PushResult | { skipped: string; calls: 0; wrote: [] }) => void;
  /** The target's call gate, handed to bulk pushes of targets whose client does not call it itself (BulkContext). */
  gate?: CallGate;
  /** Retries: the first delay and the longest (config push.backoffMs, push.maxBackoffMs). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** The push debounce (config push.debounceMs): after a written push, the customer's next one waits out this window. */
  debounceMs?: number;
  /** Longest wait of resync pushes for a running resync (bulk.ts; default 60 min). */
  bulkHoldMaxMs?: number;
  /** The configured field mapping: its values for this target join the projection pushed (and its hash). */
  mapping?: MappingConfig;
}

interface Accepted {
  hash: string;
  projection: PortalProjection;
  links?: Derived['links'];
  at: string;
}

/**
 * Where the customer lives on each platform. The identity keys are the truth here: a Zendesk
 * organization named by a ticket is known before its own organization event ever arrives.
 */
export function linksFor(record: CustomerRecord, ownedKeys: readonly string[]): Derived['links'] {
  const one = (family: string) => ownedKeys.find((k) => k.startsWith(`${family}:`))?.slice(family.length + 1) ?? null;
  const d = record.derived.links;
  const contacts = [...d.contacts];
  for (const key of ownedKeys.filter((k) => k.startsWith('zduser:'))) {
    const id = key.slice('zduser:'.length);
    if (!contacts.some((c) => c.zendeskUserId === id))
      contacts.push({ email: null, name: null, salesforceContactId: null, zendeskUserId: id });
  }
  const stripe = ownedKeys.map(parseStripeKey).find((k) => k !== null) ?? null;
  return {
    stripeCustomerId: d.stripeCustomerId ?? stripe?.customerId ?? null,
    ...(stripe?.accountId && { stripeAccountId: stripe.accountId }),
    salesforceAccountId: d.salesforceAccountId ?? one('sfacct'),
    zendeskOrganizationId: d.zendeskOrganizationId ?? one('zdorg'),
    contacts,
  };
}

export function acceptedKey(prefix: string, target: string, customerId: string): string {
  return REDIS_KEYS.push(prefix).accepted(target, customerId);
}

/** The projection the target accepted last for this customer (null: never pushed there). */
export async function acceptedProjection(
  redis: Redis,
  prefix: string,
  target: string,
  customerId: string,
): Promise<PortalProjection | null> {
  const raw = await redis.get(acceptedKey(prefix, target, customerId));
  return raw === null ? null : (JSON.parse(raw) as Accepted).projection;
}

/** Set while a target is failing (a push of it failed and waits on backoff); cleared by the first push it answers again. */
const targetDownKey = (prefix: string, target: string): string => REDIS_KEYS.push(prefix).down(target);
const DOWN_TTL_MS = 24 * 3600_000;
/** Pushes woken at most per recovery (the rest keep their backoff timers). */
const WAKE_AT_MOST = 5_000;
const WAKE_PAGE = 500;

/**
 * The target answers again after failing: the pushes waiting on backoff for it (delayed jobs that have
 * failed before; debounced ones have not) go to the queue now instead of each sleeping out its timer.
 * They still pass the queue's limiter and the target's call gate. Returns how many were woken.
 */
async function wakeBackedOff(queue: Queue, atMost = WAKE_AT_MOST): Promise<number> {
  let woken = 0;
  for (let start = 0; woken < atMost; start += WAKE_PAGE) {
    const page = await queue.getDelayed(start, start + WAKE_PAGE - 1);
    if (page.length === 0) break;
    for (const job of page) {
      if (job.attemptsMade === 0 || woken >= atMost) continue;
      // Gone or moved on since the page was read: nothing to wake.
      if (
        await job.promote().then(
          () => true,
          () => false,
        )
      )
        woken += 1;
    }
    if (page.length < WAKE_PAGE) break;
  }
  return woken;
}

/** The most a push waits out rate limits within itself, in all, before it pauses its queue instead. */
const RATE_WAIT_IN_PLACE_MS = 5_000;
/** The job count of a paused limiter window: what BullMQ's own rateLimit sets, and what `status` reads as a pause. */
const PAUSED_COUNT = String(Number.MAX_SAFE_INTEGER);

/**
 * How a push waits out a rate limit of `waitMs` without letting more than the limiter's `max` jobs start
 * in one of its windows. BullMQ pauses a queue by setting its limiter's job count to a huge number for
 * the pause (Worker.rateLimit), which replaces the count of the window running: a pause shorter than
 * what is left of the window would end it early, and a fresh window of `max` jobs would open inside the
 * old one. So (atomically, in push-pause-1.lua):
 * - the window ends within the wait, or none is open: the queue pauses for the whole wait (the count it
 *   drops would have expired before the pause ends); returns `waitMs`;
 * - the window outlasts the wait and `mayWaitInPlace`: returns 0 — the caller waits within its job and
 *   calls again, holding its worker slot, while the window's count stays as it is;
 * - the window outlasts the wait otherwise (a longer wait): the window is marked full until it ends, and
 *   the queue pauses that long, a little more than asked; returns it.
 */
export async function pauseForRateLimit(
  redis: Redis,
  queue: Queue,
  waitMs: number,
  mayWaitInPlace: boolean,
): Promise<number> {
  const wait = Math.max(1, Math.ceil(waitMs));
  return Number(
    await runScript(redis, 'push-pause', [queue.keys.limiter!], [wait, mayWaitInPlace ? '1' : '0', PAUSED_COUNT]),
  );
}

export function createPushWorker(opts: PushWorkerOptions): Worker {
  const { target, prefix } = opts;
  const log = opts.logger.child({ module: 'push-worker', target: target.name });
  /** A target call, its failure turned into what BullMQ acts on. */
  const downKey = targetDownKey(prefix, target.name);
  /** The first answer after an outage: one worker (whoever deletes the key) wakes the pushes on backoff. */
  const answered = async (): Promise<void> => {
    if ((await opts.redis.del(downKey)) === 0) return;
    const woken = await wakeBackedOff(queue);
    if (woken > 0) log.info({ woken }, 'target answers again: pushes waiting on backoff go now');
  };
  const call = async (customerId: string, write: () => Promise<PushResult>): Promise<PushResult> => {
    for (let waitedInPlace = 0; ;) {
      try {
        const result = await write();
        if (result.calls > 0)
          void answered().catch((err: unknown) =>
            log.warn({ err: (err as Error).message }, 'could not wake the pushes waiting on backoff'),
          );
        return result;
      } catch (err) {
        if (err instanceof RateLimitedError) {
          const wait = Math.max(1, Math.ceil(err.retryAfterMs));
          const mayWaitInPlace = waitedInPlace + wait <= RATE_WAIT_IN_PLACE_MS;
          const pausedMs = await pauseForRateLimit(opts.redis, queue, wait, mayWaitInPlace);
          const fields = { customerId, retryAfterMs: err.retryAfterMs, reason: err.message };
          if (pausedMs === 0) {
            // Our own limit's refusals are routine under load; a platform's 429 is worth seeing.
            log[err.local ? 'debug' : 'warn'](fields, 'rate limited: waiting within the push');
            await new Promise((r) => setTimeout(r, wait));
            waitedInPlace += wait;
            continue; // the push is made again as a whole, as a re-run of its job would be (its writes are upserts)
          }
          log.warn({ ...fields, pausedMs }, 'rate limited: pausing the queue');
          throw Worker.RateLimitError();
        }
        if (err instanceof PermanentError)
          throw new UnrecoverableError(`${target.name} refused the push: ${err.message}`);
        throw err; // retryable: exponential backoff with jitter
      }
    }
  };

  /** The customer's current projection against what the target accepted last: what to send, or why nothing. */
  const prepare = async (customerId: string): Promise<PreparedPush> => {
    const record = await opts.store.get(customerId);
    if (record === null) {
      // Merged into another record (which has its own push) or removed by an admin.
      return { kind: 'skip', result: { calls: 0, wrote: [], skipped: 'record no longer exists' }, counted: false };
    }
    const projection = withMapped(portalProjection(record.derived), opts.mapping, target.name, record);
    const links = linksFor(record, await opts.store.linkKeys(record));
    const hash = sha256Hex(stableStringify({ links, projection }));
    const key = acceptedKey(prefix, target.name, customerId);
    const raw = await opts.redis.get(key);
    const accepted = raw === null ? null : (JSON.parse(raw) as Accepted);
    if (accepted?.hash === hash) {
      return {
        kind: 'skip',
        result: { calls: 0, wrote: [], skipped: 'unchanged since the last accepted push' },
        counted: true,
      };
    }
    // Moved to another organization or Account: write everything there, not just the difference.
    const place = (l: Derived['links']) => stableStringify(target.placeOf ? (target.placeOf(l) ?? null) : l);
    const sameLinks = accepted?.links !== undefined && place(accepted.links) === place(links);
    return {
      kind: 'push',
      push: {
        customerId,
        links,
        profile: record.derived.profile,
        projection,
        previous: sameLinks ? accepted!.projection : null,
      },
      accept: async () => {
        const next = JSON.stringify({ hash, projection, links, at: new Date().toISOString() } satisfies Accepted);
        const over = raw === null ? '' : createHash('sha1').update(raw).digest('hex');
        return Number(await runScript(opts.redis, 'push-accept-over', [key], [over, next])) === 1;
      },
    };
  };

  /**
   * Two pushes of one customer crossed (a resync drain and a real-time push): the platform may hold the older
   * write, so the customer is pushed once more, in full, after this job (the queue keeps it behind the active one).
   */
  const pushAgain = async (customerId: string, why: string): Promise<void> => {
    log.info({ customerId, reason: why }, 'pushing the customer again');
    const j = projectionJob(customerId, target.name);
    await queue.add(j.name, j.data, j.opts);
  };

  const pushProjection = async (customerId: string): Promise<PushResult> => {
    const prepared = await prepare(customerId);
    if (prepared.kind === 'skip') {
      if (prepared.counted) opts.onPushed?.(target.name, prepared.result);
      return prepared.result;
    }
    const result = await call(customerId, () => target.push(prepared.push));
    // The customer's next change is debounced from here (the planner reads this key; no key: it leads). Sent
    // with the accepted state, in the same round trip.
    const debounced = result.calls > 0 && (opts.debounceMs ?? 0) > 0;
    const [kept] = await Promise.all([
      prepared.accept(),
      debounced
        ? opts.redis.set(recentPushKey(prefix, target.name, customerId), '1', 'PX', opts.debounceMs!)
        : undefined,
    ]);
    opts.onPushed?.(target.name, result);
    if (!kept) await pushAgain(customerId, 'another push of this customer was accepted while this one was on its way');
    return result;
  };

  // Resync pushes: many customers per call (bulk.ts), on the same queue, behind real-time pushes.
  // Jobs added here (follow-up drains, customers handed back from a bulk answer) retry and expire like the planner's.
  const queue = createPushQueue(opts.redis, prefix, target.name, opts.backoffMs ?? 2_000) as unknown as Queue;
  queue.on('error', () => undefined); // reported by the connection's users
  const bulk = createBulkDrainer({
    redis: opts.redis,
    prefix,
    target,
    queue,
    slots: opts.concurrency,
    gate: opts.gate ?? (async () => undefined),
    prepare,
    pushAlone: async (customerId) => {
      const j = projectionJob(customerId, target.name, { resync: true });
      await queue.add(j.name, j.data, j.opts);
    },
    ...(opts.onPushed ? { onPushed: (r: PushResult) => opts.onPushed!(target.name, r) } : {}),
    logger: opts.logger,
    ...(opts.bulkHoldMaxMs !== undefined ? { holdMaxMs: opts.bulkHoldMaxMs } : {}),
  });

  /** Written where the customer lives NOW: a record merged since the decision is found again through its contact. */
  const pushDeflection = async (event: DeflectionEvent): Promise<PushResult> => {
    if (!target.recordDeflection)
      return { calls: 0, wrote: [], skipped: `${target.name} records no deflection events` };
    const record =
      (await opts.store.get(event.customerId)) ?? (await opts.store.findByKey(contactIdentityKey(event.contact)));
    if (record === null) return { calls: 0, wrote: [], skipped: 'record no longer exists' };
    const links = linksFor(record, await opts.store.linkKeys(record));
    const result = await call(event.customerId, () => target.recordDeflection!(event, links));
    opts.onPushed?.(target.name, result);
    return result;
  };

  const worker: Worker = new Worker(
    pushQueueName(target.name),
    async (job: Job, token?: string) => {
      const parsed = PushQueueJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError('push job data is not a v1 push job');
      const data = parsed.data;
      if (data.kind === 'bulk') {
        const drained = await call(`bulk:${job.id}`, async () => ({ ...(await bulk.drain(job, token)), wrote: [] }));
        log.debug({ jobId: job.id, ...drained }, 'bulk drain');
        return drained;
      }
      const result =
        data.kind === 'deflection' ? await pushDeflection(data.event) : await pushProjection(data.customerId);
      log.debug(
        {
          customerId: data.customerId,
          kind: data.kind ?? 'projection',
          calls: result.calls,
          wrote: result.wrote,
          skipped: result.skipped,
        },
        'pushed',
      );
      return result;
    },
    {
      connection: opts.connection,
      prefix,
      concurrency: opts.concurrency,
      metrics: { maxDataPoints: MetricsTime.TWO_WEEKS },
      limiter: { max: opts.rate.max, duration: opts.rate.perMs },
      settings: { backoffStrategy: cappedBackoffStrategy(opts.maxBackoffMs ?? 600_000) },
    },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    // Waiting on backoff now: the target's next answer wakes it (and every other push waiting so).
    if (!final) void opts.redis.set(downKey, '1', 'PX', DOWN_TTL_MS).catch(() => undefined);
    log[final ? 'error' : 'warn'](
      { jobId: job.id, attempt: job.attemptsMade, reason: err.message, deadLettered: final },
      final ? 'push dead-lettered' : 'push failed; will retry',
    );
    // A drain that gave up (a long outage) put its batch back; the customers still waiting need a drain job, or
    // they would wait for the next resync or worker start. The new one starts its own retries from the first.
    if (final && (job.data as { kind?: unknown } | undefined)?.kind === 'bulk') {
      void bulk
        .kick()
        .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'could not schedule a drain after one gave up'));
    }
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'push worker connection error'));
  worker.on('closed', () => void queue.close().catch(() => undefined));
  void worker
    .waitUntilReady()
    .then(() => bulk.kick())
    .catch((err: unknown) =>
      log.warn({ err: (err as Error).message }, 'could not look for resync pushes left over by a stopped worker'),
    );
  return worker;
}
