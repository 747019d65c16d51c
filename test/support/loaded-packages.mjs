// A --import hook for a child process: on exit, prints to stderr the packages (node_modules) it loaded, as one JSON line.
import { registerHooks } from 'node:module';

const loaded = new Set();
registerHooks({
  load(url, context, next) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (m) loaded.add(m[1]);
    return next(url, context);
  },
});
process.on('exit', () => process.stderr.write(`loaded-packages ${JSON.stringify([...loaded].sort())}\n`));
