/** The benches' profile summary: the functions with the most self time, idle and the profiler's own calls left out. */
import { describe, expect, it } from 'vitest';
import { topSelfTime } from '../bench/lib/profile.js';

const frame = (functionName: string, url: string) => ({
  functionName,
  url,
  scriptId: '0',
  lineNumber: 0,
  columnNumber: 0,
});

describe('bench profile summary', () => {
  it('ranks functions by self time over the busy samples, naming their file under src or their package', () => {
    const profile = {
      startTime: 0,
      endTime: 100,
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('tryApply', 'file:///work/app/src/sync/events/store.ts') },
        { id: 4, callFrame: frame('sendCommand', 'file:///work/app/node_modules/ioredis/built/Redis.js') },
        { id: 5, callFrame: frame('post', 'node:inspector') },
      ],
      samples: [2, 2, 2, 3, 3, 3, 4, 5, 5],
      timeDeltas: [10, 10, 10, 10, 10, 10, 20, 10, 10],
    };
    expect(topSelfTime(profile, 10)).toEqual([
      { fn: 'tryApply src/sync/events/store.ts', selfPercent: 60 },
      { fn: 'sendCommand ioredis', selfPercent: 40 },
    ]);
    expect(topSelfTime(profile, 1)).toHaveLength(1);
  });
});
