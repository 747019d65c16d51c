#!/usr/bin/env node
// Runs the built CLI (npm run build writes dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('portal-sync: not built yet; run `npm run build` (or `npm start`, which builds first)\n');
  process.exit(1);
}
await import(entry.href);
