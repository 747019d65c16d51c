/** A small SOQL parser and evaluator over the stand-in's state: fields and parent paths, WHERE, ORDER BY, LIMIT, date literals. */
import { ApiError, apiError, noSuchColumn } from './errors.js';
import { type SObjectDef } from './schema.js';
import type { SalesforceState } from './state.js';
import { type SalesforceField, type SalesforceFieldType, type SalesforceRecord } from './types.js';

// ---------------------------------------------------------------------------------------------
// SOQL: a small parser and evaluator
// ---------------------------------------------------------------------------------------------

type TokKind = 'string' | 'datetime' | 'date' | 'number' | 'op' | 'punct' | 'word' | 'end';
type Tok = { kind: TokKind; text: string; pos: number };
type FieldPath = { field: SalesforceField; via: SalesforceField | null; target: SObjectDef; pos: number };
type Literal = { kind: TokKind | 'boolean' | 'null'; value: string | number | boolean | null; pos: number };
type Condition =
  | { op: 'and' | 'or'; items: Condition[] }
  | { op: 'not'; item: Condition }
  | { op: 'cmp'; path: FieldPath; cmp: string; lit: Literal }
  | { op: 'in'; path: FieldPath; negate: boolean; lits: Literal[] }
  | { op: 'like'; path: FieldPath; pattern: RegExp };
export type Soql = {
  def: SObjectDef;
  count: boolean;
  select: FieldPath[];
  where: Condition | null;
  orderBy: Array<{ path: FieldPath; desc: boolean; nullsLast: boolean }>;
  limit: number | null;
  offset: number;
};

const TOKENS: Array<[TokKind, RegExp]> = [
  ['string', /'(?:[^'\\]|\\.)*'/y],
  ['datetime', /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})/y],
  ['date', /\d{4}-\d{2}-\d{2}(?![\dT])/y],
  ['number', /-?\d+(?:\.\d+)?/y],
  ['op', /!=|<>|<=|>=|=|<|>/y],
  ['punct', /[,()]/y],
  ['word', /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y],
];

/** Salesforce points at the offending spot: the line, a caret, and "ERROR at Row:r:Column:c". */
function soqlError(soql: string, pos: number, errorCode: string, message: string): ApiError {
  const before = soql.slice(0, pos).split('\n');
  const row = before.length;
  const column = (before[row - 1] ?? '').length + 1;
  const line = soql.split('\n')[row - 1] ?? '';
  return apiError(
    400,
    errorCode,
    `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${message}`,
  );
}

function tokenize(soql: string): Tok[] {
  const toks: Tok[] = [];
  let pos = 0;
  for (;;) {
    while (pos < soql.length && /\s/.test(soql[pos]!)) pos++;
    if (pos >= soql.length) break;
    const hit = TOKENS.map(([kind, re]) => {
      re.lastIndex = pos;
      const m = re.exec(soql);
      return m ? { kind, text: m[0], pos } : null;
    }).find((t) => t !== null);
    if (!hit) throw soqlError(soql, pos, 'MALFORMED_QUERY', `unexpected token: ${soql[pos]}`);
    toks.push(hit);
    pos += hit.text.length;
  }
  toks.push({ kind: 'end', text: '<EOF>', pos: soql.length });
  return toks;
}

/** What a filter value must look like for a field type, named as Salesforce names it in its error. */
function literalRule(type: SalesforceFieldType): { kinds: TokKind[] | ['boolean']; typeName: string; quoted: boolean } {
  switch (type) {
    case 'datetime':
      return { kinds: ['datetime'], typeName: 'dateTime', quoted: false };
    case 'date':
      return { kinds: ['date'], typeName: 'date', quoted: false };
    case 'int':
    case 'double':
    case 'currency':
    case 'percent':
      return { kinds: ['number'], typeName: type === 'int' ? 'integer' : 'double', quoted: false };
    case 'boolean':
      return { kinds: ['boolean'], typeName: 'boolean', quoted: false };
    default:
      return { kinds: ['string'], typeName: 'string', quoted: true };
  }
}

export function parseSoql(soql: string, state: SalesforceState): Soql {
  const toks = tokenize(soql);
  let i = 0;
  const peek = () => toks[i]!;
  const next = () => toks[i++]!;
  const isWord = (t: Tok, word: string) => t.kind === 'word' && t.text.toUpperCase() === word;
  const unexpected = (t: Tok) => soqlError(soql, t.pos, 'MALFORMED_QUERY', `unexpected token: ${t.text}`);
  const expectWord = (word: string) => {
    const t = next();
    if (!isWord(t, word)) throw unexpected(t);
  };
  const expectPunct = (p: string) => {
    const t = next();
    if (t.kind !== 'punct' || t.text !== p) throw unexpected(t);
  };

  expectWord('SELECT');
  let count = false;
  const selectToks: Tok[] = [];
  if (isWord(peek(), 'COUNT') && toks[i + 1]?.text === '(') {
    next();
    expectPunct('(');
    expectPunct(')');
    count = true;
  } else {
    do {
      const t = next();
      if (t.kind !== 'word') throw unexpected(t);
      selectToks.push(t);
    } while (peek().text === ',' && next());
  }
  expectWord('FROM');
  const from = next();
  if (from.kind !== 'word') throw unexpected(from);
  const def = state.objectOrNull(from.text);
  if (!def) {
    throw soqlError(
      soql,
      from.pos,
      'INVALID_TYPE',
      `sObject type '${from.text}' is not supported. If you are attempting to use a custom object, be sure to append the ` +
        "'__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
    );
  }

  const resolve = (t: Tok): FieldPath => {
    const parts = t.text.split('.');
    if (parts.length > 1 && parts[0]!.toLowerCase() === def.name.toLowerCase()) parts.shift();
    if (parts.length === 1) {
      const field = def.byName.get(parts[0]!.toLowerCase());
      if (!field) throw soqlError(soql, t.pos, 'INVALID_FIELD', noSuchColumn(parts[0]!, def.name));
      return { field, via: null, target: def, pos: t.pos };
    }
    const via = def.fields.find((f) => f.relationshipName?.toLowerCase() === parts[0]!.toLowerCase());
    const target = via?.referenceTo.map((r) => state.objectOrNull(r)).find((d) => d !== undefined);
    if (!via || !target || parts.length > 2) {
      throw soqlError(
        soql,
        t.pos,
        'INVALID_FIELD',
        `Didn't understand relationship '${parts[0]}' in field path. If you are attempting to use a custom relationship, be sure to ` +
          "append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
      );
    }
    const field = target.byName.get(parts[1]!.toLowerCase());
    if (!field) throw soqlError(soql, t.pos, 'INVALID_FIELD', noSuchColumn(parts[1]!, target.name));
    return { field, via, target, pos: t.pos };
  };

  const literal = (path: FieldPath): Literal => {
    const t = next();
    let lit: Literal;
    if (t.kind === 'string')
      lit = {
        kind: 'string',
        value: t.text.slice(1, -1).replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c),
        pos: t.pos,
      };
    else if (t.kind === 'number') lit = { kind: 'number', value: Number(t.text), pos: t.pos };
    else if (t.kind === 'datetime' || t.kind === 'date') lit = { kind: t.kind, value: t.text, pos: t.pos };
    else if (isWord(t, 'TRUE') || isWord(t, 'FALSE')) lit = { kind: 'boolean', value: isWord(t, 'TRUE'), pos: t.pos };
    else if (isWord(t, 'NULL')) return { kind: 'null', value: null, pos: t.pos };
    else throw unexpected(t);
    const rule = literalRule(path.field.type);
    if (!(rule.kinds as string[]).includes(lit.kind)) {
      const quoting = rule.quoted ? 'should be enclosed in quotes' : 'should not be enclosed in quotes';
      throw soqlError(
        soql,
        t.pos,
        'INVALID_FIELD',
        `value of filter criterion for field '${path.field.name}' must be of type ${rule.typeName} and ${quoting}`,
      );
    }
    return lit;
  };

  const primary = (): Condition => {
    if (peek().text === '(') {
      next();
      const inner = orExpr();
      expectPunct(')');
      return inner;
    }
    const t = next();
    if (t.kind !== 'word') throw unexpected(t);
    const path = resolve(t);
    const op = next();
    if (op.kind === 'op') return { op: 'cmp', path, cmp: op.text === '<>' ? '!=' : op.text, lit: literal(path) };
    const negate = isWord(op, 'NOT');
    if (negate) expectWord('IN');
    if (negate || isWord(op, 'IN')) {
      expectPunct('(');
      const lits = [literal(path)];
      while (peek().text === ',') {
        next();
        lits.push(literal(path));
      }
      expectPunct(')');
      return { op: 'in', path, negate, lits };
    }
    if (isWord(op, 'LIKE')) {
      const lit = next();
      if (lit.kind !== 'string') throw unexpected(lit);
      const body = lit.text
        .slice(1, -1)
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replace(/%/g, '.*')
        .replace(/_/g, '.');
      return { op: 'like', path, pattern: new RegExp(`^${body}$`, 'is') };
    }
    throw unexpected(op);
  };
  const notExpr = (): Condition => (isWord(peek(), 'NOT') ? (next(), { op: 'not', item: notExpr() }) : primary());
  const andExpr = (): Condition => {
    const items = [notExpr()];
    while (isWord(peek(), 'AND')) {
      next();
      items.push(notExpr());
    }
    return items.length === 1 ? items[0]! : { op: 'and', items };
  };
  const orExpr = (): Condition => {
    const items = [andExpr()];
    while (isWord(peek(), 'OR')) {
      next();
      items.push(andExpr());
    }
    return items.length === 1 ? items[0]! : { op: 'or', items };
  };

  const select = selectToks.map(resolve);
  let where: Condition | null = null;
  if (isWord(peek(), 'WHERE')) {
    next();
    where = orExpr();
  }
  const orderBy: Soql['orderBy'] = [];
  if (isWord(peek(), 'ORDER')) {
    next();
    expectWord('BY');
    do {
      const t = next();
      if (t.kind !== 'word') throw unexpected(t);
      const path = resolve(t);
      let desc = false;
      if (isWord(peek(), 'ASC') || isWord(peek(), 'DESC')) desc = next().text.toUpperCase() === 'DESC';
      let nullsLast = desc; // Salesforce's default: nulls first ascending, last descending
      if (isWord(peek(), 'NULLS')) {
        next();
        nullsLast = next().text.toUpperCase() === 'LAST';
      }
      orderBy.push({ path, desc, nullsLast });
    } while (peek().text === ',' && next());
  }
  const integerAfter = (word: string): number | null => {
    if (!isWord(peek(), word)) return null;
    next();
    const t = next();
    if (t.kind !== 'number' || !Number.isInteger(Number(t.text)) || Number(t.text) < 0) throw unexpected(t);
    return Number(t.text);
  };
  const limit = integerAfter('LIMIT');
  const offset = integerAfter('OFFSET') ?? 0;
  if (peek().kind !== 'end') throw unexpected(peek());
  return { def, count, select, where, orderBy, limit, offset };
}

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
