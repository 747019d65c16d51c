/**
 * The documentation stays true to the code: the committed configuration
 * reference is the generated one, every CLI command is in the README's command
 * table, every environment variable is documented in README.md or docs/,
 * config/example.env names only variables the schema knows, the README stays a
 * front door (≤ 300 lines) with a table of contents in every doc, and every
 * relative link (file and #heading) in README.md and docs/ resolves.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/index.js';
import { EnvSchema, PACKAGE_ROOT } from '../src/config.js';
import { REGENERATE_COMMAND, renderMarkdown } from '../src/config-reference.js';

const read = (file: string) => readFileSync(resolve(PACKAGE_ROOT, file), 'utf8');
const README = read('README.md');
const REFERENCE = read('docs/configuration.md');
const DOC_FILES = readdirSync(resolve(PACKAGE_ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
/** The README and every doc, where commands and variables may be documented. */
const ALL_DOCS = ['README.md', ...DOC_FILES].map(read).join('\n');
/** Read by the CLI outside the schema (src/cli/identity.ts), documented in the README. */
const OUTSIDE_SCHEMA = ['PORTAL_SYNC_ADMIN'];

function commandPaths(command: Command, parent: string[] = []): string[][] {
  return command.commands.flatMap((c) => {
    const path = [...parent, c.name()];
    return [path, ...commandPaths(c, path)];
  });
}

/** Every command loaded (buildProgram with no list). */
const PROGRAM = await buildProgram();

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('docs/configuration.md', () => {
  it('is the output of `config reference --markdown`', () => {
    const generated = renderMarkdown();
    expect(REFERENCE === generated, `docs/configuration.md is out of date: run \`${REGENERATE_COMMAND}\``).toBe(true);
  });
});

describe('README.md', () => {
  const paths = commandPaths(PROGRAM);

  it('finds the commands tree', () => {
    expect(paths.map((p) => p.join(' '))).toEqual(
      expect.arrayContaining(['start', 'config check', 'config reference', 'dlq replay']),
    );
  });

  it.each(paths.map((p) => [p.join(' '), p] as const))('documents `portal-sync %s`', (_name, path) => {
    // A command's line is one that names `portal-sync <top>`; its subcommands may share that line (`dlq list | replay …`).
    const [top, ...rest] = path;
    const lines = README.split('\n').filter((l) => new RegExp(`portal-sync ${escape(top!)}\\b`).test(l));
    expect(lines.length, `README.md never mentions \`portal-sync ${top}\``).toBeGreaterThan(0);
    for (const sub of rest) {
      const found = lines.some((l) =>
        new RegExp(`(^|[\\s|\`])${escape(sub)}\\b`).test(
          l.slice(l.indexOf(`portal-sync ${top}`) + `portal-sync ${top}`.length),
        ),
      );
      expect(found, `README.md has no line documenting \`portal-sync ${path.join(' ')}\``).toBe(true);
    }
  });
});

describe('environment variables', () => {
  const known = Object.keys(EnvSchema.shape);

  it.each(known)('%s is documented in README.md or docs/', (name) => {
    const word = new RegExp(`\\b${name}\\b`);
    expect(word.test(ALL_DOCS), `${name} appears in neither README.md nor docs/`).toBe(true);
  });

  it('config/example.env names only variables the schema knows', () => {
    const named = [...read('config/example.env').matchAll(/^\s*#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(10);
    const unknown = named.filter((n) => !known.includes(n) && !OUTSIDE_SCHEMA.includes(n));
    expect(unknown, 'config/example.env names variables EnvSchema does not know').toEqual([]);
  });

  it('the variables read outside the schema are documented in README.md or docs/', () => {
    for (const name of OUTSIDE_SCHEMA) expect(ALL_DOCS).toContain(name);
  });
});

/** GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces to dashes. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');

/** The anchors of a markdown file's headings, outside code fences. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  let fence = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fence = !fence;
    const m = fence ? null : /^#{1,6} (.*)$/.exec(line);
    if (m) anchors.add(anchorOf(m[1]!));
  }
  return anchors;
}

/** Relative link targets of a markdown file (links and images, `<img src>`), outside code fences. */
function linksOf(text: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, '');
  const links = [...prose.matchAll(/\]\(([^)\s]+)\)/g), ...prose.matchAll(/<img [^>]*src="([^"]+)"/g)].map(
    (m) => m[1]!,
  );
  return links.filter((l) => !/^[a-z]+:/i.test(l));
}

describe('README.md and docs/', () => {
  it('the README is a front door of at most 300 lines', () => {
    expect(README.split('\n').length).toBeLessThanOrEqual(300);
  });

  it('the README links every doc', () => {
    for (const f of DOC_FILES) expect(README, `README.md does not link ${f}`).toContain(`](${f})`);
  });

  it.each(DOC_FILES)('%s opens with a table of contents', (file) => {
    const head = read(file).split('\n## ')[0]!;
    expect(head, `${file} has no contents list before its first section`).toMatch(/\*\*Contents\*\*\n\n- \[/);
  });

  it.each(['README.md', ...DOC_FILES])('every relative link in %s resolves, #anchors included', (file) => {
    const broken: string[] = [];
    for (const link of linksOf(read(file))) {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? resolve(PACKAGE_ROOT, file) : resolve(PACKAGE_ROOT, dirname(file), decodeURI(path));
      if (!existsSync(target)) {
        broken.push(`${link} (no file)`);
        continue;
      }
      if (anchor !== undefined && target.endsWith('.md') && !anchorsOf(readFileSync(target, 'utf8')).has(anchor))
        broken.push(`${link} (no heading)`);
    }
    expect(broken, `${file} has broken links`).toEqual([]);
  });
});
