/**
 * Human-readable CLI output has one way to the terminal, `printText`, which
 * strips escape sequences from webhook data; only JSON (exact by design)
 * is written to stdout directly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '../../src/cli');
/** The print edge itself. */
const EXEMPT = new Set(['terminal.ts']);

describe('the CLI print edge', () => {
  it('every direct stdout write outside printText prints JSON', () => {
    const offending: string[] = [];
    for (const file of readdirSync(CLI).filter((f) => f.endsWith('.ts') && !EXEMPT.has(f))) {
      readFileSync(resolve(CLI, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (
            /process\.stdout\.write\(|console\.(log|info)\(/.test(line) &&
            !/JSON\.stringify|JSON stays exact/.test(line)
          )
            offending.push(`src/cli/${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offending, 'print human-readable output with printText (src/cli/terminal.ts)').toEqual([]);
  });
});
