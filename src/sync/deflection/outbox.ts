/**
 * Decided events leave the tracker through an outbox list, written in the
 * same transaction as the decision and drained into the push queues after
 * it. A crash between the two loses nothing: the next drain (after the next
 * decision, or the next sweep) hands the event over. Handing one over twice
 * is harmless, since push jobs are keyed by the event's id.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import type { DeflectionEvent } from './types.js';

const BATCH = 100;

export class Outbox {
  private running: Promise<number> | null = null;
  private again = false;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly publish: ((event: DeflectionEvent) => Promise<void>) | undefined,
    private readonly logger?: Logger,
  ) {}

  /** Hands every waiting event over; never throws (what is left waits for the next drain). */
  drain(): Promise<number> {
    if (this.running) {
      // One drain at a time per process; a call meanwhile makes the running one look again.
      this.again = true;
      return this.running;
    }
    this.running = this.run()
      .catch((err: unknown) => {
        this.logger?.warn(
          { err: (err as Error).message },
          'deflection events not handed to the push queues yet; the next sweep retries',
        );
        return 0;
      })
      .finally(() => (this.running = null));
    return this.running;
  }

  private async run(): Promise<number> {
    let n = 0;
    do {
      this.again = false;
      for (let rows = await this.next(); rows.length > 0; rows = await this.next()) {
        for (const row of rows) {
          await this.publish?.(JSON.parse(row) as DeflectionEvent);
          await this.redis.lrem(this.key, 1, row);
          n++;
        }
      }
    } while (this.again);
    return n;
  }

  private next(): Promise<string[]> {
    return this.redis.lrange(this.key, 0, BATCH - 1);
  }
}
