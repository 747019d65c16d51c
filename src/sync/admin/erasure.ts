/**
 * Erasing a customer everywhere portal-sync keeps it in Redis (`identity
 * forget`). The record and its index go with IdentityAdmin.forget; every
 * other copy is found by one sweep of the whole key prefix, whatever wrote
 * it: deflection sessions and events, quarantined payloads, outbound history
 * and lanes, BullMQ jobs in any state (their payloads, return values, logs
 * and event streams). What matches the customer's emails (any case, URL- or
 * JSON-escaped), record id or Stripe customer ids is deleted, except in
 * audit trails, where each match is replaced by a keyed hash so that the
 * entry stays as a pseudonymous reference. A second sweep proves it: the
 * emails must be found nowhere (`remaining` lists the keys if they are).
 */
import { parseStripeKey } from '../events/identity.js';
import { Job, type Queue } from 'bullmq';
import { FORGOTTEN_ELEMENT, isBatchData, type BatchJobData } from '../events/batch-job.js';
import type { Redis } from 'ioredis';
import type { CustomerRecord } from '../events/record.js';
import type { RecordStore } from '../events/store.js';
import { REDIS_KEYS, type QueueName } from '../redis/keys.js';
import { openQueue } from '../queues.js';

export interface SweepResult {
  /** Keys deleted whole. */
  keysDeleted: number;
  /** Members, fields, list items and stream entries removed from keys that hold other data too. */
  itemsRemoved: number;
  /** BullMQ jobs removed (any state). */
  jobsRemoved: number;
  /** Audit entries whose references were replaced by hashes. */
  pseudonymized: number;
}

/** An email as the sweep looks for it: as is, URL-escaped, JSON-escaped (`\u0040`). */
function emailVariants(email: string): string[] {
  const e = email.trim().toLowerCase();
  return [e, encodeURIComponent(e).toLowerCase(), e.replace('@', '\\u0040')];
}

/**
 * What a sweep looks for when only one identity key of a forgotten customer is known (its record is gone):
 * an email, or a Stripe customer id. Other keys (Salesforce, Zendesk ids) may name other customers' objects too.
 */
export function needlesOfKey(key: string): { emails: string[]; all: string[] } {
  if (key.startsWith('email:')) {
    const emails = emailVariants(key.slice('email:'.length));
    return { emails, all: emails };
  }
  const stripe = parseStripeKey(key);
  if (stripe) return { emails: [], all: [stripe.customerId.toLowerCase()].filter((n) => n.length >= 6) };
  return { emails: [], all: [] };
}

/** What the sweep looks for: the customer's emails, its record id and Stripe customer ids. */
export function needlesOf(record: CustomerRecord, ownedKeys: readonly string[]): { emails: string[]; all: string[] } {
  const emails = new Set<string>();
  const add = (e: string | null | undefined) => void (e && e.includes('@') && emails.add(e.trim().toLowerCase()));
  for (const c of record.derived.links.contacts) add(c.email);
  add(record.derived.profile?.primaryEmail);
  add(record.stripe.customer?.data.email);
  for (const u of Object.values(record.zendesk.users)) add(u.data.email);
  for (const c of Object.values(record.salesforce.contacts)) add(c.data.email);
  for (const k of ownedKeys) if (k.startsWith('email:')) add(k.slice('email:'.length));
  const variants = [...emails].flatMap(emailVariants);
  // Only ids that name this customer alone: another customer's payload may carry its Salesforce or Zendesk
  // ids (Stripe metadata, an organization's external_id), and that customer's data is not this one's to erase.
  const ids = [record.id, ...ownedKeys.flatMap((k) => parseStripeKey(k)?.customerId.toLowerCase() ?? [])];
  return { emails: [...new Set(variants)], all: [...new Set([...variants, ...ids])].filter((n) => n.length >= 6) };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A needle as a whole word: an email is not matched inside a longer one (erasing ann@x.com must not
 * touch joann@x.com or ann@x.com.au), nor an id inside a longer id.
 */
function wordOf(needle: string): string {
  const email = needle.includes('@') || needle.includes('%40') || needle.includes('\\u0040');
  return email
    ? `(?<![a-z0-9._%+\\-])${escape(needle)}(?![a-z0-9-]|\\.[a-z0-9])`
    : `(?<![a-z0-9_])${escape(needle)}(?![a-z0-9_])`;
}

const patterns = new WeakMap<readonly string[], RegExp>();
function patternOf(needles: readonly string[]): RegExp {
  let re = patterns.get(needles);
  if (!re) patterns.set(needles, (re = new RegExp(needles.map(wordOf).join('|'), 'i')));
  return re;
}

const matches = (text: string, needles: readonly string[]): boolean =>
  needles.length > 0 && patternOf(needles).test(text);

function replaceAll(text: string, needles: readonly string[], hash: (n: string) => string): string {
  let out = text;
  for (const n of needles) out = out.replace(new RegExp(wordOf(n), 'gi'), hash(n));
  return out;
}

export class Eraser {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly store: RecordStore,
    /** Every BullMQ queue under the prefix, so that a job is removed through BullMQ (its id leaves every state list). */
    private readonly queueNames: readonly QueueName[],
  ) {}

  private isAudit(key: string): boolean {
    return (
      key === this.store.globalAuditKey ||
      (key.startsWith(REDIS_KEYS.records(this.prefix).head) && key.endsWith(':audit'))
    );
  }

  /** The queue and job id of a BullMQ job hash key, if it is one. */
  private jobOf(key: string): { queue: QueueName; id: string } | null {
    for (const q of this.queueNames) {
      const head = REDIS_KEYS.queue(this.prefix, q);
      if (key.startsWith(head) && !key.slice(head.length).includes(':'))
        return { queue: q, id: key.slice(head.length) };
    }
    return null;
  }

  /**
   * A batch job (batch-job.ts) holds other customers' events too: the ones that name a needle are replaced by the
   * forgotten marker and the job stays. Returns how many were replaced; 0 when the job is no batch, or when the
   * rest of it (a return value, a failure reason) names a needle too: then it is removed whole, like any job.
   */
  private async scrubBatch(
    job: { queue: QueueName; id: string },
    fields: Record<string, string>,
    needles: readonly string[],
  ): Promise<number> {
    let data: unknown;
    try {
      data = JSON.parse(fields['data'] ?? 'null');
    } catch {
      return 0;
    }
    if (!isBatchData(data)) return 0;
    let replaced = 0;
    const events = data.events.map((e) => {
      if (!matches(JSON.stringify(e), needles)) return e;
      replaced++;
      return FORGOTTEN_ELEMENT;
    });
    const scrubbed: BatchJobData = { v: 1, events };
    if (replaced === 0 || matches(JSON.stringify({ ...fields, data: JSON.stringify(scrubbed) }), needles)) return 0;
    const found = await Job.fromId(this.queue(job.queue), job.id);
    if (!found) return 0;
    await found.updateData(scrubbed);
    return replaced;
  }

  private queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = openQueue(name, this.redis, this.prefix)));
    return q;
  }

  async *keys(): AsyncGenerator<string> {
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', REDIS_KEYS.everything(this.prefix), 'COUNT', 1000);
      cursor = next;
      yield* batch;
    } while (cursor !== '0');
  }

  /** Removes (or, in audits, pseudonymizes) every copy of the needles under the prefix. */
  async sweep(needles: readonly string[], hash: (n: string) => string): Promise<SweepResult> {
    const r: SweepResult = { keysDeleted: 0, itemsRemoved: 0, jobsRemoved: 0, pseudonymized: 0 };
    for await (const key of this.keys()) {
      const type = await this.redis.type(key);
      const fields = type === 'hash' ? await this.redis.hgetall(key) : null;
      const job = fields && 'timestamp' in fields ? this.jobOf(key) : null;
      if (job) {
        if (!matches(JSON.stringify(fields), needles) && !matches(key, needles)) continue;
        const scrubbed = matches(key, needles) ? 0 : await this.scrubBatch(job, fields!, needles);
        if (scrubbed > 0) {
          r.itemsRemoved += scrubbed;
          continue;
        }
        // A job being processed right now is locked: removing it fails, and the proof below says so.
        if ((await this.queue(job.queue).remove(job.id)) === 1) r.jobsRemoved++;
        continue;
      }
      if (matches(key, needles)) {
        r.keysDeleted += await this.redis.del(key);
        continue;
      }
      if (type === 'string') {
        // Another customer's record is never deleted for naming this one: `remaining` reports it for an admin.
        if (key.startsWith(REDIS_KEYS.records(this.prefix).head)) continue;
        const v = await this.redis.get(key);
        if (v !== null && matches(v, needles)) r.keysDeleted += await this.redis.del(key);
      } else if (type === 'list') {
        const items = await this.redis.lrange(key, 0, -1);
        for (const [i, item] of items.entries()) {
          if (!matches(item, needles)) continue;
          if (this.isAudit(key)) {
            await this.redis.lset(key, i, replaceAll(item, needles, hash));
            r.pseudonymized++;
          } else r.itemsRemoved += await this.redis.lrem(key, 0, item);
        }
      } else if (fields) {
        const bad = Object.entries(fields)
          .filter(([f, v]) => matches(f, needles) || matches(v, needles))
          .map(([f]) => f);
        if (bad.length > 0) r.itemsRemoved += await this.redis.hdel(key, ...bad);
      } else if (type === 'set') {
        const bad = (await this.redis.smembers(key)).filter((m) => matches(m, needles));
        if (bad.length > 0) r.itemsRemoved += await this.redis.srem(key, ...bad);
      } else if (type === 'zset') {
        const bad = (await this.redis.zrange(key, '0', '-1')).filter((m) => matches(m, needles));
        if (bad.length > 0) r.itemsRemoved += await this.redis.zrem(key, ...bad);
      } else if (type === 'stream') {
        const bad = (await this.redis.xrange(key, '-', '+'))
          .filter(([, f]) => matches(f.join('\n'), needles))
          .map(([id]) => id);
        if (bad.length > 0) r.itemsRemoved += await this.redis.xdel(key, ...bad);
      }
    }
    return r;
  }

  /**
   * Waits (up to `maxMs`) until no job that is being processed right now names one of the needles, or
   * is a bulk push drain (whose data names no customer, but which may hold this one): such a job could
   * not be removed, and a push in flight would write the customer's data again once it ends. Returns
   * whether any was seen (the caller sweeps again) and whether some are still running after `maxMs`.
   */
  async settle(needles: readonly string[], maxMs = 30_000): Promise<{ waited: boolean; stillActive: number }> {
    const end = Date.now() + maxMs;
    let waited = false;
    for (;;) {
      let active = 0;
      for (const name of this.queueNames) {
        for (const job of await this.queue(name).getJobs(['active'])) {
          const data = JSON.stringify(job.data ?? null);
          if (matches(data, needles) || (job.data as { kind?: unknown } | undefined)?.kind === 'bulk') active++;
        }
      }
      if (active === 0 || Date.now() >= end) return { waited, stillActive: active };
      waited = true;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The keys under the prefix whose name or content still holds one of the needles: empty is the proof. */
  async remaining(needles: readonly string[]): Promise<string[]> {
    const found: string[] = [];
    for await (const key of this.keys()) {
      if (matches(key, needles)) {
        found.push(key);
        continue;
      }
      const type = await this.redis.type(key);
      const content =
        type === 'string'
          ? ((await this.redis.get(key)) ?? '')
          : type === 'list'
            ? (await this.redis.lrange(key, 0, -1)).join('\n')
            : type === 'hash'
              ? JSON.stringify(await this.redis.hgetall(key))
              : type === 'set'
                ? (await this.redis.smembers(key)).join('\n')
                : type === 'zset'
                  ? (await this.redis.zrange(key, '0', '-1')).join('\n')
                  : type === 'stream'
                    ? (await this.redis.xrange(key, '-', '+')).map(([, f]) => f.join('\n')).join('\n')
                    : '';
      if (matches(content, needles)) found.push(key);
    }
    return found;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
