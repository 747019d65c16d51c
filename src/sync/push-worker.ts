/**
 * The push worker of one portal target: reads the customer's CURRENT record,
 * skips it when the target already accepted exactly this (hash of links +
 * projection kept per customer and target), otherwise lets the target write
 * the difference. The target's rate limit is global (BullMQ limiter on the
 * target's own queue); a 429 pauses the whole queue for Retry-After instead
 * of sleeping in a job; 5xx back off; other 4xx are dead-lettered with the
 * platform's message.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { PermanentError, RateLimitedError, type PortalTarget, type PushResult } from './portal-target.js';
import { portalProjection, type PortalProjection } from './project.js';
import { pushQueueName, PushJobSchema } from './push-planner.js';
import { sha256Hex, stableStringify, type CustomerRecord, type Derived } from './record.js';
import type { RecordStore } from './store.js';
import { contactIdentityKey } from './deflection/contact.js';
import type { DeflectionEvent } from './deflection/types.js';

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
    if (!contacts.some((c) => c.zendeskUserId === id)) contacts.push({ email: null, name: null, salesforceContactId: null, zendeskUserId: id });
  }
  return {
    stripeCustomerId: d.stripeCustomerId ?? one('stripe'),
    salesforceAccountId: d.salesforceAccountId ?? one('sfacct'),
    zendeskOrganizationId: d.zendeskOrganizationId ?? one('zdorg'),
    contacts,
  };
}

export function acceptedKey(prefix: string, target: string, customerId: string): string {
  return `${prefix}:pushed:${target}:${customerId}`;
}

export function createPushWorker(opts: PushWorkerOptions): Worker {
  const { target, prefix } = opts;
  const log = opts.logger.child({ module: 'push-worker', target: target.name });
  /** A target call, its failure turned into what BullMQ acts on. */
  const call = async (customerId: string, write: () => Promise<PushResult>): Promise<PushResult> => {
    try {
      return await write();
    } catch (err) {
      if (err instanceof RateLimitedError) {
        log.warn({ customerId, retryAfterMs: err.retryAfterMs }, 'rate limited by the platform: pausing the queue');
        await worker.rateLimit(err.retryAfterMs);
        throw Worker.RateLimitError();
      }
      if (err instanceof PermanentError) throw new UnrecoverableError(`${target.name} refused the push: ${err.message}`);
      throw err; // retryable: exponential backoff with jitter
    }
  };

  const pushProjection = async (customerId: string): Promise<PushResult> => {
    const record = await opts.store.get(customerId);
    if (record === null) {
      // Merged into another record (which has its own push) or removed by an admin.
      return { calls: 0, wrote: [], skipped: 'record no longer exists' };
    }
    const projection = portalProjection(record.derived);
    const links = linksFor(record, await opts.store.ownedKeys(customerId));
    const hash = sha256Hex(stableStringify({ links, projection }));
    const key = acceptedKey(prefix, target.name, customerId);
    const raw = await opts.redis.get(key);
    const accepted = raw === null ? null : (JSON.parse(raw) as Accepted);
    if (accepted?.hash === hash) {
      const skipped = { calls: 0 as const, wrote: [] as [], skipped: 'unchanged since the last accepted push' };
      opts.onPushed?.(target.name, skipped);
      return skipped;
    }
    // Moved to another organization or Account: write everything there, not just the difference.
    const sameLinks = accepted?.links !== undefined && stableStringify(accepted.links) === stableStringify(links);
    const result = await call(customerId, () =>
      target.push({ customerId, links, profile: record.derived.profile, projection, previous: sameLinks ? accepted!.projection : null }),
    );
    await opts.redis.set(key, JSON.stringify({ hash, projection, links, at: new Date().toISOString() } satisfies Accepted));
    opts.onPushed?.(target.name, result);
    return result;
  };

  /** Written where the customer lives NOW: a record merged since the decision is found again through its contact. */
  const pushDeflection = async (event: DeflectionEvent): Promise<PushResult> => {
    if (!target.recordDeflection) return { calls: 0, wrote: [], skipped: `${target.name} records no deflection events` };
    const record = (await opts.store.get(event.customerId)) ?? (await opts.store.findByKey(contactIdentityKey(event.contact)));
    if (record === null) return { calls: 0, wrote: [], skipped: 'record no longer exists' };
    const links = linksFor(record, await opts.store.ownedKeys(record.id));
    const result = await call(event.customerId, () => target.recordDeflection!(event, links));
    opts.onPushed?.(target.name, result);
    return result;
  };

  const worker: Worker = new Worker(
    pushQueueName(target.name),
    async (job: Job) => {
      const parsed = PushJobSchema.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError('push job data is not a v1 push job');
      const data = parsed.data;
      const result = data.kind === 'deflection' ? await pushDeflection(data.event) : await pushProjection(data.customerId);
      log.debug({ customerId: data.customerId, kind: data.kind ?? 'projection', calls: result.calls, wrote: result.wrote, skipped: result.skipped }, 'pushed');
      return result;
    },
    {
      connection: opts.connection,
      prefix,
      concurrency: opts.concurrency,
      limiter: { max: opts.rate.max, duration: opts.rate.perMs },
    },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    log[final ? 'error' : 'warn']({ jobId: job.id, attempt: job.attemptsMade, reason: err.message, deadLettered: final }, final ? 'push dead-lettered' : 'push failed; will retry');
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'push worker connection error'));
  return worker;
}
