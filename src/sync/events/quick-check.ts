/**
 * A quick yes for zod on the hot path: `quickCheck(schema)` compiles a zod schema into a plain predicate that says
 * true only for a value the schema accepts as it is, so that a webhook's payload need not be copied key by key
 * through zod's loose objects (bench:ingest: zod was a tenth of the web process's CPU per request). False means
 * "not known": the caller runs zod itself, which accepts or says what is wrong, as before.
 *
 * The predicate is built from the schema's own definition (objects, strings, numbers, booleans, null, literals, enums,
 * arrays, records, unions, optional, nullable, unknown, and their length, range, integer and regex checks); any
 * other string check (an ISO date) asks zod for that one value, and any other kind of schema (a transform, a
 * default, a refinement, a pipe) makes the whole predicate always false. So a true is zod's own verdict and the
 * value is zod's output but for one thing the caller must not rely on: keys a non-strict object does not name are
 * still there (zod strips them from a plain z.object's output).
 */
import type { z } from 'zod';

type Check = (value: unknown) => boolean;

/** The parts of a zod v4 definition read here. */
interface Def {
  type: string;
  checks?: Array<{ _zod: { def: CheckDef } }>;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  values?: unknown[];
  entries?: Record<string, unknown>;
}
interface CheckDef {
  check: string;
  minimum?: number;
  maximum?: number;
  value?: number;
  inclusive?: boolean;
  format?: string;
  pattern?: RegExp;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** A definition with keys other than `known` (and its checks, compiled apart) is of a kind this compiler does not read. */
const only = (def: Def, known: readonly string[]): boolean =>
  Object.keys(def).every((k) => k === 'checks' || known.includes(k));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (!isObject(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/** One length, range, integer or regex check; undefined for any other. */
function compileCheck(c: CheckDef): Check | undefined {
  const length = (v: unknown) => (v as { length: number }).length;
  switch (c.check) {
    case 'min_length':
      return (v) => length(v) >= c.minimum!;
    case 'max_length':
      return (v) => length(v) <= c.maximum!;
    case 'greater_than':
      return c.inclusive ? (v) => (v as number) >= c.value! : (v) => (v as number) > c.value!;
    case 'less_than':
      return c.inclusive ? (v) => (v as number) <= c.value! : (v) => (v as number) < c.value!;
    case 'number_format':
      return c.format === 'safeint' ? (v) => Number.isSafeInteger(v) : undefined;
    case 'string_format':
      if (c.format !== 'regex' || !c.pattern || c.pattern.global || c.pattern.sticky) return undefined;
      return (v) => c.pattern!.test(v as string);
    default:
      return undefined;
  }
}

/** The type test followed by every check of the definition; undefined if any check is not one compileCheck knows. */
function withChecks(def: Def, type: Check): Check | undefined {
  const checks: Check[] = [];
  for (const c of def.checks ?? []) {
    const compiled = compileCheck(c._zod.def);
    if (!compiled) return undefined;
    checks.push(compiled);
  }
  if (checks.length === 0) return type;
  return (v) => type(v) && checks.every((check) => check(v));
}

function compileObject(def: Def): Check | undefined {
  if (!only(def, ['type', 'shape', 'catchall'])) return undefined;
  const catchall = def.catchall ? defOf(def.catchall).type : undefined;
  if (catchall !== undefined && catchall !== 'unknown' && catchall !== 'never') return undefined;
  const keys: string[] = [];
  const checks: Check[] = [];
  for (const [key, schema] of Object.entries(def.shape ?? {})) {
    const check = compile(schema);
    if (!check) return undefined;
    keys.push(key);
    checks.push(check);
  }
  const names = new Set(keys);
  return (v) => {
    if (!isObject(v)) return false;
    for (let i = 0; i < keys.length; i++) if (!checks[i]!(v[keys[i]!])) return false;
    if (catchall === 'never') for (const key in v) if (!names.has(key)) return false;
    return true;
  };
}

function compileRecord(def: Def): Check | undefined {
  const key = def.keyType && defOf(def.keyType);
  // Keys of a plain string schema only: any other key schema could refuse or rewrite a key.
  if (!only(def, ['type', 'keyType', 'valueType']) || !key || key.type !== 'string' || !only(key, ['type'])) {
    return undefined;
  }
  const value = def.valueType && compile(def.valueType);
  if (!value) return undefined;
  return (v) => isPlainObject(v) && Object.keys(v).every((k) => value(v[k]));
}

const compilers: Record<string, (def: Def, schema: z.ZodType) => Check | undefined> = {
  object: compileObject,
  record: compileRecord,
  string: (def, schema) =>
    only(def, ['type'])
      ? (v) => typeof v === 'string'
      : // A string format (an ISO date): zod's own verdict for this one value, which it returns unchanged.
        (v) => typeof v === 'string' && schema.safeParse(v).success,
  number: (def) => (only(def, ['type']) ? Number.isFinite : undefined),
  boolean: (def) => (only(def, ['type']) ? (v) => typeof v === 'boolean' : undefined),
  unknown: (def) => (only(def, ['type']) ? () => true : undefined),
  null: (def) => (only(def, ['type']) ? (v) => v === null : undefined),
  literal: (def) => (only(def, ['type', 'values']) ? (v) => def.values!.includes(v) : undefined),
  enum: (def) => {
    if (!only(def, ['type', 'entries'])) return undefined;
    const values = Object.values(def.entries ?? {});
    return (v) => values.includes(v);
  },
  array: (def) => {
    const element = only(def, ['type', 'element']) && def.element && compile(def.element);
    if (!element) return undefined;
    // By index, as zod reads an array: a hole is an undefined element (every() would skip it).
    return (v) => {
      if (!Array.isArray(v)) return false;
      for (let i = 0; i < v.length; i++) if (!element(v[i])) return false;
      return true;
    };
  },
  optional: (def) => {
    const inner = only(def, ['type', 'innerType']) && def.innerType && compile(def.innerType);
    return inner ? (v) => v === undefined || inner(v) : undefined;
  },
  nullable: (def) => {
    const inner = only(def, ['type', 'innerType']) && def.innerType && compile(def.innerType);
    return inner ? (v) => v === null || inner(v) : undefined;
  },
  // Any option that accepts: a discriminated union's options each name their own literal, so only its own can.
  union: (def) => {
    if (!only(def, ['type', 'options', 'discriminator', 'inclusive'])) return undefined;
    const options = (def.options ?? []).map(compile);
    if (options.length === 0 || options.some((o) => !o)) return undefined;
    return (v) => options.some((o) => o!(v));
  },
};

/** The schema's type test, then its checks (a string format's own check is left to zod, in compilers.string). */
function compile(schema: z.ZodType): Check | undefined {
  const def = defOf(schema);
  const type = compilers[def.type]?.(def, schema);
  const checked = type && withChecks(def, type);
  // A string check this compiler does not read (an email, say): zod's verdict for that one value.
  if (!checked && type && def.type === 'string') return (v) => typeof v === 'string' && schema.safeParse(v).success;
  return checked;
}

/**
 * The quick predicate of `schema`: true only for a value `schema.safeParse` accepts (see the module note for what
 * the value then stands for); always false for a schema this compiler cannot read.
 */
export function quickCheck(schema: z.ZodType): (value: unknown) => boolean {
  return compile(schema) ?? (() => false);
}
