/** Process entry point of the CLI. */
import { main } from './index.js';

process.exitCode = await main(process.argv);
