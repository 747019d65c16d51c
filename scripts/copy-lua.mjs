/**
 * The build's second step (`npm run build`): tsc compiles only .ts, so this copies every Lua script
 * under src/ to the same place under the output folder (dist/, or the folder given as the first
 * argument), where src/sync/redis/scripts.ts reads them relative to its own compiled file.
 */
import { cpSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');
const out = resolve(root, process.argv[2] ?? 'dist');

/** Every .lua file under src/, as paths relative to it. */
function luaFiles() {
  return readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((p) => p.endsWith('.lua'))
    .map((p) => relative(src, join(src, p)))
    .sort();
}

if (import.meta.main) {
  for (const file of luaFiles()) cpSync(join(src, file), join(out, file), { recursive: true, force: true });
}
