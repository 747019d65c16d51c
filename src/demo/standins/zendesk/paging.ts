/** The Zendesk stand-in's pagination: cursor pages of list endpoints (`page[size]`, `page[after]`) and incremental exports by cursor or time, leaving out the last minute. */
import type { Response } from 'express';
import {
  EXPORT_PAGE,
  HttpError,
  byPosition,
  decodeCursor,
  encodeCursor,
  positiveInt,
  send,
  unixOf,
  zendeskErrors,
} from './render.js';
import type { ZendeskStore } from './store.js';

type Position<T> = { item: T; ts: number };

/** The first position whose entry is not `before` the boundary (entries before it come first). */
function firstIndex<E>(entries: readonly E[], before: (e: E) => boolean): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (before(entries[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where an export starts: after a cursor's (timestamp, id), or at start_time. */
function exportStart(query: URLSearchParams): [number, number] {
  // node-zendesk 6's exportCursor(start_time) sends `cursor=undefined` on the first page.
  const rawCursor = query.get('cursor');
  const cursor = rawCursor && rawCursor !== 'undefined' ? rawCursor : undefined;
  if (cursor !== undefined) {
    const parts = decodeCursor(cursor);
    const [t, id] = (parts ?? []).map(Number);
    if (t === undefined || id === undefined || !Number.isFinite(t) || !Number.isFinite(id)) {
      throw new HttpError(400, zendeskErrors.invalidValue('cursor is invalid'));
    }
    return [t, id];
  }
  const start = Number(query.get('start_time'));
  if (query.get('start_time') === null || !Number.isInteger(start) || start < 0) {
    throw new HttpError(400, zendeskErrors.invalidValue('start_time or cursor is required'));
  }
  return [start, 0]; // strictly after (start, 0) means at or after start
}

export class ZendeskPaging {
  // Exports page through up to 100,000s of objects: each keeps its objects sorted by (timestamp, id), checked
  // against the collection on every call (tests change objects in place) and sorted again only when one moved.
  private readonly indexes = new Map<string, { ts: Map<object, number>; sorted: Position<{ id: number }>[] }>();
  private readonly parsed = new WeakMap<object, { raw: string; ts: number }>();

  constructor(
    private readonly store: ZendeskStore,
    private readonly exportLagSeconds: number,
  ) {}

  private exportCutoff(): number {
    return Math.floor(this.store.now() / 1000) - this.exportLagSeconds;
  }

  updatedTs = (o: { updated_at: string }): number => {
    const hit = this.parsed.get(o);
    if (hit?.raw === o.updated_at) return hit.ts;
    const ts = unixOf(o.updated_at);
    this.parsed.set(o, { raw: o.updated_at, ts });
    return ts;
  };

  private positions<T extends { id: number }>(
    name: string,
    items: Map<number, T>,
    ts: (t: T) => number,
  ): Position<T>[] {
    const cached = this.indexes.get(name);
    let valid = cached !== undefined && cached.ts.size === items.size;
    if (valid) {
      for (const item of items.values()) {
        if (cached!.ts.get(item) !== ts(item)) {
          valid = false;
          break;
        }
      }
    }
    if (valid) return cached!.sorted as Position<T>[];
    const sorted = byPosition(items.values(), ts);
    this.indexes.set(name, { ts: new Map(sorted.map((e) => [e.item, e.ts])), sorted });
    return sorted;
  }

  /** The positions from `from` up to the cutoff (the last minute is left out). */
  private eligible<T>(sorted: Position<T>[], from: number): Position<T>[] {
    const cutoff = this.exportCutoff();
    return sorted.slice(
      from,
      Math.max(
        from,
        firstIndex(sorted, (e) => e.ts <= cutoff),
      ),
    );
  }

  /** Cursor-based export (tickets, users): `start_time` then `cursor`, ≤1000 per page. */
  cursorExport<T extends { id: number }>(
    res: Response,
    query: URLSearchParams,
    path: string,
    key: string,
    items: Map<number, T>,
    ts: (t: T) => number,
    present: (t: T) => unknown,
  ): void {
    const after = exportStart(query);
    const perPage = Math.min(EXPORT_PAGE, positiveInt(query.get('per_page')) ?? EXPORT_PAGE);
    const sorted = this.positions(key, items, ts);
    const from = firstIndex(sorted, (e) => e.ts < after[0] || (e.ts === after[0] && e.item.id <= after[1]));
    const eligible = this.eligible(sorted, from);
    const page = eligible.slice(0, perPage);
    const first = page[0];
    const last = page.at(-1);
    const afterCursor = last ? encodeCursor([last.ts, last.item.id]) : encodeCursor(after);
    const beforeCursor = first ? encodeCursor([first.ts, first.item.id - 1]) : null;
    const baseUrl = this.store.baseUrl;
    send(res, 200, {
      [key]: page.map(({ item }) => present(item)),
      after_url: `${baseUrl}/${path}.json?cursor=${afterCursor}`,
      after_cursor: afterCursor,
      before_url: beforeCursor ? `${baseUrl}/${path}.json?cursor=${beforeCursor}` : null,
      before_cursor: beforeCursor,
      end_of_stream: eligible.length <= perPage,
    });
  }

  /** Time-based export (organizations, users): items changed at or after start_time; end_time feeds the next page. */
  timeExport<T extends { id: number; updated_at: string }>(
    res: Response,
    query: URLSearchParams,
    path: string,
    key: string,
    items: Map<number, T>,
    present: (t: T) => unknown,
  ): void {
    const start = Number(query.get('start_time'));
    if (query.get('start_time') === null || !Number.isInteger(start) || start < 0)
      throw new HttpError(400, zendeskErrors.invalidValue('start_time is required'));
    const perPage = Math.min(EXPORT_PAGE, positiveInt(query.get('per_page')) ?? EXPORT_PAGE);
    const sorted = this.positions(key, items, this.updatedTs);
    const from = firstIndex(sorted, (e) => e.ts < start);
    const eligible = this.eligible(sorted, from);
    const page = eligible.slice(0, perPage);
    const endTime = page.at(-1)?.ts ?? start;
    send(res, 200, {
      [key]: page.map(({ item }) => present(item)),
      next_page: `${this.store.baseUrl}/${path}.json?start_time=${endTime}`,
      previous_page: null,
      count: page.length,
      end_time: endTime,
      end_of_stream: eligible.length <= perPage,
    });
  }

  /** Cursor pagination of a list endpoint (`page[size]` ≤100, `page[after]`), in creation order. */
  cursorPage<T>(
    res: Response,
    q: URLSearchParams,
    path: string,
    key: string,
    all: T[],
    idOf: (t: T) => string,
    present: (t: T) => unknown,
  ): void {
    const size = Math.min(100, positiveInt(q.get('page[size]')) ?? 100);
    let start = 0;
    const afterCursor = q.get('page[after]');
    if (afterCursor) {
      const index = all.findIndex((item) => encodeCursor(['p', idOf(item)]) === afterCursor);
      if (index < 0) throw new HttpError(400, zendeskErrors.invalidValue('page[after] is not a valid cursor'));
      start = index + 1;
    }
    const page = all.slice(start, start + size);
    const hasMore = start + size < all.length;
    const first = page[0];
    const last = page.at(-1);
    const after = last === undefined ? null : encodeCursor(['p', idOf(last)]);
    const before = first === undefined ? null : encodeCursor(['p', idOf(first)]);
    const kept = [...q.entries()].filter(([k]) => !k.startsWith('page['));
    const link = (cursorKey: string, cursor: string) => {
      const params = new URLSearchParams([...kept, ['page[size]', String(size)], [cursorKey, cursor]]);
      return `${this.store.baseUrl}/${path}?${params.toString().replace(/%5B/g, '[').replace(/%5D/g, ']')}`;
    };
    send(res, 200, {
      [key]: page.map(present),
      meta: { has_more: hasMore, after_cursor: after, before_cursor: before },
      links: {
        next: hasMore && after ? link('page[after]', after) : null,
        prev: start > 0 && before ? link('page[before]', before) : null,
      },
    });
  }
}
