/**
 * One Redis round trip per ingest batch: a Lua script that checks each event's dedupe mark, adds the new
 * events' jobs with BullMQ's own addStandardJob code, and marks them `done`, all in one atomic step. A job holds
 * one event, or several (a batch job, batch-job.ts): the script puts a batch's new events alone in its data.
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

/** One job to add: a single event's (its data is the event's JSON), or a batch of the events that are new. */
export interface JobToAdd {
  name: string;
  jobId: string;
  batch: boolean;
  /** Per event: its dedupe mark and its JSON (a single job's data; an element of a batch's). */
  events: Array<{ mark: string; json: string }>;
}

export interface MarkAndAddInput {
  jobs: JobToAdd[];
  /** The time in ms: the marks' claim time, and the jobs' time added (BullMQ's `timestamp`). */
  now: number;
  deadlineMs: number;
  dedupeTtlSeconds: number;
  renewDuplicates: boolean;
}

/**
 * Events per script call: a script runs alone on Redis, so a batch of many requests is split, between jobs (about
 * 50 µs of Redis time per event in single jobs, less in batches: a few ms at most per script, during which the
 * workers' commands wait).
 */
const MAX_EVENTS_PER_SCRIPT = 100;

/** Runs the script for one batch; says per event (in the jobs' order) what it found, or throws (nothing of a failed event is kept). */
export async function markAndAdd(redis: Redis, queue: Queue, input: MarkAndAddInput): Promise<MarkOutcome[]> {
  const calls: Array<Promise<MarkOutcome[]>> = [];
  let chunk: JobToAdd[] = [];
  let events = 0;
  for (const job of input.jobs) {
    if (events + job.events.length > MAX_EVENTS_PER_SCRIPT && chunk.length > 0) {
      calls.push(markAndAddChunk(redis, queue, input, chunk));
      chunk = [];
      events = 0;
    }
    chunk.push(job);
    events += job.events.length;
  }
  if (chunk.length > 0) calls.push(markAndAddChunk(redis, queue, input, chunk));
  return (await Promise.all(calls)).flat();
}

async function markAndAddChunk(
  redis: Redis,
  queue: Queue,
  input: MarkAndAddInput,
  jobs: JobToAdd[],
): Promise<MarkOutcome[]> {
  let queueKeys: string[] | undefined;
  const marks: string[] = [];
  const owners: string[] = [];
  const argv: Array<string | Buffer | number> = [
    input.now,
    input.deadlineMs,
    input.dedupeTtlSeconds,
    input.renewDuplicates ? 1 : 0,
  ];
  const jobArgs = standardJobArgsBuilder(queue, addStandardJob.name, QUEUE_KEYS);
  for (const job of jobs) {
    // The data is put together by the script, from the events that are new: BullMQ's data argument is unused.
    const built = jobArgs({ name: job.name, jobId: job.jobId, data: undefined }, input.now);
    queueKeys ??= built.keys;
    argv.push(built.argv[0]!, built.argv[2]!, job.events.length, job.batch ? 1 : 0);
    for (const e of job.events) {
      argv.push(e.json);
      marks.push(e.mark);
      owners.push(job.jobId);
    }
  }
  const keys = [...queueKeys!, ...marks];
  const replies = (await command(redis)[COMMAND](keys.length, ...keys, ...argv)) as unknown;
  if (!Array.isArray(replies) || replies.length !== marks.length)
    throw new Error('ingest: unexpected reply from Redis');
  return replies.map((code: unknown, i) => {
    if (code === 0) return 'accepted';
    if (code === 1) return 'duplicate';
    if (code === 2) return 'in_flight';
    throw new Error(`ingest: BullMQ refused job ${owners[i]!} (code ${String(code)})`);
  });
}
