/** The Salesforce stand-in's SOQL parser: tokens, fields and parent paths, WHERE, ORDER BY, LIMIT and OFFSET, with Salesforce's errors pointing at the offending spot. */
import { ApiError, apiError, noSuchColumn } from './errors.js';
import { type SObjectDef } from './schema.js';
import type { SalesforceState } from './state.js';
import { type SalesforceField, type SalesforceFieldType } from './types.js';

type TokKind = 'string' | 'datetime' | 'date' | 'number' | 'op' | 'punct' | 'word' | 'end';
type Tok = { kind: TokKind; text: string; pos: number };
export type FieldPath = { field: SalesforceField; via: SalesforceField | null; target: SObjectDef; pos: number };
export type Literal = { kind: TokKind | 'boolean' | 'null'; value: string | number | boolean | null; pos: number };
export type Condition =
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

/** A recursive-descent parser over the tokens of one query; `def` is known once FROM is read. */
class SoqlParser {
  private readonly toks: Tok[];
  private i = 0;
  private def!: SObjectDef;

  constructor(
    private readonly soql: string,
    private readonly state: SalesforceState,
  ) {
    this.toks = tokenize(soql);
  }

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private next(): Tok {
    return this.toks[this.i++]!;
  }
  private isWord(t: Tok, word: string): boolean {
    return t.kind === 'word' && t.text.toUpperCase() === word;
  }
  private unexpected(t: Tok): ApiError {
    return soqlError(this.soql, t.pos, 'MALFORMED_QUERY', `unexpected token: ${t.text}`);
  }
  private expectWord(word: string): void {
    const t = this.next();
    if (!this.isWord(t, word)) throw this.unexpected(t);
  }
  private expectPunct(p: string): void {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== p) throw this.unexpected(t);
  }

  parse(): Soql {
    this.expectWord('SELECT');
    const { count, selectToks } = this.selectList();
    this.expectWord('FROM');
    this.def = this.fromObject();
    const select = selectToks.map((t) => this.resolve(t));
    let where: Condition | null = null;
    if (this.isWord(this.peek(), 'WHERE')) {
      this.next();
      where = this.orExpr();
    }
    const orderBy = this.orderBy();
    const limit = this.integerAfter('LIMIT');
    const offset = this.integerAfter('OFFSET') ?? 0;
    if (this.peek().kind !== 'end') throw this.unexpected(this.peek());
    return { def: this.def, count, select, where, orderBy, limit, offset };
  }

  /** COUNT(), or the selected field tokens (resolved once FROM names the object). */
  private selectList(): { count: boolean; selectToks: Tok[] } {
    const selectToks: Tok[] = [];
    if (this.isWord(this.peek(), 'COUNT') && this.toks[this.i + 1]?.text === '(') {
      this.next();
      this.expectPunct('(');
      this.expectPunct(')');
      return { count: true, selectToks };
    }
    do {
      const t = this.next();
      if (t.kind !== 'word') throw this.unexpected(t);
      selectToks.push(t);
    } while (this.peek().text === ',' && this.next());
    return { count: false, selectToks };
  }

  private fromObject(): SObjectDef {
    const from = this.next();
    if (from.kind !== 'word') throw this.unexpected(from);
    const def = this.state.objectOrNull(from.text);
    if (!def) {
      throw soqlError(
        this.soql,
        from.pos,
        'INVALID_TYPE',
        `sObject type '${from.text}' is not supported. If you are attempting to use a custom object, be sure to append the ` +
          "'__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
      );
    }
    return def;
  }

  private resolve(t: Tok): FieldPath {
    const { def, soql } = this;
    const parts = t.text.split('.');
    if (parts.length > 1 && parts[0]!.toLowerCase() === def.name.toLowerCase()) parts.shift();
    if (parts.length === 1) {
      const field = def.byName.get(parts[0]!.toLowerCase());
      if (!field) throw soqlError(soql, t.pos, 'INVALID_FIELD', noSuchColumn(parts[0]!, def.name));
      return { field, via: null, target: def, pos: t.pos };
    }
    const via = def.fields.find((f) => f.relationshipName?.toLowerCase() === parts[0]!.toLowerCase());
    const target = via?.referenceTo.map((r) => this.state.objectOrNull(r)).find((d) => d !== undefined);
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
  }

  private literal(path: FieldPath): Literal {
    const t = this.next();
    let lit: Literal;
    if (t.kind === 'string')
      lit = {
        kind: 'string',
        value: t.text.slice(1, -1).replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c),
        pos: t.pos,
      };
    else if (t.kind === 'number') lit = { kind: 'number', value: Number(t.text), pos: t.pos };
    else if (t.kind === 'datetime' || t.kind === 'date') lit = { kind: t.kind, value: t.text, pos: t.pos };
    else if (this.isWord(t, 'TRUE') || this.isWord(t, 'FALSE'))
      lit = { kind: 'boolean', value: this.isWord(t, 'TRUE'), pos: t.pos };
    else if (this.isWord(t, 'NULL')) return { kind: 'null', value: null, pos: t.pos };
    else throw this.unexpected(t);
    const rule = literalRule(path.field.type);
    if (!(rule.kinds as string[]).includes(lit.kind)) {
      const quoting = rule.quoted ? 'should be enclosed in quotes' : 'should not be enclosed in quotes';
      throw soqlError(
        this.soql,
        t.pos,
        'INVALID_FIELD',
        `value of filter criterion for field '${path.field.name}' must be of type ${rule.typeName} and ${quoting}`,
      );
    }
    return lit;
  }

  private primary(): Condition {
    if (this.peek().text === '(') {
      this.next();
      const inner = this.orExpr();
      this.expectPunct(')');
      return inner;
    }
    const t = this.next();
    if (t.kind !== 'word') throw this.unexpected(t);
    const path = this.resolve(t);
    const op = this.next();
    if (op.kind === 'op') return { op: 'cmp', path, cmp: op.text === '<>' ? '!=' : op.text, lit: this.literal(path) };
    const negate = this.isWord(op, 'NOT');
    if (negate) this.expectWord('IN');
    if (negate || this.isWord(op, 'IN')) {
      this.expectPunct('(');
      const lits = [this.literal(path)];
      while (this.peek().text === ',') {
        this.next();
        lits.push(this.literal(path));
      }
      this.expectPunct(')');
      return { op: 'in', path, negate, lits };
    }
    if (this.isWord(op, 'LIKE')) {
      const lit = this.next();
      if (lit.kind !== 'string') throw this.unexpected(lit);
      const body = lit.text
        .slice(1, -1)
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replace(/%/g, '.*')
        .replace(/_/g, '.');
      return { op: 'like', path, pattern: new RegExp(`^${body}$`, 'is') };
    }
    throw this.unexpected(op);
  }

  private notExpr(): Condition {
    return this.isWord(this.peek(), 'NOT') ? (this.next(), { op: 'not', item: this.notExpr() }) : this.primary();
  }

  private andExpr(): Condition {
    const items = [this.notExpr()];
    while (this.isWord(this.peek(), 'AND')) {
      this.next();
      items.push(this.notExpr());
    }
    return items.length === 1 ? items[0]! : { op: 'and', items };
  }

  private orExpr(): Condition {
    const items = [this.andExpr()];
    while (this.isWord(this.peek(), 'OR')) {
      this.next();
      items.push(this.andExpr());
    }
    return items.length === 1 ? items[0]! : { op: 'or', items };
  }

  private orderBy(): Soql['orderBy'] {
    const orderBy: Soql['orderBy'] = [];
    if (!this.isWord(this.peek(), 'ORDER')) return orderBy;
    this.next();
    this.expectWord('BY');
    do {
      const t = this.next();
      if (t.kind !== 'word') throw this.unexpected(t);
      const path = this.resolve(t);
      let desc = false;
      if (this.isWord(this.peek(), 'ASC') || this.isWord(this.peek(), 'DESC'))
        desc = this.next().text.toUpperCase() === 'DESC';
      let nullsLast = desc; // Salesforce's default: nulls first ascending, last descending
      if (this.isWord(this.peek(), 'NULLS')) {
        this.next();
        nullsLast = this.next().text.toUpperCase() === 'LAST';
      }
      orderBy.push({ path, desc, nullsLast });
    } while (this.peek().text === ',' && this.next());
    return orderBy;
  }

  private integerAfter(word: string): number | null {
    if (!this.isWord(this.peek(), word)) return null;
    this.next();
    const t = this.next();
    if (t.kind !== 'number' || !Number.isInteger(Number(t.text)) || Number(t.text) < 0) throw this.unexpected(t);
    return Number(t.text);
  }
}

export function parseSoql(soql: string, state: SalesforceState): Soql {
  return new SoqlParser(soql, state).parse();
}
