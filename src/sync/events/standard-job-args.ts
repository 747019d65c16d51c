/**
 * BullMQ's keys and arguments for adding one job with addStandardJob, as the ingest script sends them
 * (enqueue-script.ts). BullMQ builds them (`Job#addJob` on a client that records the command instead of sending
 * it) for a few probe jobs of each queue and options object; every other job's arguments are those bytes with its
 * own id, name, time and data put in, so a job no longer builds a BullMQ Job, its JSON and two msgpack packings
 * (bench:ingest: about a tenth of the web process's CPU per request).
 *
 * The per-job parts are the job id, the name, the time added (the packed `args`), the data (JSON) and the job id
 * again at the end of the packed options; the queue's keys and default options are the same for every job. The
 * template is used only if it reproduces BullMQ's own bytes for every probe (ids and names of each msgpack string
 * size); if a BullMQ upgrade changes the layout, every job is built by BullMQ again, as before. A job id or name
 * that BullMQ would refuse or encode its own way (':' in an id, an integer id, a string that is not well-formed
 * UTF-16) is built by BullMQ too.
 */
import { Job, type Queue } from 'bullmq';

export interface StandardJob<T = unknown> {
  name: string;
  data: T;
  jobId: string;
}

export interface StandardJobArgs {
  /** The queue's keys, as addStandardJob takes them (its KEYS). */
  keys: string[];
  /** addStandardJob's ARGV: packed args, the data's JSON, packed options. */
  argv: Array<string | Buffer>;
}

/**
 * BullMQ's own arguments for `job` (the queue's default job options under the job's own id), and the time the Job
 * was stamped with. Throws if BullMQ would use another script than `scriptName` (a delay, a priority, a parent).
 */
export function bullmqJobArgs<T>(
  queue: Queue<T>,
  job: StandardJob<T>,
  scriptName: string,
  keyCount: number,
): StandardJobArgs & { timestamp: number } {
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
  if (!sent || !sent.name.startsWith(`${scriptName}:`)) {
    throw new Error(`ingest: BullMQ would add job ${job.jobId} with ${sent?.name ?? 'no command'}, not ${scriptName}`);
  }
  return {
    keys: sent.args.slice(0, keyCount) as string[],
    argv: sent.args.slice(keyCount),
    timestamp: instance.timestamp,
  };
}

/** The size of a msgpack string's header, as msgpackr (BullMQ's packer) writes it: fixstr, str8, str16 or str32. */
const stringHead = (bytes: number): number => (bytes < 32 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5);

/** Writes `s` (of `bytes` UTF-8 bytes) as a msgpack string at `at`; returns the offset after it. */
function writeString(out: Buffer, at: number, s: string, bytes: number): number {
  const head = stringHead(bytes);
  out[at] = head === 1 ? 0xa0 | bytes : head === 2 ? 0xd9 : head === 3 ? 0xda : 0xdb;
  if (head === 2) out[at + 1] = bytes;
  else if (head === 3) out.writeUInt16BE(bytes, at + 1);
  else if (head === 5) out.writeUInt32BE(bytes, at + 1);
  return at + head + out.write(s, at + head, 'utf8');
}

/** A msgpack string alone. */
function packString(s: string): Buffer {
  const bytes = Buffer.byteLength(s, 'utf8');
  const out = Buffer.allocUnsafe(stringHead(bytes) + bytes);
  writeString(out, 0, s, bytes);
  return out;
}

/** A time in ms as msgpackr writes a number past 32 bits (float64), at `at`; returns the offset after it. */
function writeTime(out: Buffer, at: number, ms: number): number {
  out[at] = 0xcb;
  return out.writeDoubleBE(ms, at + 1);
}

const packTime = (ms: number): Buffer => {
  const out = Buffer.allocUnsafe(9);
  writeTime(out, 0, ms);
  return out;
};

/** Whether the template may build a job of this id and name (see the module note); BullMQ builds the others. */
function templatable(job: StandardJob, timestamp: number): boolean {
  const { jobId, name } = job;
  return (
    !jobId.includes(':') &&
    `${Number.parseInt(jobId, 10)}` !== jobId &&
    jobId.isWellFormed() &&
    name.isWellFormed() &&
    // msgpackr writes a whole number below 2^32 in fewer bytes; a time in ms since 1970-02-19 is past it.
    Number.isSafeInteger(timestamp) &&
    timestamp >= 2 ** 32
  );
}

/**
 * A queue's arguments as bytes around the per-job parts: `args` is a fixed head (array header, the queue's key
 * prefix), then the id, the name and the time, then a fixed tail (the unset parent, repeat and dedupe fields);
 * the options are a fixed head (every default option, then the `jobId` key), then the id.
 */
interface Template {
  keys: string[];
  argsHead: Buffer;
  argsTail: Buffer;
  optsHead: Buffer;
}

/** One job's arguments: each packed argument written into one buffer of its exact size. */
function build(t: Template, job: StandardJob, timestamp: number): StandardJobArgs {
  const idBytes = Buffer.byteLength(job.jobId, 'utf8');
  const nameBytes = Buffer.byteLength(job.name, 'utf8');
  const idSize = stringHead(idBytes) + idBytes;
  const args = Buffer.allocUnsafe(
    t.argsHead.length + idSize + stringHead(nameBytes) + nameBytes + 9 + t.argsTail.length,
  );
  let at = t.argsHead.copy(args, 0);
  at = writeString(args, at, job.jobId, idBytes);
  at = writeString(args, at, job.name, nameBytes);
  at = writeTime(args, at, timestamp);
  t.argsTail.copy(args, at);
  const opts = Buffer.allocUnsafe(t.optsHead.length + idSize);
  writeString(opts, t.optsHead.copy(opts, 0), job.jobId, idBytes);
  return { keys: t.keys, argv: [args, JSON.stringify(job.data === undefined ? {} : job.data), opts] };
}

/** Cuts BullMQ's bytes for one probe job into a template; undefined when they are not laid out as expected. */
function cut(probe: StandardJobArgs & { timestamp: number }, job: StandardJob): Template | undefined {
  const [args, , opts] = probe.argv;
  if (!Buffer.isBuffer(args) || !Buffer.isBuffer(opts)) return undefined;
  const middle = Buffer.concat([packString(job.jobId), packString(job.name), packTime(probe.timestamp)]);
  const at = args.indexOf(middle);
  const id = packString(job.jobId);
  if (at < 0 || !opts.subarray(opts.length - id.length).equals(id)) return undefined;
  return {
    keys: probe.keys,
    argsHead: Buffer.from(args.subarray(0, at)),
    argsTail: Buffer.from(args.subarray(at + middle.length)),
    optsHead: Buffer.from(opts.subarray(0, opts.length - id.length)),
  };
}

const sameArgs = (a: StandardJobArgs, b: StandardJobArgs): boolean =>
  a.keys.length === b.keys.length &&
  a.keys.every((k, i) => k === b.keys[i]) &&
  a.argv.length === b.argv.length &&
  a.argv.every((v, i) => {
    const w = b.argv[i]!;
    return Buffer.isBuffer(v) && Buffer.isBuffer(w) ? v.equals(w) : v === w;
  });

/** Probes at both sides of every msgpack string size's bounds, for the id and the name (some of several bytes each). */
const PROBES: StandardJob[] = [1, 31, 32, 255, 256, 65_535, 65_536].map((length, i) => ({
  jobId: `probe-${'0'.repeat(length)}`.slice(0, Math.max(length, 7)),
  name: i % 2 ? 'n'.repeat(length) : `é😀${'n'.repeat(length)}`.slice(0, length),
  data: { v: 1, i },
}));

/** The template of one queue and options object, checked against BullMQ for every probe; undefined: use BullMQ. */
function templateFor(queue: Queue, scriptName: string, keyCount: number): Template | undefined {
  let template: Template | undefined;
  for (const probe of PROBES) {
    const theirs = bullmqJobArgs(queue, probe, scriptName, keyCount);
    template ??= cut(theirs, probe);
    if (!template || !sameArgs(build(template, probe, theirs.timestamp), theirs)) return undefined;
  }
  return template;
}

const templates = new WeakMap<Queue, { options: string; template: Template | undefined }>();

/**
 * A builder of `queue`'s job arguments as BullMQ would build them at `timestamp` (the time added, in ms): from the
 * queue's checked template, or by BullMQ itself when there is none or the job is not templatable. Take one per
 * batch: the template is looked up (and made again if the queue's default options changed) when it is taken.
 */
export function standardJobArgsBuilder<T>(
  queue: Queue<T>,
  scriptName: string,
  keyCount: number,
): (job: StandardJob<T>, timestamp: number) => StandardJobArgs {
  const q = queue as Queue;
  // The options are part of the bytes: other options (by content), another template.
  const options = JSON.stringify(q.defaultJobOptions);
  let cached = templates.get(q);
  if (cached?.options !== options) {
    cached = { options, template: templateFor(q, scriptName, keyCount) };
    templates.set(q, cached);
  }
  const { template } = cached;
  return (job, timestamp) => {
    if (template && templatable(job, timestamp)) return build(template, job, timestamp);
    const { keys, argv } = bullmqJobArgs(queue, job, scriptName, keyCount);
    return { keys, argv };
  };
}
