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
 * portal-target.ts; and the push's next try makes only the calls still
 * missing, unless another writer of the customer started since: progress.ts.)
 * When a target answers again after a push of it failed,
 * the pushes waiting on backoff go at once. The calls, their rate limits and
 * the waking are in target-call.ts.
 */
import { createHash } from 'node:crypto';
import { parseStripeKey } from '../events/identity.js';
import { MetricsTime, UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { runScript } from '../redis/scripts.js';
import type { CallGate, PortalTarget, PushResult } from './portal-target.js';
import { callTarget, markTargetDown, targetDownKey, type TargetCallContext } from './target-call.js';
import { portalProjection, type PortalProjection } from '../events/project.js';
import { withMapped } from '../mapping/apply.js';
import type { MappingConfig } from '../mapping/schema.js';
import { cappedBackoffStrategy } from '../backoff.js';
import { createPushQueue, projectionJob, pushQueueName, PushQueueJobSchema, recentPushKey } from './planner.js';
import { createBulkDrainer, type BulkDrainer, type PreparedPush } from './bulk.js';
import { sha256Hex, stableStringify, type CustomerRecord, type Derived } from '../events/record.js';
import type { RecordStore } from '../events/store.js';
import { contactIdentityKey } from '../deflection/contact.js';
import type { DeflectionEvent } from '../deflection/types.js';
import { REDIS_KEYS } from '../redis/keys.js';
import { progressKey, startTry, writerKey } from './progress.js';

export { pauseForRateLimit } from './target-call.js';

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

/** What the pushes of one target need: the worker's options, the target's queue, the log, how to call the target. */
interface PushDeps {
  opts: PushWorkerOptions;
  target: PortalTarget;
  prefix: string;
  queue: Queue;
  log: Logger;
  call: TargetCallContext;
}

/** A push to make, with the sha1 of the accepted state it was prepared against ('' for none): its progress's base. */
type Prepared = Extract<PreparedPush, { kind: 'skip' }> | (Extract<PreparedPush, { kind: 'push' }> & { base: string });

/** The customer's current projection against what the target accepted last: what to send, or why nothing. */
async function preparePush({ opts, target, prefix }: PushDeps, customerId: string): Promise<Prepared> {
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
  const over = raw === null ? '' : createHash('sha1').update(raw).digest('hex');
  const progress = progressKey(prefix, target.name, customerId);
  return {
    kind: 'push',
    base: over,
    push: {
      customerId,
      links,
      profile: record.derived.profile,
      projection,
      previous: sameLinks ? accepted!.projection : null,
    },
    accept: async (writer) => {
      const next = JSON.stringify({ hash, projection, links, at: new Date().toISOString() } satisfies Accepted);
      const keys: [string, string, string] = [key, progress, writerKey(prefix, target.name, customerId)];
      return Number(await runScript(opts.redis, 'push-accept-over', keys, [over, next, writer])) === 1;
    },
  };
}

/**
 * Two pushes of one customer crossed (a resync drain and a real-time push): the platform may hold the older
 * write, so the customer is pushed once more, in full, after this job (the queue keeps it behind the active one).
 */
async function pushAgain({ target, queue, log }: PushDeps, customerId: string, why: string): Promise<void> {
  log.info({ customerId, reason: why }, 'pushing the customer again');
  const j = projectionJob(customerId, target.name);
  await queue.add(j.name, j.data, j.opts);
}

/**
 * One customer's projection, written unless the target already holds it; the accepted state stored after. Each
 * try (callTarget makes it again after a rate limit waited out in the job; the job's retries; a stalled job run
 * again) first makes itself the customer's writer and reads the progress kept under the writer before it, then
 * makes only the calls still missing (progress.ts).
 */
async function pushProjection(deps: PushDeps, customerId: string): Promise<PushResult> {
  const { opts, target, prefix, log } = deps;
  const prepared = await preparePush(deps, customerId);
  if (prepared.kind === 'skip') {
    if (prepared.counted) opts.onPushed?.(target.name, prepared.result);
    return prepared.result;
  }
  const keys = {
    progress: progressKey(prefix, target.name, customerId),
    writer: writerKey(prefix, target.name, customerId),
  };
  let writer = '';
  const result = await callTarget(deps.call, customerId, async () => {
    const { token, unfinished, done, onDone } = await startTry(opts.redis, keys, prepared.base, log);
    writer = token;
    // A writer stopped before its accept (this push's own earlier try, too): it may have written part of a
    // change that the record has undone since, which the difference from the accepted state would not name.
    const push = unfinished ? { ...prepared.push, previous: null } : prepared.push;
    return target.push({ ...push, done, onDone });
  });
  // The customer's next change is debounced from here (the planner reads this key; no key: it leads). Sent
  // with the accepted state, in the same round trip.
  const written = result.calls > 0 || (result.kept?.length ?? 0) > 0;
  const debounced = written && (opts.debounceMs ?? 0) > 0;
  const [kept] = await Promise.all([
    prepared.accept(writer),
    debounced ? opts.redis.set(recentPushKey(prefix, target.name, customerId), '1', 'PX', opts.debounceMs!) : undefined,
  ]);
  opts.onPushed?.(target.name, result);
  if (!kept)
    await pushAgain(deps, customerId, 'another push of this customer was accepted while this one was on its way');
  return result;
}

/** Written where the customer lives NOW: a record merged since the decision is found again through its contact. */
async function pushDeflection({ opts, target, call }: PushDeps, event: DeflectionEvent): Promise<PushResult> {
  if (!target.recordDeflection) return { calls: 0, wrote: [], skipped: `${target.name} records no deflection events` };
  const record =
    (await opts.store.get(event.customerId)) ?? (await opts.store.findByKey(contactIdentityKey(event.contact)));
  if (record === null) return { calls: 0, wrote: [], skipped: 'record no longer exists' };
  const links = linksFor(record, await opts.store.linkKeys(record));
  const result = await callTarget(call, event.customerId, () => target.recordDeflection!(event, links));
  opts.onPushed?.(target.name, result);
  return result;
}

/**
 * Resync pushes: many customers per call (bulk.ts), on the same queue, behind real-time pushes. A drain keeps no
 * progress: it sets each customer's writer token before its call (so no push trusts progress kept before it), a
 * failed bulk call's customers are pushed again in full, and the accept of each customer it wrote deletes that
 * customer's progress with the old accepted state.
 */
function createDrainer(deps: PushDeps): BulkDrainer {
  const { opts, target, prefix, queue } = deps;
  return createBulkDrainer({
    redis: opts.redis,
    prefix,
    target,
    queue,
    slots: opts.concurrency,
    gate: opts.gate ?? (async () => undefined),
    prepare: (customerId) => preparePush(deps, customerId),
    pushAlone: async (customerId) => {
      const j = projectionJob(customerId, target.name, { resync: true });
      await queue.add(j.name, j.data, j.opts);
    },
    ...(opts.onPushed ? { onPushed: (r: PushResult) => opts.onPushed!(target.name, r) } : {}),
    logger: opts.logger,
    ...(opts.bulkHoldMaxMs !== undefined ? { holdMaxMs: opts.bulkHoldMaxMs } : {}),
  });
}

/** One push job: a bulk drain, a deflection event, or one customer's projection. */
async function handlePushJob(deps: PushDeps, bulk: BulkDrainer, job: Job, token?: string): Promise<unknown> {
  const parsed = PushQueueJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError('push job data is not a v1 push job');
  const data = parsed.data;
  if (data.kind === 'bulk') {
    const drained = await callTarget(deps.call, `bulk:${job.id}`, async () => ({
      ...(await bulk.drain(job, token)),
      wrote: [],
    }));
    deps.log.debug({ jobId: job.id, ...drained }, 'bulk drain');
    return drained;
  }
  const result =
    data.kind === 'deflection' ? await pushDeflection(deps, data.event) : await pushProjection(deps, data.customerId);
  deps.log.debug(
    {
      customerId: data.customerId,
      kind: data.kind ?? 'projection',
      calls: result.calls,
      wrote: result.wrote,
      kept: result.kept,
      skipped: result.skipped,
    },
    'pushed',
  );
  return result;
}

/** A failed push: the target marked down while it waits on backoff; a drain that gave up leaves a drain job behind it. */
function onPushFailed({ call, log }: PushDeps, bulk: BulkDrainer, job: Job | undefined, err: Error): void {
  if (!job) return;
  const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
  if (!final) markTargetDown(call);
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
}

export function createPushWorker(opts: PushWorkerOptions): Worker {
  const { target, prefix } = opts;
  const log = opts.logger.child({ module: 'push-worker', target: target.name });
  // Jobs added here (follow-up drains, customers handed back from a bulk answer) retry and expire like the planner's.
  const queue = createPushQueue(opts.redis, prefix, target.name, opts.backoffMs ?? 2_000) as unknown as Queue;
  queue.on('error', () => undefined); // reported by the connection's users
  const call = { targetName: target.name, redis: opts.redis, queue, downKey: targetDownKey(prefix, target.name), log };
  const deps: PushDeps = { opts, target, prefix, queue, log, call };
  const bulk = createDrainer(deps);
  const worker: Worker = new Worker(
    pushQueueName(target.name),
    (job: Job, token?: string) => handlePushJob(deps, bulk, job, token),
    {
      connection: opts.connection,
      prefix,
      concurrency: opts.concurrency,
      metrics: { maxDataPoints: MetricsTime.TWO_WEEKS },
      limiter: { max: opts.rate.max, duration: opts.rate.perMs },
      settings: { backoffStrategy: cappedBackoffStrategy(opts.maxBackoffMs ?? 600_000) },
    },
  );
  worker.on('failed', (job, err) => onPushFailed(deps, bulk, job, err));
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
