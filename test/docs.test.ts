/**
 * The documentation stays true to the code: the committed configuration
 * reference is the generated one, every CLI command is in the README, every
 * environment variable is documented, and config/example.env names only
 * variables the schema knows.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/index.js';
import { EnvSchema, PACKAGE_ROOT } from '../src/config.js';
import { REGENERATE_COMMAND, renderMarkdown } from '../src/config-reference.js';

const read = (file: string) => readFileSync(resolve(PACKAGE_ROOT, file), 'utf8');
const README = read('README.md');
const REFERENCE = read('docs/configuration.md');
/** Read by the CLI outside the schema (src/cli/identity.ts), documented in the README. */
const OUTSIDE_SCHEMA = ['PORTAL_SYNC_ADMIN'];

function commandPaths(command: Command, parent: string[] = []): string[][] {
  return command.commands.flatMap((c) => {
    const path = [...parent, c.name()];
    return [path, ...commandPaths(c, path)];
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('docs/configuration.md', () => {
  it('is the output of `config reference --markdown`', () => {
    const generated = renderMarkdown();
    expect(REFERENCE === generated, `docs/configuration.md is out of date: run \`${REGENERATE_COMMAND}\``).toBe(true);
  });
});

describe('README.md', () => {
  const paths = commandPaths(buildProgram());

  it('finds the commands tree', () => {
    expect(paths.map((p) => p.join(' '))).toEqual(expect.arrayContaining(['start', 'config check', 'config reference', 'dlq replay']));
  });

  it.each(paths.map((p) => [p.join(' '), p] as const))('documents `portal-sync %s`', (_name, path) => {
    // A command's line is one that names `portal-sync <top>`; its subcommands may share that line (`dlq list | replay …`).
    const [top, ...rest] = path;
    const lines = README.split('\n').filter((l) => new RegExp(`portal-sync ${escape(top!)}\\b`).test(l));
    expect(lines.length, `README.md never mentions \`portal-sync ${top}\``).toBeGreaterThan(0);
    for (const sub of rest) {
      const found = lines.some((l) => new RegExp(`(^|[\\s|\`])${escape(sub)}\\b`).test(l.slice(l.indexOf(`portal-sync ${top}`) + `portal-sync ${top}`.length)));
      expect(found, `README.md has no line documenting \`portal-sync ${path.join(' ')}\``).toBe(true);
    }
  });
});

describe('environment variables', () => {
  const known = Object.keys(EnvSchema.shape);

  it.each(known)('%s is documented in README.md or docs/configuration.md', (name) => {
    const word = new RegExp(`\\b${name}\\b`);
    expect(word.test(README) || word.test(REFERENCE), `${name} appears in neither README.md nor docs/configuration.md`).toBe(true);
  });

  it('config/example.env names only variables the schema knows', () => {
    const named = [...read('config/example.env').matchAll(/^\s*#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(10);
    const unknown = named.filter((n) => !known.includes(n) && !OUTSIDE_SCHEMA.includes(n));
    expect(unknown, 'config/example.env names variables EnvSchema does not know').toEqual([]);
  });

  it('the variables read outside the schema are documented in README.md', () => {
    for (const name of OUTSIDE_SCHEMA) expect(README).toContain(name);
  });
});
