/**
 * Optimistic transactions of several applies on one connection: the record store's applies that run at once
 * share a WATCH connection as a group. The reads the group's members ask for in one turn of the event loop go in
 * one pipeline (one WATCH of all their keys first, a read asked by several sent once), and their transactions in
 * one MULTI/EXEC once every member has either committed or left: several events per Redis round trip, where each
 * paid two of its own (bench:pipeline). WATCH still guards every member against other processes' writes (an EXEC
 * that finds a watched key changed fails the whole group: each member computes again); against each other, a
 * member that read a key a member before it in the EXEC writes is left out and told to compute again. So the
 * EXEC has the effect of its members run one after another in its order, each on what it read: no member's write
 * is ever based on a read that another write of the same EXEC changed. The group's reads go to Redis as one
 * script call after the WATCH, and its writes as one inside MULTI/EXEC (command-batch-0+.lua): the same commands
 * with the same replies, where each was a command of its own to build, send and decode (about a fifth of the
 * client CPU of the reads and writes, measured alone). A group with a command the script does not run sends its
 * commands one by one, as before. The large values stay out of the script (batchOf): its GETs go as one MGET
 * beside it, its records written as one MSET after it.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { defineScripts, queueScript, scriptSource } from '../redis/scripts.js';

/** What an apply uses of its connection: read pipelines, one transaction, or leaving without writing. */
export interface WatchSession {
  pipeline(): ChainableCommander;
  multi(): ChainableCommander;
  unwatch(): Promise<unknown>;
}

type Call = [name: string, args: unknown[]];
type Reply = [Error | null, unknown];
type Replies = Reply[];

/** Commands whose every argument is a key (the others name one key, first). */
const ALL_KEYS = new Set(['watch', 'del', 'sunionstore', 'mget', 'unlink', 'exists']);
const keysOf = ([name, args]: Call): string[] => (ALL_KEYS.has(name) ? args : args.slice(0, 1)).map((a) => String(a));

/** What command-batch-0+.lua runs, per kind: the record store's reads and writes. */
const BATCHED = {
  read: new Set(['get', 'mget', 'hget', 'hgetall', 'scard', 'smismember', 'smembers']),
  write: new Set(['set', 'sadd', 'srem', 'hset', 'hdel', 'del', 'expire', 'sunionstore']),
} as const;
type BatchKind = keyof typeof BATCHED;
type Arg = string | Buffer;

/** A call's arguments as Redis gets them: an object spread to field/value pairs (as ioredis does for HSET). */
function wireArgs(args: unknown[]): Arg[] {
  const out: Arg[] = [];
  for (const a of args) {
    if (Buffer.isBuffer(a)) out.push(a);
    else if (a !== null && typeof a === 'object') for (const [f, v] of Object.entries(a)) out.push(f, String(v));
    else out.push(String(a));
  }
  return out;
}

/**
 * Arguments one command of a batch may have: the script unpacks each command's into a Lua call, and Lua stops at
 * 8,000 values with an error after the commands before it ran. A larger command (a merge's key index of a customer
 * with thousands of contacts) sends its group's commands one by one.
 */
const MAX_BATCHED_ARGS = 1_000;

/**
 * Where a call of a batch runs: `at`, its place among the script's replies (-1: not in the script); `native`, its
 * place in the native command's reply. A read sent natively keeps a TYPE check in the script at `at`.
 */
interface Route {
  at: number;
  native?: number;
}

/**
 * A batch: the script's KEYS and ARGV (null when no call runs in it), and the record-sized values it leaves to one
 * native command: the reads of strings (GET) as one MGET, the writes of bytes (SET of a Buffer) as one MSET. Lua
 * copies a string on its way into and out of a script: a 9.4 kB record costs 17–19 µs of Redis CPU through the
 * script against 4 µs through MGET or MSET (measured alone), and each event reads and writes its record.
 */
interface Batch {
  script: { keys: string[]; argv: Arg[] } | null;
  native: { command: 'mget' | 'mset'; args: Arg[] } | null;
  routes: Route[];
}

/** Keys a write batch touches more than once: their SETs stay in the script, in their order. */
function keysTouchedTwice(calls: readonly Call[]): Set<string> {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const c of calls) for (const k of keysOf(c)) (seen.has(k) ? twice : seen).add(k);
  return twice;
}

/** The batch for these calls (command-batch-0+.lua and its native command); null when one of them is not of the kind, or too large. */
function batchOf(kind: BatchKind, calls: readonly Call[]): Batch | null {
  const keys: string[] = [];
  const argv: Arg[] = [kind];
  const nativeArgs: Arg[] = [];
  const routes: Route[] = [];
  const twice = kind === 'write' ? keysTouchedTwice(calls) : new Set<string>();
  let inScript = 0;
  for (const [name, args] of calls) {
    if (!BATCHED[kind].has(name)) return null;
    const wire = wireArgs(args);
    if (wire.length > MAX_BATCHED_ARGS) return null;
    if (kind === 'read' && name === 'get' && wire.length === 1) {
      // The value natively; the script still says whether the key holds a string (GET's WRONGTYPE, kept).
      routes.push({ at: inScript++, native: nativeArgs.push(wire[0]!) - 1 });
      keys.push(String(wire[0]));
      argv.push('type', '1', '0');
      continue;
    }
    if (
      kind === 'write' &&
      name === 'set' &&
      wire.length === 2 &&
      Buffer.isBuffer(wire[1]) &&
      !twice.has(String(wire[0]))
    ) {
      routes.push({ at: -1, native: nativeArgs.push(wire[0]!, wire[1]) / 2 - 1 });
      continue;
    }
    const n = ALL_KEYS.has(name) ? wire.length : 1;
    for (let i = 0; i < n; i++) keys.push(String(wire[i]));
    argv.push(name, String(n), String(wire.length - n), ...wire.slice(n));
    routes.push({ at: inScript++ });
  }
  return {
    script: inScript > 0 ? { keys, argv } : null,
    native: nativeArgs.length > 0 ? { command: kind === 'read' ? 'mget' : 'mset', args: nativeArgs } : null,
    routes,
  };
}

/** Queues a batch on a pipeline or MULTI: the script, then its native command (batchReplies reads them in that order). */
function queueBatch(p: ChainableCommander, batch: Batch, inTransaction: boolean): void {
  const { script, native } = batch;
  if (script) {
    // In a MULTI beside a native write, as EVAL: EVALSHA could find the script gone (SCRIPT FLUSH) and fail alone
    // while the MSET ran, storing the records without their keys. EVAL cannot: the EXEC stays all or nothing.
    if (inTransaction && native)
      p.eval(scriptSource('command-batch'), script.keys.length, ...script.keys, ...script.argv);
    else queueScript(p, 'command-batch', script.keys, script.argv);
  }
  if (native) (p as unknown as Record<string, (...a: Arg[]) => unknown>)[native.command]!(...native.args);
}

/** HGETALL's reply as ioredis gives it: an object of the field/value pairs (a `__proto__` field stays data). */
function hashOf(pairs: unknown[]): Record<string, unknown> {
  const hash: Record<string, unknown> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const field = String(pairs[i]);
    if (field === '__proto__')
      Object.defineProperty(hash, field, { value: pairs[i + 1], enumerable: true, writable: true, configurable: true });
    else hash[field] = pairs[i + 1];
  }
  return hash;
}

const wrongType = (): Error => new Error('WRONGTYPE Operation against a key holding the wrong kind of value');

/**
 * A batch's replies (the script's, then the native command's, as the pipeline or EXEC gave them) split into each
 * call's, as a pipeline or EXEC gives them: [error, null] or [null, reply].
 */
function batchReplies(calls: readonly Call[], batch: Batch, replies: readonly Reply[]): Replies {
  let next = 0;
  const take = (present: unknown): Reply | undefined => (present ? replies[next++] : undefined);
  const scriptReply = take(batch.script) ?? [null, []];
  const nativeReply = take(batch.native) ?? [null, []];
  const whole = (reply: Reply | undefined, what: string): Error | null => {
    const [err, value] = reply ?? [new Error(`command-batch: no ${what} reply`), null];
    return (
      err ?? (Array.isArray(value) || value === 'OK' ? null : new Error(`command-batch: unexpected ${what} reply`))
    );
  };
  const failed = whole(scriptReply, 'script') ?? whole(nativeReply, 'native');
  if (failed) return calls.map(() => [failed, null]);
  const inScript = scriptReply[1] as unknown[];
  const natively = nativeReply[1];
  return calls.map(([name], i) => {
    const { at, native } = batch.routes[i]!;
    const r = at >= 0 ? inScript[at] : undefined;
    if (r instanceof Error) return [r, null];
    if (native !== undefined) {
      if (at < 0) return [null, 'OK']; // a SET of the MSET
      return r === 'string' || r === 'none' ? [null, (natively as unknown[])[native] ?? null] : [wrongType(), null];
    }
    return [null, name === 'hgetall' && Array.isArray(r) ? hashOf(r) : (r ?? null)];
  });
}

/** A command recorder typed as ioredis's pipeline: every call is recorded, `exec` hands the calls over. */
function recorder(exec: (calls: Call[]) => Promise<Replies | null>): ChainableCommander {
  const calls: Call[] = [];
  const proxy: ChainableCommander = new Proxy({} as ChainableCommander, {
    get: (_t, name) =>
      name === 'exec'
        ? () => exec(calls)
        : name === 'then'
          ? undefined
          : (...args: unknown[]) => {
              calls.push([String(name), args.flat()]);
              return proxy;
            },
  });
  return proxy;
}

interface Pending<T> {
  calls: Call[];
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export interface WatchGroupsOptions {
  /** A connection for a new group (from the store's pool); `release` takes it back once the group is over. */
  acquire: () => Redis;
  release: (conn: Redis) => void;
  /** At most this many members in one group. */
  maxMembers?: number;
}

class Member implements WatchSession {
  /** Keys this member watched or read (every read it made is under WATCH). */
  readonly read = new Set<string>();
  state: 'active' | 'committed' | 'left' = 'active';
  commit: Pending<Replies | null> | null = null;

  constructor(private readonly group: Group) {}

  pipeline(): ChainableCommander {
    return recorder((calls) => this.group.read(this, calls));
  }
  multi(): ChainableCommander {
    return recorder((calls) => this.group.commitOf(this, calls));
  }
  async unwatch(): Promise<'OK'> {
    this.leave();
    return 'OK';
  }
  /** Done with the group without (more) writing: the group's EXEC no longer waits for it. */
  leave(): void {
    if (this.state !== 'active') return;
    this.state = 'left';
    this.group.settle();
  }
}

class Group {
  readonly members: Member[] = [];
  /** No member joins once one asked to commit: the EXEC would wait for it. */
  closed = false;
  private reads: Array<Pending<Replies> & { member: Member }> = [];
  private flushing: NodeJS.Immediate | null = null;
  private over = false;
  /**
   * The connection closed (ioredis reconnects on its own) or a read failed during the group: Redis forgot its
   * WATCH, so an EXEC now would store changes computed on reads nothing guards. Every commit is then told to
   * compute again (on a fresh group), and the connection is dropped rather than reused.
   */
  private unguarded = false;
  private readonly onClose = (): void => {
    this.unguarded = true;
  };

  constructor(
    private readonly conn: Redis,
    private readonly opts: WatchGroupsOptions,
    private readonly onOver: (g: Group, included: number, leftOut: number) => void,
  ) {
    conn.once('close', this.onClose);
    // Before its pipelines and MULTI are made: each copies the scripts its connection has.
    defineScripts(conn, 'command-batch');
  }

  join(): Member {
    const m = new Member(this);
    this.members.push(m);
    return m;
  }

  read(member: Member, calls: Call[]): Promise<Replies> {
    for (const c of calls) for (const k of keysOf(c)) member.read.add(k);
    return new Promise<Replies>((resolve, reject) => {
      this.reads.push({ member, calls, resolve, reject });
      this.flushing ??= setImmediate(() => this.flushReads());
    });
  }

  /** One pipeline for the reads asked in this turn: one WATCH of all their keys, then each distinct read once. */
  private flushReads(): void {
    this.flushing = null;
    const batch = this.reads.splice(0);
    const watch = new Set<string>();
    const slot = new Map<string, number>();
    const sent: Call[] = [];
    const where = batch.map(({ calls }) =>
      calls.map((c) => {
        if (c[0] === 'watch') {
          for (const k of keysOf(c)) watch.add(k);
          return -1;
        }
        const id = JSON.stringify(c);
        let i = slot.get(id);
        if (i === undefined) slot.set(id, (i = sent.push(c) - 1));
        return i;
      }),
    );
    const p = this.conn.pipeline();
    if (watch.size > 0) p.watch(...watch);
    const batched = sent.length > 1 ? batchOf('read', sent) : null;
    if (batched) queueBatch(p, batched, false);
    else
      for (const [name, args] of sent) (p as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
    const offset = watch.size > 0 ? 1 : 0;
    p.exec().then(
      (replies) => {
        const all = batched
          ? [...(replies ?? []).slice(0, offset), ...batchReplies(sent, batched, (replies ?? []).slice(offset))]
          : (replies ?? []);
        const watchReply = all[0] ?? [null, 'OK'];
        batch.forEach(({ resolve }, b) =>
          resolve(
            where[b]!.map((i) => (i < 0 ? watchReply : (all[i + offset] ?? [null, null])) as [Error | null, unknown]),
          ),
        );
      },
      (err: unknown) => {
        this.unguarded = true;
        batch.forEach(({ reject }) => reject(err));
      },
    );
  }

  commitOf(member: Member, calls: Call[]): Promise<Replies | null> {
    return new Promise((resolve, reject) => {
      member.commit = { calls, resolve, reject };
      member.state = 'committed';
      this.closed = true;
      this.settle();
    });
  }

  /** Once no member is still active: one MULTI/EXEC of the members that can share it, or UNWATCH when none writes. */
  settle(): void {
    if (this.over || this.members.some((m) => m.state === 'active')) return;
    this.over = true;
    this.closed = true;
    this.conn.off('close', this.onClose);
    const committing = this.members.filter((m) => m.commit !== null);
    if (this.unguarded) {
      for (const m of committing) m.commit!.resolve(null);
      this.onOver(this, 0, committing.length);
      this.conn.disconnect();
      return;
    }
    const writtenBefore = new Set<string>();
    const included: Member[] = [];
    for (const m of committing) {
      if ([...m.read].some((k) => writtenBefore.has(k))) {
        m.commit!.resolve(null); // it read what a member before it in this EXEC writes: computed again
        continue;
      }
      for (const c of m.commit!.calls) for (const k of keysOf(c)) writtenBefore.add(k);
      included.push(m);
    }
    this.onOver(this, included.length, committing.length - included.length);
    if (included.length === 0) {
      this.conn.unwatch().catch(() => undefined);
      this.opts.release(this.conn);
      return;
    }
    const calls = included.flatMap((m) => m.commit!.calls);
    const tx = this.conn.multi();
    const batch = calls.length > 1 ? batchOf('write', calls) : null;
    if (batch) queueBatch(tx, batch, true);
    else
      for (const [name, args] of calls) (tx as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
    tx.exec()
      .then(
        (replies) => {
          // The script or the MSET failed as a whole (NOSCRIPT after a SCRIPT FLUSH): none of the writes it held ran.
          const failed = batch && replies !== null ? replies.find(([err]) => err)?.[0] : null;
          if (failed) {
            included.forEach((m) => m.commit!.reject(failed));
            return;
          }
          const result = replies === null || !batch ? replies : batchReplies(calls, batch, replies);
          let at = 0;
          for (const m of included) {
            const n = m.commit!.calls.length;
            m.commit!.resolve(result === null ? null : result.slice(at, at + n));
            at += n;
          }
        },
        (err: unknown) => included.forEach((m) => m.commit!.reject(err)),
      )
      .finally(() => this.opts.release(this.conn));
  }
}

/** The groups of one record store: an apply joins the open group, or opens one on a connection of the pool. */
export class WatchGroups {
  private open: Group | null = null;
  private readonly max: number;
  /** Counts since the start: groups over, members in them, transactions sent, members committed in them, left out. */
  readonly stats = { groups: 0, members: 0, transactions: 0, committed: 0, leftOut: 0 };

  constructor(private readonly opts: WatchGroupsOptions) {
    this.max = opts.maxMembers ?? 16;
  }

  /** A session for one attempt of one apply; it must end in `exec` of its `multi()`, `unwatch()` or `leave()`. */
  join(): WatchSession & { leave(): void } {
    const g = this.open;
    if (g && !g.closed && g.members.length < this.max) return g.join();
    const group = new Group(this.opts.acquire(), this.opts, (over, included, leftOut) => {
      if (this.open === over) this.open = null;
      this.stats.groups += 1;
      this.stats.members += over.members.length;
      this.stats.transactions += included > 0 ? 1 : 0;
      this.stats.committed += included;
      this.stats.leftOut += leftOut;
    });
    this.open = group;
    return group.join();
  }
}
