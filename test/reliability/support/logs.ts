/**
 * Every daemon of the suite logs its pino JSON lines into a file under
 * test-results/reliability/logs/ — in-process daemons through a pino
 * destination, child processes through their stdout and stderr — so that the
 * secrets scenario can scan what the whole suite logged.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { createLogger, type Logger } from '../../../src/log.js';
import { LOG_DIR } from './env.js';

let n = 0;

/** A fresh log file path for `name` (unique within this process). */
export function logPath(name: string): string {
  mkdirSync(LOG_DIR, { recursive: true });
  return resolve(LOG_DIR, `${name}-${process.pid}-${n++}.log`);
}

export interface FileLogger {
  logger: Logger;
  path: string;
  /** Writes out what is buffered; call before reading the file. */
  flush(): void;
}

/** The daemon's own logger (createLogger: the redaction under test), writing to a file. */
export function fileLogger(name: string, level: 'debug' | 'info' = 'debug'): FileLogger {
  const path = logPath(name);
  const destination = pino.destination({ dest: path, sync: false, mkdir: true });
  return { logger: createLogger(level, destination), path, flush: () => destination.flushSync() };
}

/** A plain append stream for a child process's output. */
export function logStream(name: string): { path: string; stream: WriteStream } {
  const path = logPath(name);
  return { path, stream: createWriteStream(path, { flags: 'a' }) };
}
