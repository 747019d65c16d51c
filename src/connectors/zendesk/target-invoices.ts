/**
 * Invoice records into a Zendesk custom object, upserted by external id (the
 * Stripe invoice id), so a replayed push rewrites the same records. A few go
 * one PATCH each; more go as bulk jobs of ≤100 items, polled through
 * node-zendesk's jobstatuses until they finish.
 *
 * node-zendesk's own jobstatuses.watch is not used: it polls until the job
 * ends with no upper bound (its maxAttempts only counts 404s), and a push job
 * must not hold its worker forever.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { PermanentError, RetryableError } from '../../sync/errors.js';
import { zendeskRequest, zendeskResult, type ZendeskClient } from './client.js';
import type { InvoiceRecord } from './target-format.js';

/** More changed invoices than this go as a bulk job (one POST and a few polls instead of one PATCH each). */
const BULK_ABOVE = 3;
/** Zendesk's limit of items per custom object job. */
const JOB_ITEMS_MAX = 100;

export interface JobPolling {
  /** Wait before each poll of a job's status. */
  intervalMs: number;
  /** Polls before giving up; the push is then retried (the upserts are idempotent). */
  maxPolls: number;
}

/** Counts API calls, failed ones included, for PushResult.calls. */
export interface CallCounter {
  n: number;
}

const JobStatusBody = z.object({
  job_status: z.object({
    id: z.string().min(1),
    status: z.string(),
    message: z.string().nullish(),
    results: z.unknown().optional(),
  }),
});
type JobStatus = z.infer<typeof JobStatusBody>['job_status'];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

/** An error in a job result: a string, `{code, title, detail}`, or a list of those. */
function describeError(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.map(describeError).filter(Boolean).join('; ') || undefined;
  if (isRecord(v))
    return (
      [v['code'], v['title'], v['detail'] ?? v['description'] ?? v['message']].map(text).filter(Boolean).join(': ') ||
      undefined
    );
  return text(v);
}

/** The failed items of a finished job, as `<external id>: <Zendesk's message>`. */
function failedItems(job: JobStatus, items: readonly InvoiceRecord[]): string[] {
  if (!Array.isArray(job.results)) return [];
  return job.results.filter(isRecord).flatMap((r, position) => {
    const error = describeError(r['error']) ?? describeError(r['errors']);
    if (r['success'] !== false && error === undefined) return [];
    const index = typeof r['index'] === 'number' ? r['index'] : position;
    const which = text(r['external_id']) ?? items[index]?.external_id ?? `item ${index}`;
    const detail = [error, describeError(r['details'])].filter(Boolean).join(': ');
    return [`${which}: ${detail || 'failed'}`];
  });
}

function parseJob(body: unknown): JobStatus {
  const parsed = JobStatusBody.safeParse(body);
  if (!parsed.success) throw new PermanentError('Zendesk answered a custom object job without a job_status');
  return parsed.data.job_status;
}

/** Makes one API call, retried in place as the target decides (retryingCall); by default just once. */
export type Attempt = <T>(call: () => Promise<T>) => Promise<T>;

/** Runs one bulk job to its end; throws unless every item was written. */
async function runJob(
  client: ZendeskClient,
  key: string,
  items: readonly InvoiceRecord[],
  polling: JobPolling,
  calls: CallCounter,
  attempt: Attempt,
): Promise<void> {
  let job = parseJob(
    await attempt(() => {
      calls.n++;
      return zendeskRequest(client, 'POST', ['custom_objects', key, 'jobs'], {
        job: { action: 'create_or_update_by_external_id', items },
      });
    }),
  );
  for (let poll = 0; !['completed', 'failed', 'killed'].includes(job.status); poll++) {
    if (poll >= polling.maxPolls)
      throw new RetryableError(`Zendesk job ${job.id} still ${job.status} after ${polling.maxPolls} polls`);
    await sleep(polling.intervalMs);
    const id = job.id;
    job = parseJob(
      await attempt(async () => {
        calls.n++;
        return zendeskResult(await client.jobstatuses.show(id));
      }),
    );
  }
  const failed = failedItems(job, items);
  if (failed.length > 0)
    throw new PermanentError(
      `Zendesk job ${job.id}: ${failed.length} of ${items.length} invoices refused: ${failed.join('; ')}`,
    );
  // A job that failed as a whole (an error on Zendesk's side) says nothing about our data.
  if (job.status !== 'completed')
    throw new RetryableError(`Zendesk job ${job.id} ${job.status}${job.message ? `: ${job.message}` : ''}`);
}

/**
 * Upserts the records into custom object `key`; returns `invoice:<id>` for each one written. `onWritten` is told
 * the records as they are written (each PATCH, each completed job), so that a push failing later keeps them.
 */
export async function upsertInvoices(
  client: ZendeskClient,
  key: string,
  records: readonly InvoiceRecord[],
  polling: JobPolling,
  calls: CallCounter,
  attempt: Attempt = (call) => call(),
  onWritten: (records: readonly InvoiceRecord[]) => void = () => undefined,
): Promise<string[]> {
  if (records.length > BULK_ABOVE) {
    for (let i = 0; i < records.length; i += JOB_ITEMS_MAX) {
      const items = records.slice(i, i + JOB_ITEMS_MAX);
      await runJob(client, key, items, polling, calls, attempt);
      onWritten(items);
    }
  } else {
    for (const record of records) {
      await attempt(() => {
        calls.n++;
        return zendeskRequest(
          client,
          'PATCH',
          ['custom_objects', key, 'records', { external_id: record.external_id }],
          { custom_object_record: record },
        );
      });
      onWritten([record]);
    }
  }
  return records.map((r) => `invoice:${r.external_id}`);
}
