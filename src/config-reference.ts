/**
 * The configuration reference, generated from the zod schemas in config.ts
 * (what each setting expects) and config/default.yaml (the YAML defaults and
 * their comments), so that the documentation cannot drift from the code.
 * `portal-sync config reference [--markdown]` prints it; docs/configuration.md
 * is its committed Markdown output, checked by test/docs.test.ts.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { DEFAULT_CONFIG_FILE, EnvSchema, FileSchema } from './config.js';

interface EnvEntry {
  name: string;
  /** What the value must look like: a type and every constraint the schema states. */
  expects: string;
  /** The default applied when the variable is unset, if the schema has one. */
  default?: string;
  description?: string;
}

interface YamlEntry {
  /** Dotted key path; `[]` marks the items of a list, `<key>` the keys of a map. */
  path: string;
  expects: string;
  /** The value in config/default.yaml, as YAML-ish text; absent when the file does not set the key. */
  default?: string;
  /** The comment above the key in config/default.yaml. */
  comment?: string;
}

export interface ConfigReference {
  env: EnvEntry[];
  yaml: YamlEntry[];
}

type Schema = z.core.$ZodType;
type Def = Record<string, unknown> & { type: string };

const defOf = (s: Schema): Def => s._zod.def as unknown as Def;

/** The message a check was given (`.refine(fn, 'message')`, `.regex(re, 'message')`), if any. */
function checkMessage(check: z.core.$ZodCheck): string | undefined {
  const error = (check._zod.def as { error?: unknown }).error;
  if (typeof error !== 'function') return undefined;
  try {
    const out: unknown = (error as (issue: unknown) => unknown)({});
    if (typeof out === 'string') return out;
    if (out && typeof out === 'object' && typeof (out as { message?: unknown }).message === 'string')
      return (out as { message: string }).message;
  } catch {
    // A message built from the issue: nothing static to show.
  }
  return undefined;
}

const count = (n: unknown, unit: string): string => `${String(n)} ${n === 1 ? unit.replace(/s$/, '') : unit}`;

function describeCheck(check: z.core.$ZodCheck, unit: string): string | undefined {
  const d = check._zod.def as unknown as Record<string, unknown> & { check: string };
  const message = checkMessage(check);
  switch (d.check) {
    case 'custom':
      return message;
    case 'string_format':
      if (message) return message;
      return d.format === 'regex' ? `matching ${String(d.pattern)}` : `a ${String(d.format)}`;
    case 'number_format':
      return d.format === 'safeint' || d.format === 'int32' ? 'an integer' : `a ${String(d.format)}`;
    case 'greater_than':
      return `${d.inclusive ? '≥' : '>'} ${String(d.value)}`;
    case 'less_than':
      return `${d.inclusive ? '≤' : '<'} ${String(d.value)}`;
    case 'min_length':
      return `at least ${count(d.minimum, unit)}`;
    case 'max_length':
      return `at most ${count(d.maximum, unit)}`;
    case 'length_equals':
      return `exactly ${count(d.length, unit)}`;
    default:
      return message; // 'overwrite' (trim and the like) changes the value, it constrains nothing
  }
}

interface Shape {
  type: string;
  constraints: string[];
  default?: unknown;
  optional: boolean;
  description?: string;
  /** The innermost schema, for walking objects, arrays and records. */
  core: Schema;
}

/** Looks through optional/default/pipe/transform wrappers to the value's type and collects every constraint on the way. */
function shapeOf(schema: Schema): Shape {
  const constraints: string[] = [];
  let type = 'unknown';
  let def: unknown;
  let optional = false;
  let description: string | undefined;
  let core = schema;
  const visit = (s: Schema, input: boolean): void => {
    const d = defOf(s);
    description ??= z.globalRegistry.get(s)?.description;
    const unit = d.type === 'array' ? 'items' : 'characters';
    for (const check of (d.checks as z.core.$ZodCheck[] | undefined) ?? []) {
      const text = describeCheck(check, unit);
      if (text && !constraints.includes(text)) constraints.push(text);
    }
    switch (d.type) {
      case 'optional':
        optional = true;
        return visit(d.innerType as Schema, input);
      case 'default':
      case 'prefault': {
        const value = d.defaultValue;
        def ??= typeof value === 'function' ? (value as () => unknown)() : value;
        return visit(d.innerType as Schema, input);
      }
      case 'nullable':
      case 'readonly':
      case 'catch':
        return visit(d.innerType as Schema, input);
      case 'pipe':
        // What the operator writes is the input side; the output side adds only checks.
        visit(d.in as Schema, input);
        visit(d.out as Schema, false);
        return;
      case 'transform':
        return;
      default:
        if (!input) return;
        core = s;
        type =
          d.type === 'enum'
            ? `one of ${(s as unknown as z.ZodEnum).options.map((o) => `\`${String(o)}\``).join(', ')}`
            : d.type;
        if (d.type === 'literal') type = (d.values as unknown[]).map((v) => `\`${String(v)}\``).join(' or ');
        // A union reads as its alternatives, each with its own constraints.
        if (d.type === 'union') type = (d.options as Schema[]).map((o) => expects(shapeOf(o))).join(', or ');
        if (d.type === 'number' && d.coerce) type = 'number';
    }
  };
  visit(schema, true);
  return { type, constraints, default: def, optional, ...(description ? { description } : {}), core };
}

const expects = (s: Shape): string => [s.type, ...s.constraints].join('; ');

function envReference(): EnvEntry[] {
  return Object.entries(EnvSchema.shape).map(([name, schema]) => {
    const s = shapeOf(schema as Schema);
    return {
      name,
      expects: expects(s),
      ...(s.default !== undefined ? { default: String(s.default) } : {}),
      ...(s.description ? { description: s.description } : {}),
    };
  });
}

/** Comments and values of config/default.yaml by key path. */
function readDefaults(file: string): { values: unknown; comments: Map<string, string> } {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  const comments = new Map<string, string>();
  const walk = (node: unknown, path: string[]): void => {
    if (!isMap(node)) return;
    node.items.forEach((pair, i) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const here = [...path, key];
      // yaml attaches the comment above a map's first key to the map itself.
      const comment = (pair.key as YamlNode | null)?.commentBefore ?? (i === 0 ? node.commentBefore : undefined);
      if (comment)
        comments.set(
          here.join('.'),
          comment
            .split('\n')
            .map((l) => l.trim())
            .join(' ')
            .trim(),
        );
      if (isSeq(pair.value)) return;
      walk(pair.value, here);
    });
  };
  walk(doc.contents, []);
  return { values: doc.toJS() as unknown, comments };
}

function formatValue(value: unknown): string {
  if (Array.isArray(value) && value.some((v) => typeof v === 'object' && v !== null)) {
    return `${value.length} entr${value.length === 1 ? 'y' : 'ies'} (see config/default.yaml)`;
  }
  return JSON.stringify(value);
}

function get(value: unknown, key: string): unknown {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function yamlReference(defaultFile = DEFAULT_CONFIG_FILE): YamlEntry[] {
  const { values, comments } = readDefaults(defaultFile);
  const out: YamlEntry[] = [];
  const walk = (schema: Schema, path: string[], value: unknown, withDefaults: boolean): void => {
    const s = shapeOf(schema);
    const d = defOf(s.core);
    const key = path.join('.');
    const comment = comments.get(key);
    const entry = (type: string, dflt: unknown): YamlEntry => ({
      path: key,
      expects: [type, ...(s.optional ? ['optional'] : []), ...s.constraints].join('; '),
      ...(withDefaults && dflt !== undefined ? { default: formatValue(dflt) } : {}),
      ...(comment ? { comment } : {}),
    });
    if (d.type === 'object') {
      // A group gets its own row only to carry its comment (or its constraints).
      if (path.length > 0 && (comment || s.constraints.length > 0)) out.push(entry('map', undefined));
      for (const [k, child] of Object.entries((s.core as unknown as z.ZodObject).shape)) {
        walk(child as Schema, [...path, k], get(value, k), withDefaults);
      }
      return;
    }
    if (d.type === 'array') {
      const element = shapeOf(d.element as Schema);
      if (defOf(element.core).type === 'object') {
        out.push(entry('list', value));
        walk(d.element as Schema, [...path.slice(0, -1), `${path[path.length - 1]}[]`], undefined, false);
        return;
      }
      out.push(
        entry(
          `list of ${element.type}${element.constraints.length > 0 ? ` (each: ${element.constraints.join('; ')})` : ''}`,
          value,
        ),
      );
      return;
    }
    if (d.type === 'record') {
      const keys = shapeOf(d.keyType as Schema);
      const values = shapeOf(d.valueType as Schema);
      out.push(entry(`map from ${expects(keys)} to ${expects(values)}`, value));
      return;
    }
    out.push(entry(s.type, value));
  };
  walk(FileSchema as unknown as Schema, [], values, true);
  return out;
}

export function buildReference(defaultFile = DEFAULT_CONFIG_FILE): ConfigReference {
  return { env: envReference(), yaml: yamlReference(defaultFile) };
}

const cell = (s: string | undefined): string =>
  s === undefined || s === '' ? '—' : s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string | undefined): string => (s === undefined ? '—' : `\`${s.replace(/\|/g, '\\|')}\``);

export const REGENERATE_COMMAND = 'npm run --silent portal-sync -- config reference --markdown > docs/configuration.md';

export function renderMarkdown(ref: ConfigReference = buildReference()): string {
  const lines = [
    '# Configuration reference',
    '',
    `<!-- Generated from src/config.ts and config/default.yaml; do not edit. Regenerate: ${REGENERATE_COMMAND} -->`,
    '',
    'Secrets and endpoints come from environment variables (a `.env` file in the working directory is read at',
    'start); mappings and limits from `config/default.yaml`, overridden key by key by the YAML file named in',
    '`PORTAL_SYNC_CONFIG` (unknown keys are errors). `portal-sync config check` validates both.',
    '',
    '**Contents**',
    '',
    '- [Environment variables](#environment-variables)',
    '- [YAML keys](#yaml-keys)',
    '',
    '## Environment variables',
    '',
    'Every variable is optional unless a combination requires it (`portal-sync config check` says which).',
    '',
    '| variable | default | expects | meaning |',
    '|---|---|---|---|',
    ...ref.env.map((e) => `| \`${e.name}\` | ${code(e.default)} | ${cell(e.expects)} | ${cell(e.description)} |`),
    '',
    '## YAML keys',
    '',
    'Defaults are the values in `config/default.yaml`; the notes are its comments. `[]` marks the entries of a list.',
    '',
    '| key | default | expects | notes |',
    '|---|---|---|---|',
    ...ref.yaml.map((y) => `| \`${y.path}\` | ${code(y.default)} | ${cell(y.expects)} | ${cell(y.comment)} |`),
    '',
  ];
  return lines.join('\n');
}

export function renderText(ref: ConfigReference = buildReference()): string {
  const lines = ['Environment variables', ''];
  for (const e of ref.env) {
    lines.push(`  ${e.name}${e.default !== undefined ? ` (default ${e.default})` : ''}`);
    if (e.description) lines.push(`      ${e.description}`);
    lines.push(`      expects: ${e.expects}`);
  }
  lines.push('', 'YAML keys (defaults from config/default.yaml)', '');
  for (const y of ref.yaml) {
    lines.push(`  ${y.path}${y.default !== undefined ? ` = ${y.default}` : ''}`);
    if (y.comment) lines.push(`      ${y.comment}`);
    lines.push(`      expects: ${y.expects}`);
  }
  lines.push('');
  return lines.join('\n');
}
