/**
 * One Redis round trip per ingest batch: a Lua script that checks each event's dedupe mark, adds the new
 * events' jobs with BullMQ's own addStandardJob code, and marks them `done`, all in one atomic step.
 *
 * The job layout stays BullMQ's: the script embeds the addStandardJob source of the installed BullMQ (as a
 * local function, so its KEYS/ARGV are the ones we pass it), and each job's arguments are built by BullMQ
 * itself (`Job#addJob` on a client that records the command instead of sending it). An upgrade of BullMQ
 * thus brings its script and its argument packing together.
 *
 * A mark is written only after its job was added, in the same script: there is no window in which a mark
 * says `done` without a job (a script error part-way leaves the events before it added and marked, the
 * failing one and those after it neither: the retry adds exactly those). Marks `pending:<ms>` of earlier
 * releases (claim, then add, then commit) are honoured: fresh is in flight, stale is taken over.
 */
import { createRequire } from 'node:module';
import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { scriptSource } from '../redis/scripts.js';

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

/**
 * BullMQ's keys and arguments for adding one job to `queue`, as its own addBulk would send them (the queue's
 * default job options under the job's own). Throws if BullMQ would use another script than addStandardJob
 * (a delay, a priority, a parent): the events queue's jobs have none.
 */
function standardJobArgs<T>(
  queue: Queue<T>,
  job: { name: string; data: T; jobId: string },
): { keys: string[]; argv: Array<string | Buffer> } {
  let sent: { name: string; args: Array<string | Buffer> } | undefined;
  const recorder = {
    runCommand(name: string, args: Array<string | Buffer>) {
      sent = { name, args };
      return Promise.resolve(job.jobId);
    },
  };
  const instance = new Job(
    queue as Queue,
    job.name,
    job.data,
    { ...queue.defaultJobOptions, jobId: job.jobId },
    job.jobId,
  );
  instance.addJob(recorder as unknown as Parameters<Job['addJob']>[0]).catch(() => undefined);
  if (!sent || !sent.name.startsWith(`${addStandardJob.name}:`)) {
    throw new Error(
      `ingest: BullMQ would add job ${job.jobId} with ${sent?.name ?? 'no command'}, not ${addStandardJob.name}`,
    );
  }
  return { keys: sent.args.slice(0, QUEUE_KEYS) as string[], argv: sent.args.slice(QUEUE_KEYS) };
}

export interface MarkAndAddInput {
  marks: string[];
  jobs: Array<{ name: string; data: unknown; jobId: string }>;
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
  for (let i = from; i < to; i++) {
    const built = standardJobArgs(queue, input.jobs[i]!);
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
