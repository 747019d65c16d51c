/**
 * Optimistic Redis transactions for the tracker: WATCH what a step reads,
 * MULTI/EXEC what it writes, and run the step again from fresh state when a
 * watched key changed meanwhile. WATCH belongs to a connection, so every
 * step gets one of its own from a small pool of duplicates (the shared
 * connection serves other callers at the same time). The pool is bounded: a
 * burst of steps (a merge storm moves every merged record's sessions) waits
 * for a connection rather than opening one per step.
 */
import type { Redis } from 'ioredis';

const MAX_ATTEMPTS = 100;
/** Connections a pool opens at most, unless told otherwise: steps are short, a few at once keep up. */
const DEFAULT_MAX_CONNECTIONS = 8;

/** True when EXEC ran; false when a watched key changed (recompute); throws the first command error. */
export function executed(result: Array<[Error | null, unknown]> | null): boolean {
  if (result === null) return false;
  const failed = result.find(([err]) => err);
  if (failed) throw failed[0];
  return true;
}

export class WatchPool {
  private readonly free: Redis[] = [];
  /** Steps waiting for a connection, first come first served. */
  private readonly waiting: Array<{ take: (conn: Redis) => void; refuse: (err: Error) => void }> = [];
  private opened = 0;
  private closed = false;
  private readonly maxConnections: number;

  constructor(
    private readonly redis: Redis,
    opts: { maxConnections?: number } = {},
  ) {
    this.maxConnections = Math.max(1, opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
  }

  /** Runs `step` until it returns a value; `undefined` means "a watched key changed: again". */
  async atomically<T>(step: (conn: Redis) => Promise<T | undefined>): Promise<T> {
    const conn = await this.acquire();
    try {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const result = await step(conn);
        if (result !== undefined) return result;
        // Jitter, so that two workers on one session do not collide again in lockstep.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
      }
      throw new Error(`deflection state changed under us ${MAX_ATTEMPTS} times`);
    } catch (err) {
      await conn.unwatch().catch(() => undefined);
      throw err;
    } finally {
      this.release(conn);
    }
  }

  close(): void {
    this.closed = true;
    for (const c of this.free.splice(0)) c.disconnect();
    for (const w of this.waiting.splice(0)) w.refuse(new Error('deflection WATCH pool closed'));
  }

  /** A free connection, a new one while under the bound, or the next one given back. */
  private acquire(): Promise<Redis> {
    if (this.closed) return Promise.reject(new Error('deflection WATCH pool closed'));
    const conn = this.free.pop();
    if (conn) return Promise.resolve(conn);
    if (this.opened < this.maxConnections) {
      this.opened += 1;
      // Failures surface as rejected commands, not as stderr noise.
      return Promise.resolve(this.redis.duplicate().on('error', () => undefined));
    }
    return new Promise((take, refuse) => this.waiting.push({ take, refuse }));
  }

  private release(conn: Redis): void {
    const next = this.waiting.shift();
    if (next) return next.take(conn);
    if (this.closed) {
      this.opened -= 1;
      conn.disconnect();
    } else this.free.push(conn);
  }
}
