/** The layout rules of ARCHITECTURE.md and STYLE.md that code can check. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

describe('layout', () => {
  it('keeps the SDKs (stripe, jsforce, node-zendesk) inside src/connectors', () => {
    const leaks = files(join(root, 'src'))
      .filter((f) => !relative(root, f).startsWith('src/connectors/'))
      .filter((f) => /from '(stripe|jsforce[^']*|node-zendesk[^']*)'/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(leaks).toEqual([]);
  });

  it('keeps the core (src/sync) free of HTTP and of the connectors', () => {
    const leaks = files(join(root, 'src/sync'))
      .filter((f) => /from '(express|pino-http)'|from '\.\.\/(webhooks|connectors|cli)\//.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(leaks).toEqual([]);
  });
});
