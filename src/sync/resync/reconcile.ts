/**
 * The reconciler: a repeatable pass that asks each source what changed
 * since its last checkpoint and feeds through the pipeline whatever the
 * records do not already hold — so a webhook lost by a platform, by an
 * outage or by a provider that gave up retrying is repaired within a pass.
 *
 * Drift is counted before anything is queued, so the report says what was
 * actually missing:
 * - Stripe events (the Events API) go through the webhook dedupe: an event
 *   a webhook already delivered is a duplicate and is dropped; one that is
 *   accepted was missed.
 * - Snapshots (Zendesk exports, Salesforce queries) are merged in memory
 *   into the record they resolve to: drift when that changes what a user
 *   sees (the derived views), or when no record holds them yet.
 *
 * The checkpoint of a source moves to the pass's start only once every page
 * of it was read and queued; each pass re-reads `overlapMs` before it.
 */
import { Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import { readLastReconcile, reconcileLastKey, type ReconcileReport, type SourceReport } from '../health.js';
import { eventIdentityKeys } from '../events/identity.js';
import type { Ingestor } from '../events/ingest.js';
import { applyEvent } from '../events/merge.js';
import type { EventsQueue } from '../events/queue.js';
import { emptyRecord, stableStringify, type CustomerRecord } from '../events/record.js';
import { readPageWithRetry, RESYNC_PRIORITY } from './runner.js';
import type { SnapshotStream } from './snapshot.js';
import { errorText } from '../errors.js';
import { jobIdFor, type Source, type SourceEvent } from '../events/source-event.js';
import type { RecordStore } from '../events/store.js';
import { QUEUE_NAMES, REDIS_KEYS } from '../redis/keys.js';

export const RECONCILE_QUEUE = QUEUE_NAMES.reconcile;
/** How many drifted object ids a report keeps (the count is always exact). */
const MAX_DRIFT_IDS = 100;
const HISTORY = 48;

export type { ReconcileReport, SourceReport };

interface ReconcileSettings {
  overlapMs: number;
  firstLookbackMs: number;
}

/** `stripe: FAILED 401 api_key_invalid: …`: one failed source of a pass, as `status` and `reconcile` print it. */
export function describeSourceFailure(source: string, r: SourceReport): string {
  let message = (r.error ?? '').replace(new RegExp(`^${source}: `), '');
  if (r.status !== undefined)
    message = `${r.status} ${message.replace(new RegExp(`^(Stripe|Zendesk|Salesforce) ${r.status}:? `), '')}`;
  return `${source}: FAILED ${message}`;
}

/** The sources of a pass that failed. */
export function failedSources(report: ReconcileReport): Array<[Source, SourceReport]> {
  return (Object.entries(report.sources) as Array<[Source, SourceReport]>).filter(([, s]) => s.error !== undefined);
}

export interface ReconcilerOptions {
  redis: Redis;
  prefix: string;
  store: RecordStore;
  queue: EventsQueue;
  ingestor: Ingestor;
  /** The streams of one source, reading what changed since `since`. */
  streams: Partial<Record<Source, (since: Date) => Promise<SnapshotStream[]>>>;
  settings: ReconcileSettings;
  logger: Logger;
  /** What the events worker does to an event before storing it (ticket categories), so the drift check sees the same. */
  prepare?: (event: SourceEvent) => SourceEvent;
  onDrift?: (source: Source, n: number) => void;
  onPass?: (report: ReconcileReport) => void;
}

export class Reconciler {
  private readonly log: Logger;

  constructor(private readonly opts: ReconcilerOptions) {
    this.log = opts.logger.child({ module: 'reconciler' });
  }

  private checkpointKey(source: Source): string {
    return REDIS_KEYS.reconcile(this.opts.prefix).checkpoint(source);
  }
  get lastKey(): string {
    return reconcileLastKey(this.opts.prefix);
  }
  get historyKey(): string {
    return REDIS_KEYS.reconcile(this.opts.prefix).history;
  }

  /** The sources this reconciler reads. */
  get sources(): Source[] {
    return Object.keys(this.opts.streams) as Source[];
  }

  async last(): Promise<ReconcileReport | null> {
    return readLastReconcile(this.opts.redis, this.opts.prefix);
  }

  /** One pass over every configured source; a source that fails is reported and keeps its checkpoint. */
  async pass(now = Date.now()): Promise<ReconcileReport> {
    const started = performance.now();
    const report: ReconcileReport = {
      startedAt: new Date(now).toISOString(),
      finishedAt: '',
      seconds: 0,
      sources: {},
      drift: 0,
      driftIds: [],
    };
    const passId = now.toString(36);
    for (const [source, streamsOf] of Object.entries(this.opts.streams) as Array<
      [Source, (since: Date) => Promise<SnapshotStream[]>]
    >) {
      const checkpoint = await this.opts.redis.get(this.checkpointKey(source));
      const since = new Date(
        checkpoint === null
          ? now - this.opts.settings.firstLookbackMs
          : Number(checkpoint) - this.opts.settings.overlapMs,
      );
      const sourceReport: SourceReport = { since: since.toISOString(), read: 0, drift: 0 };
      report.sources[source] = sourceReport;
      try {
        for (const stream of await streamsOf(since)) await this.readStream(stream, passId, sourceReport, report);
        await this.opts.redis.set(this.checkpointKey(source), String(now));
      } catch (err) {
        sourceReport.error = errorText(err);
        const status = (err as { status?: unknown }).status;
        if (typeof status === 'number') sourceReport.status = status;
        this.log.error(
          { source, status, reason: sourceReport.error },
          'reconcile of a source failed: nothing of it was checked; its checkpoint stays and the next pass reads it again',
        );
      }
      if (sourceReport.drift > 0) this.opts.onDrift?.(source, sourceReport.drift);
    }
    report.finishedAt = new Date().toISOString();
    report.seconds = (performance.now() - started) / 1000;
    const json = JSON.stringify(report);
    await this.opts.redis
      .multi()
      .set(this.lastKey, json)
      .lpush(this.historyKey, json)
      .ltrim(this.historyKey, 0, HISTORY - 1)
      .exec();
    this.opts.onPass?.(report);
    const fields = {
      drift: report.drift,
      driftIds: report.driftIds.slice(0, 10),
      seconds: Math.round(report.seconds * 10) / 10,
    };
    const failed = failedSources(report).map(([source]) => source);
    if (failed.length > 0)
      this.log.error(
        { ...fields, failed },
        `reconcile pass incomplete: ${failed.join(', ')} FAILED (drift counts only the sources read)`,
      );
    else
      this.log[report.drift > 0 ? 'warn' : 'info'](
        fields,
        report.drift > 0 ? 'reconcile pass repaired drift: events were missing' : 'reconcile pass found no drift',
      );
    return report;
  }

  private async readStream(
    stream: SnapshotStream,
    passId: string,
    sourceReport: SourceReport,
    report: ReconcileReport,
  ): Promise<void> {
    let cursor: string | null = null;
    do {
      const page = await readPageWithRetry(stream, cursor, { log: this.log, attempts: 8 });
      sourceReport.read += page.read;
      const webhooks = page.events.filter((e) => e.origin === 'webhook');
      const snapshots = page.events.filter((e) => e.origin !== 'webhook');
      const missed: SourceEvent[] = [];
      if (webhooks.length > 0) missed.push(...(await this.opts.ingestor.enqueue(webhooks)).accepted);
      const drifted: SourceEvent[] = [];
      for (const e of snapshots) if (await this.drifted(e)) drifted.push(e);
      if (drifted.length > 0) {
        await this.opts.queue.addBulk(
          drifted.map((e) => ({
            name: e.type,
            data: { ...e, lane: 'reconcile' as const },
            opts: { jobId: `rc-${passId}-${jobIdFor(e.source, e.eventId)}`, priority: RESYNC_PRIORITY },
          })),
        );
      }
      for (const e of [...missed, ...drifted]) {
        sourceReport.drift += 1;
        report.drift += 1;
        if (report.driftIds.length < MAX_DRIFT_IDS) report.driftIds.push(`${e.source} ${e.data.kind} ${e.objectId}`);
      }
      cursor = page.next;
    } while (cursor !== null);
  }

  /** Would this snapshot change what a user sees of its customer (or is it not held at all)? */
  private async drifted(event: SourceEvent): Promise<boolean> {
    let record = null;
    for (const key of eventIdentityKeys(event)) {
      record = await this.opts.store.findByKey(key);
      if (record) break;
    }
    return snapshotDrifts(record, this.opts.prepare ? this.opts.prepare(event) : event);
  }
}

/** Would this snapshot change what a user sees of the record it resolves to (or is that record not held at all)? */
export function snapshotDrifts(record: CustomerRecord | null, snapshot: SourceEvent): boolean {
  const base = record ?? emptyRecord('reconcile');
  const result = applyEvent(base, snapshot);
  if (!result.changed) return false;
  // Compared by content, not by bytes: a record read back from Redis need not keep the key order a fresh
  // projection has, and every snapshot that restamps an entry (a finer version than the webhook's, fields
  // a webhook did not carry) would otherwise count as drift after a day whose every webhook arrived.
  return record === null || driftView(result.record.derived) !== driftView(base.derived);
}

/**
 * What a user sees, at the precision the webhooks can give: a ticket delivered by the Zendesk trigger has
 * a minute-resolution updated_at, so a snapshot that says the same minute to the second is no lost event.
 */
function driftView(derived: CustomerRecord['derived']): string {
  if (!derived.support) return stableStringify(derived);
  const tickets = derived.support.tickets.map((t) => ({
    ...t,
    updatedAt: t.updatedAt === null ? null : t.updatedAt.slice(0, 16),
  }));
  return stableStringify({ ...derived, support: { ...derived.support, tickets } });
}

/** The repeatable job: one pass every `everyMs` (0 removes the schedule). */
export async function scheduleReconcile(queue: Queue, everyMs: number): Promise<void> {
  if (everyMs <= 0) {
    await queue.removeJobScheduler('reconcile-pass');
    return;
  }
  await queue.upsertJobScheduler(
    'reconcile-pass',
    { every: everyMs },
    { name: 'reconcile', opts: { removeOnComplete: 50, removeOnFail: 50 } },
  );
}

export function createReconcileWorker(opts: {
  connection: Redis;
  prefix: string;
  reconciler: Reconciler;
  logger: Logger;
}): Worker {
  const worker = new Worker(RECONCILE_QUEUE, async (_job: Job) => opts.reconciler.pass(), {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: 1,
  });
  worker.on('failed', (_job, err) =>
    opts.logger.warn({ module: 'reconciler', reason: err.message }, 'reconcile pass failed'),
  );
  worker.on('error', (err) =>
    opts.logger.warn({ module: 'reconciler', err: err.message }, 'reconcile worker connection error'),
  );
  return worker;
}
