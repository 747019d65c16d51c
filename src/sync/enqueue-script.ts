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

// The script of the BullMQ that `bullmq` resolves to (its CommonJS build, which ships no typings for it).
const { addStandardJob } = createRequire(import.meta.url)('bullmq/dist/cjs/scripts/addStandardJob-9.js') as {
  addStandardJob: { name: string; content: string; keys: number };
};

/** What the script says of each event, in order. */
export type MarkOutcome = 'accepted' | 'duplicate' | 'in_flight';

const QUEUE_KEYS = addStandardJob.keys;

// KEYS: BullMQ's 9 addStandardJob keys, then one dedupe mark per event.
// ARGV: now (ms), enqueue deadline (ms), dedupe TTL (s), renew the duplicates' marks (1/0), then per event
// BullMQ's 3 arguments (packed args, data, packed opts).
// Returns per event 0 accepted, 1 duplicate, 2 in flight, or BullMQ's negative error code (nothing kept).
const LUA = `
local function addStandardJob(KEYS, ARGV)
${addStandardJob.content}
end
local queueKeys = {}
for i = 1, ${QUEUE_KEYS} do queueKeys[i] = KEYS[i] end
local now = tonumber(ARGV[1])
local deadline = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local renew = ARGV[4] == '1'
local out = {}
for i = ${QUEUE_KEYS} + 1, #KEYS do
  local e = i - ${QUEUE_KEYS}
  local mark = KEYS[i]
  local previous = redis.call('GET', mark)
  local add = previous == false
  if not add then
    if string.sub(previous, 1, 7) == 'pending' then
      -- 'pending' alone: a claim written before claims carried their time; it expires on its own.
      local claimedAt = tonumber(string.sub(previous, 9)) or now
      if now - claimedAt > deadline then add = true else out[e] = 2 end
    else
      if renew then redis.call('EXPIRE', mark, ttl) end
      out[e] = 1
    end
  end
  if add then
    local a = 5 + (e - 1) * 3
    local result = addStandardJob(queueKeys, { ARGV[a], ARGV[a + 1], ARGV[a + 2] })
    if type(result) == 'number' and result < 0 then
      out[e] = result
    else
      redis.call('SET', mark, 'done', 'EX', ttl)
      out[e] = 0
    end
  end
end
return out`;

const COMMAND = 'portalSyncMarkAndAdd';
type WithCommand = Redis & { [COMMAND](numKeys: number, ...args: Array<string | number | Buffer>): Promise<unknown> };

/** The script as a command of this connection (EVALSHA, loaded on first use). */
function command(redis: Redis): WithCommand {
  const r = redis as WithCommand;
  if (typeof r[COMMAND] !== 'function') redis.defineCommand(COMMAND, { lua: LUA });
  return r;
}

/**
 * BullMQ's keys and arguments for adding one job to `queue`, as its own addBulk would send them (the queue's
 * default job options under the job's own). Throws if BullMQ would use another script than addStandardJob
 * (a delay, a priority, a parent): the events queue's jobs have none.
 */
export function standardJobArgs<T>(queue: Queue<T>, job: { name: string; data: T; jobId: string }): { keys: string[]; argv: Array<string | Buffer> } {
  let sent: { name: string; args: Array<string | Buffer> } | undefined;
  const recorder = {
    runCommand(name: string, args: Array<string | Buffer>) {
      sent = { name, args };
      return Promise.resolve(job.jobId);
    },
  };
  const instance = new Job(queue as Queue, job.name, job.data, { ...queue.defaultJobOptions, jobId: job.jobId }, job.jobId);
  instance.addJob(recorder as unknown as Parameters<Job['addJob']>[0]).catch(() => undefined);
  if (!sent || !sent.name.startsWith(`${addStandardJob.name}:`)) {
    throw new Error(`ingest: BullMQ would add job ${job.jobId} with ${sent?.name ?? 'no command'}, not ${addStandardJob.name}`);
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

async function markAndAddChunk(redis: Redis, queue: Queue, input: MarkAndAddInput, from: number, to: number): Promise<MarkOutcome[]> {
  let queueKeys: string[] | undefined;
  const argv: Array<string | Buffer | number> = [input.now, input.deadlineMs, input.dedupeTtlSeconds, input.renewDuplicates ? 1 : 0];
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
