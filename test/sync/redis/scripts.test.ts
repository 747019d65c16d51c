/**
 * The Lua scripts, checked statically: the loader's table names exactly the files in
 * src/sync/redis/scripts, and every script declares the keys it touches — each key a redis.call
 * reads or writes is one of its KEYS (none built in Lua from a prefix in ARGV), and it uses exactly
 * as many KEYS as its file name declares.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { declaredKeys, SCRIPTS, scriptFile, type ScriptName } from '../../../src/sync/redis/scripts.js';

const dir = resolve(import.meta.dirname, '../../../src/sync/redis/scripts');
const names = Object.keys(SCRIPTS) as ScriptName[];

/** Lua without its comments and string literals' contents (so a quoted '..' or 'KEYS' is not code). */
function code(lua: string): string {
  return lua
    .replace(/--\[\[[\s\S]*?\]\]/g, '')
    .replace(/--[^\n]*/g, '')
    .replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''");
}

/** Problems with how a script names its keys (empty when every key is a declared KEYS entry). */
function keyProblems(lua: string, declared: number, exact = true): string[] {
  const problems: string[] = [];
  const body = code(lua);
  // Variables bound to KEYS (`local a, b = KEYS[1], KEYS[2]`; in a `<n>+` script also KEYS[k]) may stand for a key.
  const keyLocals = new Set<string>();
  const K = exact ? String.raw`KEYS\[\d+\]` : String.raw`KEYS\[[^\]]+\]`;
  for (const m of lua.matchAll(new RegExp(String.raw`([\w\s,]+?)\s*=\s*(${K}(?:\s*,\s*${K})*)\s*(?:;|\n|end)`, 'g'))) {
    for (const v of m[1]!.split(',')) keyLocals.add(v.trim().split(/\s+/).pop()!);
  }
  for (const m of lua.matchAll(/redis\.call\(\s*'([A-Za-z]+)'\s*(?:,\s*([^,)]+))?/g)) {
    const command = m[1]!.toUpperCase();
    if (['TIME', 'PING', 'INFO'].includes(command)) continue;
    const key = (m[2] ?? '').trim();
    // A `<n>+` script may walk its further keys with a loop variable (KEYS[i]); they are still passed in.
    const keyed = exact ? /^KEYS\[\d+\]$/ : /^KEYS\[\w+\]$/;
    if (!keyed.test(key) && !keyLocals.has(key)) problems.push(`${command} on ${key || 'nothing'}: not a declared key`);
  }
  if (/\.\./.test(body.replace(/\.\.\./g, ''))) {
    for (const line of body.split('\n').filter((l) => /[^.]\.\.[^.]/.test(l) && /ARGV|KEYS/.test(l)))
      problems.push(`builds a string from KEYS/ARGV: ${line.trim()}`);
  }
  const used = new Set([...body.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])));
  for (let i = 1; i <= declared; i++) if (!used.has(i)) problems.push(`KEYS[${i}] declared, never used`);
  for (const i of used) if (i > declared) problems.push(`KEYS[${i}] used, only ${declared} declared`);
  if (exact && (/KEYS\[[^\]\d]/.test(body) || /#KEYS/.test(body)))
    problems.push('indexes KEYS by a variable: the declared count cannot be checked');
  return problems;
}

describe('the Lua scripts', () => {
  it('are exactly the files the loader names, each `<name>-<numberOfKeys>.lua`', () => {
    const files = readdirSync(dir).sort();
    expect(files).toEqual(names.map(scriptFile).sort());
  });

  it.each(names)('%s touches only the keys it declares', (name) => {
    const { count, exact } = declaredKeys(name);
    expect(keyProblems(readFileSync(resolve(dir, scriptFile(name)), 'utf8'), count, exact)).toEqual([]);
  });

  it('the check catches a key built from ARGV, an undeclared KEYS index, an unused one and a loop over KEYS of a fixed count', () => {
    expect(keyProblems("redis.call('DEL', ARGV[1] .. ':x')", 0)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^DEL on ARGV\[1\]/), expect.stringMatching(/builds a string/)]),
    );
    expect(keyProblems("local base = ARGV[1]\nredis.call('GET', base)", 0)).toEqual([
      'GET on base: not a declared key',
    ]);
    expect(keyProblems("redis.call('GET', KEYS[2])", 1)).toEqual([
      'KEYS[1] declared, never used',
      'KEYS[2] used, only 1 declared',
    ]);
    expect(keyProblems("local a, b = KEYS[1], KEYS[2]\nredis.call('GET', a)\nredis.call('DEL', b)", 2)).toEqual([]);
    // A fixed count cannot be checked against a loop over KEYS; a `<n>+` script may loop over its further keys.
    const loop = "redis.call('GET', KEYS[1])\nfor i = 2, #KEYS do redis.call('DEL', KEYS[i]) end";
    expect(keyProblems(loop, 1)).toEqual([
      'DEL on KEYS[i]: not a declared key',
      'indexes KEYS by a variable: the declared count cannot be checked',
    ]);
    expect(keyProblems(loop, 1, false)).toEqual([]);
    expect(
      keyProblems(
        "redis.call('GET', KEYS[1])\nlocal lane = KEYS[k]; k = k + 1\nredis.call('RPUSH', lane, 'x')",
        1,
        false,
      ),
    ).toEqual([]);
    expect(
      keyProblems("redis.call('GET', KEYS[1])\nlocal lane = ARGV[k]\nredis.call('RPUSH', lane, 'x')", 1, false),
    ).toEqual(['RPUSH on lane: not a declared key']);
  });
});
