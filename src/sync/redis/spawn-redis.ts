/**
 * Starts a redis-server (or a Sentinel) on a loopback port and makes sure the server answering there is the
 * one it spawned. A port chosen free can be taken by another process before redis-server binds it: then
 * our process exits ('Address already in use') while someone else's server may answer PING on that port.
 * So a start counts only once `INFO server` on the port names our process id; a lost bind is retried on a
 * new port (or, for a restart that must keep its port, on the same one after a pause).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { connectRedis } from './connection.js';

/** A free TCP port on 127.0.0.1 (the OS picks it; free until someone else takes it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface SpawnRedisOptions {
  /** redis-server's arguments for a port (for a Sentinel: its config file, written for that port). */
  args: (port: number) => string[];
  cwd?: string;
  /** Ports to try; freePort by default. */
  choosePort?: () => Promise<number>;
  /** Starts tried before giving up; 5 by default. */
  attempts?: number;
  /** How long one start may take to answer; 15 s by default. */
  timeoutMs?: number;
}

export interface SpawnedRedis {
  port: number;
  child: ChildProcess;
}

const BIND_FAILURE = /Address already in use|Could not create server TCP listening socket|Failed listening on port/i;
const LOG_TAIL_CHARS = 4000;

type Attempt = { ok: true; child: ChildProcess } | { ok: false; portTaken: boolean; log: string };

/** The process id of the Redis answering on `port` once it answers PING; null when nothing answers yet. */
async function answeringPid(port: number): Promise<number | null> {
  const c = connectRedis(`redis://127.0.0.1:${port}`, 'probe', { connectTimeout: 300 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    if ((await c.ping()) !== 'PONG') return null;
    const m = /^process_id:(\d+)/m.exec(await c.info('server'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  } finally {
    c.disconnect();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

/** One start on `port`: ours once it answers with our pid; the port is taken when we exit on a bind or another pid answers. */
async function attemptStart(port: number, opts: SpawnRedisOptions): Promise<Attempt> {
  const child = spawn('redis-server', opts.args(port), {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  let log = '';
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-LOG_TAIL_CHARS));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  child.once('exit', () => (exited = true));
  child.once('error', (err) => {
    exited = true;
    log += `\n${err.message}`;
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    if (exited) return { ok: false, portTaken: BIND_FAILURE.test(log), log };
    const pid = await answeringPid(port);
    if (pid !== null && pid === child.pid) return { ok: true, child };
    if (pid !== null && !exited) {
      // Someone else's server holds the port; ours cannot bind it (and must not linger if it somehow did).
      await stopChild(child);
      return { ok: false, portTaken: true, log };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stopChild(child);
  return { ok: false, portTaken: false, log: `${log}\n(no answer within ${opts.timeoutMs ?? 15_000} ms)` };
}

async function startWithRetries(next: () => Promise<number>, opts: SpawnRedisOptions): Promise<SpawnedRedis> {
  const attempts = opts.attempts ?? 5;
  const tried: number[] = [];
  let last = '';
  for (let i = 0; i < attempts; i++) {
    const port = await next();
    tried.push(port);
    const a = await attemptStart(port, opts);
    if (a.ok) return { port, child: a.child };
    last = a.log.trim().split('\n').slice(-5).join('\n');
    if (!a.portTaken) break;
  }
  throw new Error(`redis-server did not start on 127.0.0.1 (ports tried: ${tried.join(', ')}): ${last}`);
}

/** Starts on a free port, choosing another when the chosen one is taken before redis-server binds it. */
export async function spawnRedis(opts: SpawnRedisOptions): Promise<SpawnedRedis> {
  return startWithRetries(opts.choosePort ?? freePort, opts);
}

/** Starts (again) on `port`, which the caller must keep; a port held by someone else is retried after a pause. */
export async function spawnRedisOnPort(port: number, opts: SpawnRedisOptions): Promise<ChildProcess> {
  let first = true;
  const samePort = async () => {
    if (!first) await new Promise((r) => setTimeout(r, 500));
    first = false;
    return port;
  };
  return (await startWithRetries(samePort, opts)).child;
}
