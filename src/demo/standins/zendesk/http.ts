/** The Zendesk stand-in's route plumbing: routers whose handlers echo their writes once the response is out, path and query params, and what every router works with. */
import express, { type Request, type Response } from 'express';
import { HttpError, isRecord, positiveInt, zendeskErrors, type Json } from './render.js';
import type { Echo, ZendeskEchoes } from './echoes.js';
import type { ZendeskStore } from './store.js';
import type { ZendeskWrites } from './writes.js';
import type { ZendeskJobs } from './jobs.js';
import type { ZendeskPaging } from './paging.js';
import type { ZendeskCustomObjects } from './custom-objects.js';

/** What the routers of /api/v2 work with. */
export interface ZendeskApi {
  store: ZendeskStore;
  echoes: ZendeskEchoes;
  writes: ZendeskWrites;
  jobs: ZendeskJobs;
  paging: ZendeskPaging;
  objects: ZendeskCustomObjects;
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type On = (method: Method, path: string, handler: (req: Request, res: Response) => void) => void;

/** A router and `on`, which registers a (synchronous) handler whose writes echo once its response has gone out. */
export function echoRouter(echoes: ZendeskEchoes): { router: express.Router; on: On } {
  const router = express.Router();
  const on: On = (method, path, handler) => {
    router[method](path, (req: Request, res: Response) => {
      const batch: Echo[] = [];
      res.once('finish', () => echoes.release(batch));
      echoes.sink = batch;
      try {
        handler(req, res);
      } finally {
        echoes.sink = undefined;
      }
    });
  };
  return { router, on };
}

export const notFound = () => new HttpError(404, zendeskErrors.notFound());

export const param = (req: Request, name: string): string => {
  const value = req.params[name];
  if (typeof value !== 'string' || value === '') throw notFound();
  return value;
};
/** The query string, parsed by the gate (before the `.json` suffix was stripped). */
export const query = (res: Response): URLSearchParams => res.locals.query as URLSearchParams;
export const body = (req: Request): Json => (isRecord(req.body) ? (req.body as Json) : {});
export const idParam = (req: Request): number => {
  const id = positiveInt(param(req, 'id'));
  if (id === undefined) throw notFound();
  return id;
};
