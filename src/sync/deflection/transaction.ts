/**
 * Optimistic Redis transactions for the tracker: WATCH what a step reads,
 * MULTI/EXEC what it writes, and run the step again from fresh state when a
 * watched key changed meanwhile. WATCH belongs to a connection, so every
 * step gets one of its own from a small pool of duplicates (the shared
 * connection serves other callers at the same time).
 */
import type { Redis } from 'ioredis';

const MAX_ATTEMPTS = 100;

/** True when EXEC ran; false when a watched key changed (recompute); throws the first command error. */
export function executed(result: Array<[Error | null, unknown]> | null): boolean {
  if (result === null) return false;
  const failed = result.find(([err]) => err);
  if (failed) throw failed[0];
  return true;
}

export class WatchPool {
  private readonly free: Redis[] = [];
  private closed = false;

  constructor(private readonly redis: Redis) {}

  /** Runs `step` until it returns a value; `undefined` means "a watched key changed: again". */
  async atomically<T>(step: (conn: Redis) => Promise<T | undefined>): Promise<T> {
    const conn = this.free.pop() ?? this.redis.duplicate().on('error', () => undefined); // failures surface as rejected commands, not as stderr noise
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
      if (this.closed) conn.disconnect();
      else this.free.push(conn);
    }
  }

  close(): void {
    this.closed = true;
    for (const c of this.free.splice(0)) c.disconnect();
  }
}
