/** `--since` / `--until` of every command, read by the one time grammar (src/sync/time-window.ts). */
import { parseTimeWindow, retentionWarning, TimeGrammarError, type TimeWindow } from '../sync/time-window.js';
import { UsageError } from './errors.js';

export { TIME_GRAMMAR } from '../sync/time-window.js';

/** The window the options name, or a usage error (exit 2) that names the option. */
export function timeWindowOption(
  opts: { since?: string | undefined; until?: string | undefined },
  now: Date,
  defaultSince: string,
): TimeWindow {
  try {
    return parseTimeWindow(opts, now, defaultSince);
  } catch (err) {
    if (err instanceof TimeGrammarError) throw new UsageError(`--${err.message}`);
    throw err;
  }
}

/** Says on stderr when `from` reaches back past what is kept (the output then starts later than asked). */
export function warnPastRetention(from: Date, now: Date, retainedMs: number, what: string, setting: string): void {
  const warning = retentionWarning(from, now, retainedMs, what, setting);
  if (warning) process.stderr.write(`portal-sync: warning: ${warning}\n`);
}
