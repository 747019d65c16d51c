/**
 * The benches' profile summary: the functions with the most self time, idle and the profiler's own calls left out;
 * in this process, or read from the profile a bench's child process wrote as it exited.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childProfileArgs, childProfileSummary, childProfileTop, topSelfTime } from '../bench/lib/profile.js';

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

describe("a bench child's profile summary", () => {
  it("reads the profile the child wrote as it exited (BENCH_PROFILE), its own and no other process's", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
    const before = process.env.BENCH_PROFILE;
    process.env.BENCH_PROFILE = dir;
    try {
      const code =
        'function busyLoop(){const end=Date.now()+300;let x=0;while(Date.now()<end)x+=Math.sqrt(x+1);return x}busyLoop();';
      const child = spawn(process.execPath, [...childProfileArgs(), '-e', code], { stdio: 'ignore' });
      const summary = await childProfileSummary(child, 'the child');
      expect(summary?.what).toBe('the child');
      expect(summary?.profileTop?.some((r) => r.fn.startsWith('busyLoop'))).toBe(true);
      expect(childProfileTop(dir, child.pid! + 1_000_000)).toBeNull();
    } finally {
      if (before === undefined) delete process.env.BENCH_PROFILE;
      else process.env.BENCH_PROFILE = before;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is left out without BENCH_PROFILE', async () => {
    const before = process.env.BENCH_PROFILE;
    delete process.env.BENCH_PROFILE;
    try {
      expect(childProfileArgs()).toEqual([]);
      const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
      expect(await childProfileSummary(child, 'the child')).toBeUndefined();
      await new Promise((r) => child.once('exit', r));
    } finally {
      if (before !== undefined) process.env.BENCH_PROFILE = before;
    }
  });
});
