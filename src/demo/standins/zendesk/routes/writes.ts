/** Routes organizations and users share: update_many (by list, ids or external_ids, answered with a job) and the one-object PUT and POST. */
import type { Request, Response } from 'express';
import { BULK_LIMIT, HttpError, csv, isRecord, jobOf, positiveInt, send, zendeskErrors, type Json } from '../render.js';
import { bulkItems, failedItem } from '../jobs.js';
import { body, idParam, notFound, query, type On, type ZendeskApi } from '../http.js';
import type { ZendeskJobResult } from '../types.js';

/**
 * PUT /{organizations,users}/update_many: either `{<plural>: [{id, ...}]}`, or `?ids=` / `?external_ids=`
 * with one `{<singular>}` for all; at most BULK_LIMIT; answered with a queued job_status.
 */
export const updateMany =
  <T extends { id: number }>(
    { jobs }: ZendeskApi,
    spec: {
      plural: 'organizations' | 'users';
      singular: 'organization' | 'user';
      byId: (id: number) => T | undefined;
      byExternalId: (externalId: string) => T | undefined;
      write: (existing: T, attrs: Json) => void;
      title: string;
    },
  ) =>
  (req: Request, res: Response) => {
    const b = body(req);
    const q = query(res);
    const one = isRecord(b[spec.singular]) ? (b[spec.singular] as Json) : {};
    const targets: { id?: number; externalId?: string; input: Json }[] = Array.isArray(b[spec.plural])
      ? bulkItems(b[spec.plural], spec.plural).map((o) => ({
          ...(positiveInt(o.id) !== undefined && { id: positiveInt(o.id) }),
          input: o,
        }))
      : [
          ...csv(q.get('ids')).map((id) => ({ id: Number(id), input: one })),
          ...csv(q.get('external_ids')).map((e) => ({ externalId: e, input: one })),
        ];
    if (targets.length === 0)
      throw new HttpError(400, zendeskErrors.invalidValue(`${spec.plural}, ids or external_ids are required`));
    if (targets.length > BULK_LIMIT)
      throw new HttpError(
        400,
        zendeskErrors.invalidValue(`Too many ${spec.plural}: at most ${BULK_LIMIT} per request`),
      );
    const results = targets.map(({ id, externalId, input }, index): ZendeskJobResult => {
      const existing =
        id !== undefined ? spec.byId(id) : externalId !== undefined ? spec.byExternalId(externalId) : undefined;
      if (!existing) return failedItem(index, 'update', notFound(), id ?? externalId);
      try {
        const { id: _ignored, ...attrs } = input;
        spec.write(existing, attrs);
        return { id: existing.id, index, action: 'update', status: 'Updated', success: true };
      } catch (err) {
        return failedItem(index, 'update', err, existing.id);
      }
    });
    send(res, 200, jobOf(jobs.start(spec.title, results)));
  };

const attrsOf = (input: unknown, kind: string): Json => {
  if (!isRecord(input)) throw new HttpError(400, zendeskErrors.invalidValue(`${kind} is required`));
  const { id: _ignored, ...attrs } = input as Json;
  return attrs;
};

/** PUT /{kind}s/:id and POST /{kind}s with one `{kind}` object: the id in the body is ignored, as Zendesk does. */
export const writeOne = <T>(
  on: On,
  kind: 'organization' | 'user',
  write: (existing: T | undefined, attrs: Json) => T,
  present: (t: T) => unknown,
  byId: (id: number) => T | undefined,
) => {
  on('put', `/${kind}s/:id`, (req, res) => {
    const existing = byId(idParam(req));
    if (!existing) throw notFound();
    send(res, 200, { [kind]: present(write(existing, attrsOf(body(req)[kind], kind))) });
  });
  on(
    'post',
    `/${kind}s`,
    (req, res) => void send(res, 201, { [kind]: present(write(undefined, attrsOf(body(req)[kind], kind))) }),
  );
};
