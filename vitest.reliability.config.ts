/**
 * The reliability suite (`npm run test:reliability`): crashes, restarts,
 * shutdowns, delivery chaos, upstream faults, echo loops, a flood, fuzzing,
 * tenant isolation and log hygiene, against real Redis, real BullMQ, real
 * daemon processes and the platform stand-ins. One scenario at a time: they
 * measure time, memory and rates, which a neighbour would distort on CI's two
 * cores. RELIABILITY_SCALE scales the event counts (default 1: the issue's).
 */
import { defineConfig } from 'vitest/config';
import { ByNameSequencer } from './test/reliability/support/sequencer.js';

export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    exclude: ['node_modules/**'],
    globalSetup: ['test/global-setup.ts', 'test/reliability/support/global.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    sequence: { sequencer: ByNameSequencer },
    testTimeout: 240_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});
