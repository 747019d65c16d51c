/** In-process locks by name: one holder per name at a time, taken in order, released without leaks. */
import { describe, expect, it } from 'vitest';
import { LocalLocks } from '../../../src/sync/events/local-locks.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('local locks', () => {
  it('lets a second taker of a name in only after the first releases it', async () => {
    const locks = new LocalLocks();
    const order: string[] = [];
    const releaseA = await locks.acquire(['r:1']);
    const b = locks.acquire(['r:1']).then((release) => {
      order.push('b');
      release();
    });
    await tick();
    order.push('a');
    releaseA();
    await b;
    expect(order).toEqual(['a', 'b']);
    expect(locks.size).toBe(0);
  });

  it('lets takers of different names run at once', async () => {
    const locks = new LocalLocks();
    const releaseA = await locks.acquire(['r:1']);
    const releaseB = await locks.acquire(['r:2']);
    releaseA();
    releaseB();
    expect(locks.size).toBe(0);
  });

  it('never deadlocks two takers that name the same locks in opposite orders', async () => {
    const locks = new LocalLocks();
    let inside = 0;
    let most = 0;
    const take = async (names: string[]) => {
      const release = await locks.acquire(names);
      inside += 1;
      most = Math.max(most, inside);
      await tick();
      inside -= 1;
      release();
    };
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => take(i % 2 ? ['k:a', 'k:b', 'r:x'] : ['r:x', 'k:b', 'k:a'])),
    );
    expect(most).toBe(1);
    expect(locks.size).toBe(0);
  });
});
