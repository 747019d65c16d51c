/** Process entry point of the CLI. */
import { main } from './index.js';

// A reader that stops early (`portal-sync --help | head`) closes the pipe: what it wanted is printed, nothing failed.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
});

process.exitCode = await main(process.argv);
