/** The Zendesk stand-in's bulk jobs: a write answers a queued job_status whose later polls report it working, then completed with per-item results. */
import { randomUUID } from 'node:crypto';
import { BULK_LIMIT, HttpError, isRecord, zendeskErrors, type Json } from './render.js';
import type { ZendeskStore } from './store.js';
import type { ZendeskJobResult, ZendeskJobStatus } from './types.js';

export class ZendeskJobs {
  private readonly jobs = new Map<string, { final: ZendeskJobStatus; polls: number }>();

  constructor(
    private readonly store: ZendeskStore,
    private readonly pollsUntilComplete: number,
  ) {}

  start(jobType: string, results: ZendeskJobResult[]): ZendeskJobStatus {
    const id = randomUUID().replace(/-/g, '');
    const base = { id, url: `${this.store.baseUrl}/job_statuses/${id}.json`, job_type: jobType, total: results.length };
    const queued: ZendeskJobStatus = { ...base, progress: null, status: 'queued', message: null, results: null };
    this.jobs.set(id, {
      final: {
        ...base,
        progress: results.length,
        status: 'completed',
        message: `Completed at ${this.store.stamp()}`,
        results,
      },
      polls: 0,
    });
    this.store.state.jobStatuses.set(id, queued);
    return queued;
  }

  poll = (id: string): ZendeskJobStatus | undefined => {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    job.polls += 1;
    const view: ZendeskJobStatus =
      job.polls >= this.pollsUntilComplete
        ? job.final
        : { ...job.final, status: 'working', progress: Math.floor(job.final.total / 2), message: null, results: null };
    this.store.state.jobStatuses.set(id, view);
    return view;
  };
}

/** The items of a bulk request: a non-empty array of at most BULK_LIMIT. */
export function bulkItems(value: unknown, what: string): Json[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new HttpError(400, zendeskErrors.invalidValue(`${what} must be a non-empty array`));
  if (value.length > BULK_LIMIT)
    throw new HttpError(400, zendeskErrors.invalidValue(`Too many ${what}: at most ${BULK_LIMIT} per request`));
  return value.map((v) => (isRecord(v) ? v : {}));
}

/** A failed item inside a job: the job itself still completes. */
export function failedItem(index: number, action: string, err: unknown, id?: number | string): ZendeskJobResult {
  const body = err instanceof HttpError && isRecord(err.body) ? err.body : {};
  const details = isRecord(body.details)
    ? Object.values(body.details)
        .flat()
        .map((d) => (isRecord(d) ? String(d.description) : ''))
        .join(' ')
    : String(body.description ?? 'Not found');
  return {
    ...(id !== undefined && { id }),
    index,
    action,
    status: 'Failed',
    success: false,
    error: String(body.error ?? 'RecordInvalid'),
    details,
  };
}
