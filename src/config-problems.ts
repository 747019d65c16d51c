/**
 * Configuration problems in plain words: "PORT: must be a whole number (a TCP port), got "eighty""
 * instead of zod's "expected number, received NaN", and unknown YAML keys with a did-you-mean from the
 * keys the defaults hold at that place.
 */
import { relative } from 'node:path';
import { didYouMean } from './sync/did-you-mean.js';

interface Issue {
  code: string;
  path: readonly PropertyKey[];
  message: string;
  expected?: string;
  keys?: string[];
}

const pathOf = (path: readonly PropertyKey[]) => path.map(String).join('.');

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let at = root;
  for (const key of path)
    at = typeof at === 'object' && at !== null ? (at as Record<PropertyKey, unknown>)[key] : undefined;
  return at;
}

function shown(value: unknown): string {
  return typeof value === 'string'
    ? JSON.stringify(value)
    : value === undefined
      ? 'nothing'
      : (JSON.stringify(value) ?? String(value));
}

/** One issue of the env or the YAML as `KEY: what is wrong, got what`. */
export function plainIssue(issue: Issue, input: unknown): string {
  const key = pathOf(issue.path) || '(root)';
  const got = valueAt(input, issue.path);
  if (issue.code === 'invalid_type' && issue.expected === 'number') {
    return `${key}: must be a whole number${/PORT$/.test(key) ? ' (a TCP port)' : ''}, got ${shown(got)}`;
  }
  if (issue.code === 'invalid_type' && got === undefined)
    return `${key}: required (expected ${issue.expected ?? 'a value'})`;
  if (issue.code === 'invalid_type')
    return `${key}: must be ${issue.expected === 'boolean' ? 'true or false' : `a ${issue.expected ?? 'value'}`}, got ${shown(got)}`;
  return `${key}: ${issue.message.replace(/^Invalid input: /, '')}`;
}

/** One line per unknown key: where it is, which file brought it, and the key probably meant. */
export function unknownKeyProblems(issue: Issue, defaults: unknown, overrideFile: string | undefined): string[] {
  const at = valueAt(defaults, issue.path);
  const known = typeof at === 'object' && at !== null ? Object.keys(at) : [];
  const where = overrideFile ? ` (in ${relative(process.cwd(), overrideFile) || overrideFile})` : '';
  return (issue.keys ?? []).map((k) => {
    const guess = didYouMean(k, known);
    return `${pathOf([...issue.path, k])}: unknown key${where}${guess ? `; did you mean ${guess}?` : known.length ? `; known here: ${known.join(', ')}` : ''}`;
  });
}

/** `KEY: message` → {key, message}, for `config check --json`. */
export function problemEntry(problem: string): { key: string; message: string } {
  const i = problem.indexOf(': ');
  if (i < 0) return { key: '', message: problem };
  return { key: problem.slice(0, i).replace(/^config /, ''), message: problem.slice(i + 2) };
}
