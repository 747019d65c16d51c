/** BullMQ's job limiter as it acted, replayed from a queue's event stream: when jobs started, and the most in one window. */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** When each job of the queue became active (a job started again counts again), in Redis time (ms), oldest first. */
export async function jobStarts(redis: Redis, queue: Queue): Promise<number[]> {
  const stream = await redis.xrange(queue.keys.events!, '-', '+');
  return stream.filter(([, fields]) => fields[1] === 'active').map(([id]) => Number(id.split('-')[0]));
}

/**
 * The most jobs BullMQ's limiter let start in one of its windows, rebuilt from the times the jobs became
 * active. BullMQ's rule: a window opens with the first job that starts while none is open and lasts
 * `perMs` (the limiter's counter key expires then); the jobs that start before it ends count in it.
 * The replay cannot place a window's end to the millisecond: the counter's expiry follows the time a
 * script's keys see, the stream ids the live clock when the event is written, later in the same script
 * (by the script's run time — more on a loaded machine). So a job a millisecond or two before a
 * window's end can carry a stream id just after it, or a window's first job one just after its true
 * start. The replay therefore asks for the least possible peak: every window ends within `clockMs` of
 * `perMs` after its first job, where the times allow, and the answer is the smallest largest window
 * over those choices. A window reopened early — a pause that replaced the count — is not explained away
 * by a few milliseconds: its jobs fall in one window whatever the choice. (A greedy replay closing each
 * window a fixed 5 ms early measured 31–32 of 30 in runs where nothing touched the counter.)
 */
export function limiterPeak(times: number[], perMs: number, clockMs = 5): number {
  const t = [...times].sort((a, b) => a - b);
  const n = t.length;
  // least[i]: the least peak of the windows from job i on, when job i opens a window.
  const least = new Array<number>(n + 1).fill(Number.POSITIVE_INFINITY);
  least[n] = 0;
  for (let i = n - 1; i >= 0; i--) {
    const [from, to] = [t[i]! + perMs - clockMs, t[i]! + perMs + clockMs];
    // Job j opens the next window: the window ends after job j-1 and no later than job j, within [from, to].
    for (let j = i + 1; j <= n && t[j - 1]! < to; j++) {
      if (j === n) {
        least[i] = Math.min(least[i]!, n - i);
        break;
      }
      if (Math.max(t[j - 1]! + 1, from) <= Math.min(t[j]!, to))
        least[i] = Math.min(least[i]!, Math.max(j - i, least[j]!));
    }
  }
  return n === 0 ? 0 : least[0]!;
}
