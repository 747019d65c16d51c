/** The Zendesk stand-in's /job_statuses: one job, or show_many (unknown ids left out); each poll moves a job towards completed. */
import type express from 'express';
import { BULK_LIMIT, HttpError, csv, send, zendeskErrors } from '../render.js';
import { echoRouter, notFound, param, query, type ZendeskApi } from '../http.js';
import type { ZendeskJobStatus } from '../types.js';

export function jobRoutes({ echoes, jobs }: ZendeskApi): express.Router {
  const { router, on } = echoRouter(echoes);
  on('get', '/job_statuses/show_many', (_req, res) => {
    const ids = csv(query(res).get('ids'));
    if (ids.length === 0) throw new HttpError(400, zendeskErrors.invalidValue('ids is required'));
    if (ids.length > BULK_LIMIT)
      throw new HttpError(400, zendeskErrors.invalidValue(`Too many ids: at most ${BULK_LIMIT} per request`));
    // Unknown (or expired) ids are left out, as Zendesk does.
    send(res, 200, { job_statuses: ids.map(jobs.poll).filter((j): j is ZendeskJobStatus => j !== undefined) });
  });
  on('get', '/job_statuses/:id', (req, res) => {
    const job = jobs.poll(param(req, 'id'));
    if (!job) throw notFound();
    send(res, 200, { job_status: job });
  });
  return router;
}
