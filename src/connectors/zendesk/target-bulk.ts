/**
 * Many customers' pushes to Zendesk at once (resync): every billing field
 * set goes out through `PUT organizations/update_many` (users without an
 * organization: `PUT users/update_many`), every invoice record through
 * custom object jobs (`create_or_update_by_external_id`), 100 items per
 * call, and all the batch's jobs are then polled together with
 * `GET job_statuses/show_many` — a few calls for hundreds of customers.
 *
 * A customer is written when every item of it succeeded; an item Zendesk
 * refuses inside a job is that customer's error (with Zendesk's message),
 * the others stand. A call that fails as a whole throws, as a push does.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { PermanentError, RateLimitedError, RetryableError } from '../../sync/errors.js';
import {
  waitingOutShortLimits,
  type BulkItem,
  type BulkPushResult,
  type PortalPush,
} from '../../sync/push/portal-target.js';
import { zendeskRequest, type ZendeskClient, type ZendeskPath } from './client.js';
import {
  changedFields,
  ownerFields,
  changedInvoices,
  changedStatus,
  NO_ZENDESK_OWNER,
  ownerOf,
  type FieldSet,
  type InvoiceRecord,
  type Owner,
} from './target-format.js';
import type { JobPolling } from './target-invoices.js';

/** Zendesk's limit of items per bulk call (update_many, custom object jobs) and of ids per show_many. */
const PER_CALL = 100;
const FINISHED = new Set(['completed', 'failed', 'killed']);

type Ownerless = { kind: 'none' };
export interface BulkPlan {
  /** Per push: where it writes, or why it cannot. */
  owners: Array<Owner | Ownerless | { kind: 'invalid'; message: string }>;
  fields: Array<{ push: number; owner: Owner; fields: FieldSet }>;
  invoices: Array<{ push: number; record: InvoiceRecord }>;
  /** Status records (statusObject.enabled): one per customer whose status changed. */
  statuses: Array<{ push: number; record: InvoiceRecord }>;
}

const JobStatus = z.object({
  id: z.string().min(1),
  status: z.string(),
  message: z.string().nullish(),
  results: z.array(z.unknown()).nullish(),
});
type JobStatus = z.infer<typeof JobStatus>;
const Submitted = z.object({ job_status: JobStatus });
const Polled = z.object({ job_statuses: z.array(JobStatus) });

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' ? String(v) : undefined;

const ZENDESK_ID = /^[1-9]\d*$/;

/** What each push changes, grouped by the bulk call that carries it. Pure. */
export function planZendeskBulk(pushes: readonly PortalPush[], cfg: Config['targets']['zendesk']): BulkPlan {
  const plan: BulkPlan = { owners: [], fields: [], invoices: [], statuses: [] };
  pushes.forEach((p, push) => {
    const owner = ownerOf(p.links);
    if (owner === null) return void plan.owners.push({ kind: 'none' });
    if (!ZENDESK_ID.test(owner.id) || !Number.isSafeInteger(Number(owner.id))) {
      return void plan.owners.push({
        kind: 'invalid',
        message: `not a Zendesk ${owner.kind} id: ${owner.id.slice(0, 40)}`,
      });
    }
    plan.owners.push(owner);
    const fields = changedFields(
      ownerFields(p.projection, cfg, owner.kind),
      p.previous && ownerFields(p.previous, cfg, owner.kind),
    );
    if (Object.keys(fields).length > 0) plan.fields.push({ push, owner, fields });
    for (const record of changedInvoices(p.projection, p.previous, owner, cfg)) plan.invoices.push({ push, record });
    const status = changedStatus(p.projection, p.previous, owner, cfg);
    if (status !== null) plan.statuses.push({ push, record: status });
  });
  return plan;
}

/** One submitted job: which push each of its items belongs to, and how an item names itself in results. */
interface Job {
  id: string;
  what: string;
  pushes: number[];
  /** An item's result → its position in `pushes` (by the id or external id Zendesk echoes, else by index). */
  locate: (result: Record<string, unknown>, position: number) => number | undefined;
  label: (position: number) => string;
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += PER_CALL) out.push(items.slice(i, i + PER_CALL));
  return out;
}

function describe(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.map(describe).filter(Boolean).join('; ') || undefined;
  if (isRecord(v))
    return (
      [v['code'], v['title'], v['detail'] ?? v['description'] ?? v['message']].map(text).filter(Boolean).join(': ') ||
      undefined
    );
  return text(v);
}

/** A job's failed items as `position → Zendesk's message`. */
function failures(job: JobStatus, submitted: Job): Map<number, string> {
  const out = new Map<number, string>();
  (job.results ?? []).forEach((r, position) => {
    if (!isRecord(r)) return;
    const error = describe(r['error']) ?? describe(r['errors']);
    if (r['success'] !== false && r['status'] !== 'Failed' && error === undefined) return;
    const at = submitted.locate(r, position);
    if (at === undefined) return;
    const detail = [error, describe(r['details'])].filter(Boolean).join(': ');
    out.set(at, `Zendesk job ${job.id} (${submitted.what}) refused ${submitted.label(at)}: ${detail || 'failed'}`);
  });
  return out;
}

export interface ZendeskBulkOptions {
  client: ZendeskClient;
  cfg: Config['targets']['zendesk'];
  polling: JobPolling;
  /** Turns any failure of a call into the contract error (target.ts's toPushError). */
  toPushError: (err: unknown) => Error;
}

export async function pushZendeskMany(
  pushes: readonly PortalPush[],
  opts: ZendeskBulkOptions,
): Promise<BulkPushResult> {
  const { client, cfg, polling } = opts;
  const plan = planZendeskBulk(pushes, cfg);
  let calls = 0;
  const call = (method: 'GET' | 'PUT' | 'POST', path: ZendeskPath, body?: unknown) =>
    waitingOutShortLimits(async () => {
      try {
        const answer = await zendeskRequest(client, method, path, body);
        calls++;
        return answer;
      } catch (err) {
        // The client's rate gate refuses before sending (a RateLimitedError as it is); Zendesk's own 429 arrives as an API error.
        if (!(err instanceof RateLimitedError)) calls++;
        throw opts.toPushError(err);
      }
    });
  const submit = async (method: 'PUT' | 'POST', path: ZendeskPath, body: unknown): Promise<string> => {
    const parsed = Submitted.safeParse(await call(method, path, body));
    if (!parsed.success) throw new PermanentError(`Zendesk answered ${path.join('/')} without a job_status`);
    return parsed.data.job_status.id;
  };

  const jobs: Job[] = [];
  for (const kind of ['organization', 'user'] as const) {
    for (const part of chunks(plan.fields.filter((f) => f.owner.kind === kind))) {
      const key = kind === 'organization' ? 'organizations' : 'users';
      const items = part.map((f) => ({ id: Number(f.owner.id), [`${kind}_fields`]: f.fields }));
      const id = await submit('PUT', [key, 'update_many'], { [key]: items });
      const byId = new Map(part.map((f, i) => [f.owner.id, i]));
      jobs.push({
        id,
        what: `${kind}s update_many`,
        pushes: part.map((f) => f.push),
        locate: (r, position) => byId.get(String(r['id'])) ?? (typeof r['index'] === 'number' ? r['index'] : position),
        label: (i) => `${kind} ${part[i]!.owner.id}`,
      });
    }
  }
  const recordJobs = [
    { key: cfg.invoiceObject.key, records: plan.invoices, noun: 'invoice' },
    { key: cfg.statusObject.key, records: plan.statuses, noun: 'status' },
  ];
  for (const { key, records, noun } of recordJobs) {
    for (const part of chunks(records)) {
      const items = part.map((i) => i.record);
      const id = await submit('POST', ['custom_objects', key, 'jobs'], {
        job: { action: 'create_or_update_by_external_id', items },
      });
      const byExternalId = new Map(part.map((i, n) => [i.record.external_id, n]));
      jobs.push({
        id,
        what: `${key} records`,
        pushes: part.map((i) => i.push),
        locate: (r, position) =>
          byExternalId.get(String(r['external_id'])) ?? (typeof r['index'] === 'number' ? r['index'] : position),
        label: (i) => `${noun} ${part[i]!.record.external_id}`,
      });
    }
  }

  // Wait for every job of the batch, asking for all of them in one call per round.
  const finished = new Map<string, JobStatus>();
  for (let poll = 0; finished.size < jobs.length && poll < polling.maxPolls; poll++) {
    await sleep(polling.intervalMs);
    const open = jobs.filter((j) => !finished.has(j.id)).map((j) => j.id);
    for (const ids of chunks(open)) {
      const parsed = Polled.safeParse(await call('GET', ['job_statuses', 'show_many', { ids: ids.join(',') }]));
      if (!parsed.success) throw new PermanentError('Zendesk answered job_statuses/show_many without job_statuses');
      for (const s of parsed.data.job_statuses) if (FINISHED.has(s.status)) finished.set(s.id, s);
    }
  }

  const errors = new Map<number, RetryableError | PermanentError>();
  const fail = (push: number, err: RetryableError | PermanentError) => {
    if (!errors.has(push)) errors.set(push, err);
  };
  for (const job of jobs) {
    const status = finished.get(job.id);
    if (status === undefined) {
      for (const push of job.pushes)
        fail(
          push,
          new RetryableError(`Zendesk job ${job.id} (${job.what}) unfinished after ${polling.maxPolls} polls`),
        );
      continue;
    }
    for (const [at, message] of failures(status, job)) fail(job.pushes[at]!, new PermanentError(message));
    // A job that failed as a whole (an error on Zendesk's side) says nothing about our data.
    if (status.status !== 'completed') {
      for (const push of job.pushes)
        fail(
          push,
          new RetryableError(
            `Zendesk job ${job.id} (${job.what}) ${status.status}${status.message ? `: ${status.message}` : ''}`,
          ),
        );
    }
  }

  const wrote = pushes.map((): string[] => []);
  for (const f of plan.fields) wrote[f.push]!.push(`${f.owner.kind}_fields`);
  for (const i of plan.invoices) wrote[i.push]!.push(`invoice:${i.record.external_id}`);
  for (const i of plan.statuses) wrote[i.push]!.push(`status:${i.record.external_id}`);
  const items = pushes.map((_, push): BulkItem => {
    const owner = plan.owners[push]!;
    if (owner.kind === 'invalid') return { ok: false, error: new PermanentError(owner.message) };
    if (owner.kind === 'none') return { ok: true, result: { calls: 0, wrote: [], skipped: NO_ZENDESK_OWNER } };
    const error = errors.get(push);
    return error ? { ok: false, error } : { ok: true, result: { calls: 0, wrote: wrote[push]! } };
  });
  return { items, calls };
}
