/**
 * The one way portal-sync does atomic Redis work: Lua files in ./scripts, one script a file, named
 * `<name>-<numberOfKeys>.lua` (BullMQ's src/commands are the model). Every key a script touches is
 * passed in KEYS — none is built inside Lua — so the script declares what it reads and writes (the
 * precondition for ever running on Redis Cluster, see docs/architecture.md). Each file is read once
 * per process, relative to this module (src/ under tsx and vitest, dist/ once built: the build copies
 * the .lua files), and defined on a client with ioredis's defineCommand, which sends EVALSHA and falls
 * back to EVAL on NOSCRIPT (a restarted or failed-over Redis).
 */
import { readFileSync } from 'node:fs';
import type { ChainableCommander, Redis } from 'ioredis';

/**
 * Every script and how many KEYS it takes (its file is `<name>-<keys>.lua`): a number, or `<n>+` for a script
 * that takes n fixed keys and then a list of further ones (each still passed in KEYS, never built in Lua).
 */
export const SCRIPTS = {
  'call-gate-take': 1,
  'call-gate-release': 1,
  'push-accept-over': 3,
  'push-try-start': 2,
  'push-delay': 2,
  'push-pause': 1,
  'lease-renew': 1,
  'lease-release': 1,
  'quarantine-put': 5,
  'quarantine-remove': 4,
  'bulk-claim': 3,
  'bulk-reclaim': 2,
  'bulk-release': 3,
  'view-read': '4+',
  'outbound-ack': 4,
  'outbound-fail': 2,
  'outbound-merge-lane': 4,
  'outbound-emit': '4+',
  'deflection-ticket': 4,
  /** A stored record listed in the customers set again, on a job's retry (events/store.ts). */
  'customer-listed': 2,
  /** The reads, or the writes, of the record store's applies sharing a WATCH connection (watch-group.ts). */
  'command-batch': '0+',
  /** Run by enqueue-script.ts (behind BullMQ's addStandardJob source), not by runScript. */
  'ingest-mark-and-add': '9+',
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type Tuple<N extends number, T extends unknown[] = []> = T['length'] extends N ? T : Tuple<N, [...T, string]>;
type KeysOf<D> = D extends number
  ? Tuple<D>
  : D extends `${infer N extends number}+`
    ? [...Tuple<N>, ...string[]]
    : never;
/** The keys a script declares, one string each: exactly n, or at least n for `<n>+`. */
export type ScriptKeys<S extends ScriptName> = KeysOf<(typeof SCRIPTS)[S]>;
type Arg = string | number | Buffer;

/** The script's file name: `<name>-<numberOfKeys>.lua`. */
export const scriptFile = (name: ScriptName): string => `${name}-${SCRIPTS[name]}.lua`;

/** The declared key count: `exact` for a fixed count, else the fewest keys a `<n>+` script takes. */
export function declaredKeys(name: ScriptName): { count: number; exact: boolean } {
  const d = SCRIPTS[name];
  return typeof d === 'number' ? { count: d, exact: true } : { count: Number.parseInt(d, 10), exact: false };
}

const sources = new Map<ScriptName, string>();

/** A script's Lua source, read from its file once per process. */
export function scriptSource(name: ScriptName): string {
  let lua = sources.get(name);
  if (lua === undefined) {
    lua = readFileSync(new URL(`./scripts/${scriptFile(name)}`, import.meta.url), 'utf8');
    sources.set(name, lua);
  }
  return lua;
}

/** The command name on the client; prefixed so that no script can shadow a Redis command or another library's. */
const commandOf = (name: ScriptName) => `portalSync_${name.replaceAll('-', '_')}`;

/** Checks the keys against the declaration and defines the script on the client (once); returns how to call it. */
function prepare(
  redis: Redis,
  name: ScriptName,
  keys: readonly string[],
): { command: string; callArgs: (args: readonly Arg[]) => Arg[] } {
  const { count, exact } = declaredKeys(name);
  // The tuple type says so already; this guards callers that cast an array of unknown length.
  if (exact ? keys.length !== count : keys.length < count) {
    throw new Error(`script ${name} declares ${exact ? '' : 'at least '}${count} keys, was given ${keys.length}`);
  }
  const command = commandOf(name);
  if (typeof (redis as unknown as Record<string, unknown>)[command] !== 'function') {
    // A `<n>+` script is defined without a key count: each call then says how many keys it passes.
    redis.defineCommand(
      command,
      exact ? { numberOfKeys: count, lua: scriptSource(name) } : { lua: scriptSource(name) },
    );
  }
  return { command, callArgs: (args) => (exact ? [...keys, ...args] : [keys.length, ...keys, ...args]) };
}

type Callable = Record<string, ((...a: Arg[]) => unknown) | undefined>;

/** Runs a script atomically: its keys first (exactly as many as it declares), then its arguments. */
export async function runScript<S extends ScriptName>(
  redis: Redis,
  name: S,
  keys: ScriptKeys<S>,
  args: readonly Arg[] = [],
): Promise<unknown> {
  const { command, callArgs } = prepare(redis, name, keys as readonly string[]);
  return (redis as unknown as Callable)[command]!(...callArgs(args));
}

/**
 * Defines scripts on a client ahead of a transaction: a MULTI or pipeline has only the scripts its client
 * had when it was made (ioredis copies them), so call this before `redis.multi()` and then queueScript.
 */
export function defineScripts(redis: Redis, ...names: ScriptName[]): void {
  for (const name of names) {
    const { count } = declaredKeys(name);
    prepare(
      redis,
      name,
      Array.from({ length: count }, () => ''),
    );
  }
}

/** Adds a script to a transaction (its reply is the transaction's at that place); defineScripts first. */
export function queueScript<S extends ScriptName>(
  tx: ChainableCommander,
  name: S,
  keys: ScriptKeys<S>,
  args: readonly Arg[] = [],
): void {
  const { count, exact } = declaredKeys(name);
  const given = keys as readonly string[];
  if (exact ? given.length !== count : given.length < count)
    throw new Error(`script ${name} declares ${count} keys, was given ${given.length}`);
  const call = (tx as unknown as Callable)[commandOf(name)];
  if (typeof call !== 'function')
    throw new Error(`script ${name} was not defined on the client before the transaction was made`);
  call.call(tx, ...(exact ? [...given, ...args] : [given.length, ...given, ...args]));
}
