/** The Salesforce stand-in's SOQL evaluator over its state: WHERE conditions (with date and datetime literals) and ORDER BY with nulls first or last. */
import type { SalesforceState } from './state.js';
import { type SalesforceField, type SalesforceRecord } from './types.js';
import type { Condition, FieldPath, Literal, Soql } from './soql-parser.js';

function valueAt(state: SalesforceState, rec: SalesforceRecord, path: FieldPath): unknown {
  if (!path.via) return rec[path.field.name] ?? null;
  const ref = rec[path.via.name];
  return typeof ref === 'string' ? (state.table(path.target).get(ref)?.[path.field.name] ?? null) : null;
}

// Queries compare the same few datetimes over and over (every row of a keyset page): parse each once.
const parsedDateTimes = new Map<string, number>();
function dateTimeMs(value: unknown): number {
  const text = String(value);
  let ms = parsedDateTimes.get(text);
  if (ms === undefined) {
    if (parsedDateTimes.size >= 100_000) parsedDateTimes.clear();
    parsedDateTimes.set(text, (ms = Date.parse(text)));
  }
  return ms;
}
/** String.prototype.localeCompare's order (the default collator), without building a collator per call. */
const collator = new Intl.Collator();

/** -1, 0, 1, or null when the two cannot be ordered (different types). */
function compareTo(field: SalesforceField, value: unknown, lit: Literal): number | null {
  if (value === null || lit.value === null) return null;
  const sign = (d: number) => (d < 0 ? -1 : d > 0 ? 1 : 0);
  switch (field.type) {
    case 'id':
    case 'reference': {
      const v = String(value);
      const l = String(lit.value);
      // A 15-character id is case-sensitive; 18 characters are safe to compare ignoring case.
      return l.length === 15
        ? v.slice(0, 15) === l
          ? 0
          : sign(collator.compare(v, l))
        : sign(collator.compare(v.toLowerCase(), l.toLowerCase()));
    }
    case 'datetime':
      return sign(dateTimeMs(value) - dateTimeMs(lit.value));
    case 'date':
      return sign(String(value).localeCompare(String(lit.value)));
    case 'boolean':
      return value === lit.value ? 0 : null;
    case 'int':
    case 'double':
    case 'currency':
    case 'percent':
      return sign(Number(value) - Number(lit.value));
    default: {
      const a = String(value).toLowerCase(); // SOQL text comparisons ignore case
      const b = String(lit.value).toLowerCase();
      return a === b ? 0 : a < b ? -1 : 1;
    }
  }
}

export function holds(state: SalesforceState, rec: SalesforceRecord, c: Condition): boolean {
  switch (c.op) {
    case 'and':
      return c.items.every((item) => holds(state, rec, item));
    case 'or':
      return c.items.some((item) => holds(state, rec, item));
    case 'not':
      return !holds(state, rec, c.item);
    case 'like': {
      const v = valueAt(state, rec, c.path);
      return v !== null && c.pattern.test(String(v));
    }
    case 'in': {
      const v = valueAt(state, rec, c.path);
      const found = c.lits.some((lit) => (lit.value === null ? v === null : compareTo(c.path.field, v, lit) === 0));
      return c.negate ? !found : found;
    }
    case 'cmp': {
      const v = valueAt(state, rec, c.path);
      if (c.lit.value === null) return c.cmp === '=' ? v === null : c.cmp === '!=' ? v !== null : false;
      const d = compareTo(c.path.field, v, c.lit);
      if (d === null) return c.cmp === '!=';
      return { '=': d === 0, '!=': d !== 0, '<': d < 0, '<=': d <= 0, '>': d > 0, '>=': d >= 0 }[c.cmp] ?? false;
    }
  }
}

/**
 * The rows in ORDER BY order (stable), the first `keep` only: with a LIMIT, a bounded heap
 * instead of sorting the whole table (a keyset page of 2,000 out of 100,000 Accounts).
 */
export function orderRecords(
  state: SalesforceState,
  rows: SalesforceRecord[],
  orderBy: Soql['orderBy'],
  keep = Infinity,
): SalesforceRecord[] {
  if (orderBy.length === 0) return rows;
  type Keyed = { rec: SalesforceRecord; at: number; values: unknown[] };
  const cmp = (a: Keyed, b: Keyed): number => {
    for (let i = 0; i < orderBy.length; i++) {
      const { path, desc, nullsLast } = orderBy[i]!;
      const va = a.values[i] ?? null;
      const vb = b.values[i] ?? null;
      if (va === null || vb === null) {
        if (va === vb) continue;
        return (va === null) === nullsLast ? 1 : -1;
      }
      const d = compareTo(path.field, va, { kind: 'string', value: vb as string, pos: 0 }) ?? 0;
      if (d !== 0) return desc ? -d : d;
    }
    return a.at - b.at; // ties keep their order, as a stable sort does
  };
  const keyed = (rec: SalesforceRecord, at: number): Keyed => ({
    rec,
    at,
    values: orderBy.map(({ path }) => valueAt(state, rec, path)),
  });
  if (keep >= rows.length)
    return rows
      .map(keyed)
      .sort(cmp)
      .map((k) => k.rec);
  if (keep <= 0) return [];
  // Max-heap of the best `keep` so far: its root is the worst of them.
  const heap: Keyed[] = [];
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
  rows.forEach((rec, at) => {
    const k = keyed(rec, at);
    if (heap.length === keep) {
      if (cmp(k, heap[0]!) >= 0) return;
      heap[0] = k;
      for (let i = 0; ;) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let worst = i;
        if (l < heap.length && cmp(heap[l]!, heap[worst]!) > 0) worst = l;
        if (r < heap.length && cmp(heap[r]!, heap[worst]!) > 0) worst = r;
        if (worst === i) break;
        swap(i, worst);
        i = worst;
      }
      return;
    }
    heap.push(k);
    for (let i = heap.length - 1; i > 0 && cmp(heap[i]!, heap[(i - 1) >> 1]!) > 0; i = (i - 1) >> 1)
      swap(i, (i - 1) >> 1);
  });
  return heap.sort(cmp).map((k) => k.rec);
}
