/** The Stripe stand-in's list endpoints: `{object:'list', data, has_more, url}` paged newest first by limit, starting_after / ending_before and created, unknown params refused. */
import type { Request, Response } from 'express';
import { pageRows, type Ranked, type StripeList } from './state.js';
import type { StripeView } from './render.js';
import {
  HttpError,
  PAGING,
  arrayParam,
  createdParam,
  limitParam,
  rejectUnknown,
  stringParam,
  stripeErrors,
} from './params.js';
import { expand, query, send } from './http.js';

export interface ListSpec<T extends Ranked> {
  url: string;
  /** The list's own filters (besides limit, starting_after, ending_before and expand). */
  allowed: readonly string[];
  /** Where cursors are looked up. */
  collection: Map<string, T>;
  kind: string;
  rows: readonly T[];
  keep?: (row: T) => boolean;
  draw: (row: T) => unknown;
}

function cursorRow(collection: Map<string, Ranked>, value: unknown, name: string, kind: string): Ranked | undefined {
  const id = stringParam(value, name);
  if (id === undefined || id === '') return undefined;
  const row = collection.get(id);
  if (!row) throw new HttpError(400, stripeErrors.missing(kind, id, name));
  return row;
}

export function list<T extends Ranked>(view: StripeView, req: Request, res: Response, spec: ListSpec<T>): void {
  const q = query(req);
  rejectUnknown(q, [...PAGING, ...spec.allowed]);
  if (q['starting_after'] !== undefined && q['ending_before'] !== undefined) {
    throw new HttpError(
      400,
      stripeErrors.invalid('You may only specify one of these parameters: ending_before, starting_after.'),
    );
  }
  const limit = limitParam(q['limit']);
  const startingAfter = cursorRow(spec.collection, q['starting_after'], 'starting_after', spec.kind);
  const endingBefore = cursorRow(spec.collection, q['ending_before'], 'ending_before', spec.kind);
  const created = spec.allowed.includes('created') ? createdParam(q['created']) : undefined;
  const { data, hasMore } = pageRows(
    spec.rows,
    {
      limit,
      ...(startingAfter && { startingAfter }),
      ...(endingBefore && { endingBefore }),
      ...(created && { created }),
    },
    spec.keep ?? (() => true),
  );
  const body: StripeList<unknown> = { object: 'list', data: data.map(spec.draw), has_more: hasMore, url: spec.url };
  expand(view, body, arrayParam(q['expand'], 'expand'), true);
  send(res, 200, body);
}
