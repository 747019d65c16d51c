/** BullMQ's job limiter as it acted, replayed from a queue's event stream: when jobs started, and the most in one window. */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** When each job of the queue became active (a job started again counts again), in Redis time (ms), oldest first. */
export async function jobStarts(redis: Redis, queue: Queue): Promise<number[]> {
  const stream = await redis.xrange(queue.keys.events!, '-', '+');
  return stream.filter(([, fields]) => fields[1] === 'active').map(([id]) => Number(id.split('-')[0]));
}

/**
 * The most jobs BullMQ's limiter let start in one of its windows, rebuilt from the times the jobs
 * became active: a window opens with the first job after the previous one closed and lasts `perMs`
 * (the limiter's counter key expires then). The counter's expiry and the event's stream id are whole
 * milliseconds read from two clocks of one script (a script's frozen time for keys, the live clock for
 * stream ids), so the replayed window can open a millisecond or two after the real one; the replay
 * closes each window `slackMs` early, or the burst that starts the next real window (every waiting
 * worker slot at once) would be counted in the previous one. CI measured 32 of 30 without it.
 */
export function limiterPeak(times: number[], perMs: number, slackMs = 5): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0; i < sorted.length;) {
    const start = sorted[i]!;
    let n = 0;
    while (i < sorted.length && sorted[i]! < start + perMs - slackMs) {
      n++;
      i++;
    }
    most = Math.max(most, n);
  }
  return most;
}
