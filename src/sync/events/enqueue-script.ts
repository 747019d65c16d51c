/**
 * One Redis round trip per ingest batch: a Lua script that checks each event's dedupe mark, adds the new
 * events' jobs with BullMQ's own addStandardJob code, and marks them `done`, all in one atomic step.
 *
 * The job layout stays BullMQ's: the script embeds the addStandardJob source of the installed BullMQ (as a
 * local function, so its KEYS/ARGV are the ones we pass it), and each job's arguments are BullMQ's own bytes
 * (standard-job-args.ts: built by BullMQ for probe jobs, checked, then filled in per job). An upgrade of BullMQ
 * thus brings its script and its argument packing together.
 *
 * A mark is written only after its job was added, in the same script: there is no window in which a mark
 * says `done` without a job (a script error part-way leaves the events before it added and marked, the
 * failing one and those after it neither: the retry adds exactly those). Marks `pending:<ms>` of earlier
 * releases (claim, then add, then commit) are honoured: fresh is in flight, stale is taken over.
 */
import { createRequire } from 'node:module';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { scriptSource } from '../redis/scripts.js';
import { standardJobArgsBuilder } from './standard-job-args.js';

// The script of the BullMQ that `bullmq` resolves to (its CommonJS build, which ships no typings for it).
const { addStandardJob } = createRequire(import.meta.url)('bullmq/dist/cjs/scripts/addStandardJob-9.js') as {
  addStandardJob: { name: string; content: string; keys: number };
};

/** What the script says of each event, in order. */
export type MarkOutcome = 'accepted' | 'duplicate' | 'in_flight';

const QUEUE_KEYS = addStandardJob.keys;

// Our part is src/sync/redis/scripts/ingest-mark-and-add-9+.lua (its keys and arguments are described there);
// BullMQ's addStandardJob goes in front of it as a local function, so its KEYS/ARGV are the ones we pass it.
// The file takes BullMQ's 9 queue keys first: a BullMQ whose addStandardJob takes another count is refused here.
if (QUEUE_KEYS !== 9)
  throw new Error(`BullMQ's addStandardJob takes ${QUEUE_KEYS} keys; ingest-mark-and-add-9+.lua expects 9`);
let lua: string | undefined;
const LUA = (): string =>
  (lua ??= `local function addStandardJob(KEYS, ARGV)\n${addStandardJob.content}\nend\n${scriptSource('ingest-mark-and-add')}`);

const COMMAND = 'portalSyncMarkAndAdd';
type WithCommand = Redis & { [COMMAND](numKeys: number, ...args: Array<string | number | Buffer>): Promise<unknown> };

/** The script as a command of this connection (EVALSHA, loaded on first use). */
function command(redis: Redis): WithCommand {
  const r = redis as WithCommand;
  if (typeof r[COMMAND] !== 'function') redis.defineCommand(COMMAND, { lua: LUA() });
  return r;
}

export interface MarkAndAddInput {
  marks: string[];
  jobs: Array<{ name: string; data: unknown; jobId: string }>;
  /** The time in ms: the marks' claim time, and the jobs' time added (BullMQ's `timestamp`). */
  now: number;
  deadlineMs: number;
  dedupeTtlSeconds: number;
  renewDuplicates: boolean;
}

/**
 * Events per script call: a script runs alone on Redis, so a batch of many requests is split (about 50 µs of Redis
 * time per event: a few ms at most per script, during which the workers' commands wait).
 */
const MAX_EVENTS_PER_SCRIPT = 100;

/** Runs the script for one batch; says per event what it found, or throws (nothing of a failed event is kept). */
export async function markAndAdd(redis: Redis, queue: Queue, input: MarkAndAddInput): Promise<MarkOutcome[]> {
  const calls: Array<Promise<MarkOutcome[]>> = [];
  for (let from = 0; from < input.jobs.length; from += MAX_EVENTS_PER_SCRIPT) {
    const to = Math.min(input.jobs.length, from + MAX_EVENTS_PER_SCRIPT);
    calls.push(markAndAddChunk(redis, queue, input, from, to));
  }
  return (await Promise.all(calls)).flat();
}

async function markAndAddChunk(
  redis: Redis,
  queue: Queue,
  input: MarkAndAddInput,
  from: number,
  to: number,
): Promise<MarkOutcome[]> {
  let queueKeys: string[] | undefined;
  const argv: Array<string | Buffer | number> = [
    input.now,
    input.deadlineMs,
    input.dedupeTtlSeconds,
    input.renewDuplicates ? 1 : 0,
  ];
  const jobArgs = standardJobArgsBuilder(queue, addStandardJob.name, QUEUE_KEYS);
  for (let i = from; i < to; i++) {
    const built = jobArgs(input.jobs[i]!, input.now);
    queueKeys ??= built.keys;
    argv.push(...built.argv);
  }
  const keys = [...queueKeys!, ...input.marks.slice(from, to)];
  const replies = (await command(redis)[COMMAND](keys.length, ...keys, ...argv)) as unknown;
  if (!Array.isArray(replies) || replies.length !== to - from) throw new Error('ingest: unexpected reply from Redis');
  return replies.map((code: unknown, i) => {
    if (code === 0) return 'accepted';
    if (code === 1) return 'duplicate';
    if (code === 2) return 'in_flight';
    throw new Error(`ingest: BullMQ refused job ${input.jobs[from + i]!.jobId} (code ${String(code)})`);
  });
}
