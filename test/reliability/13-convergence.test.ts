/**
 * Convergence under faults: with the shipped settings and 30 % of the calls to
 * both portal stand-ins failing (429 with Retry-After: 1, 500, 503, resets),
 * both portals show what a fault-free run shows soon after the last webhook —
 * failed calls are retried within the push, Retry-After is honoured on both
 * targets, and pushes on backoff are woken when the target answers again.
 * The goal is 60 s (bench:convergence reports the figure); this scenario allows
 * twice that on a loaded machine, and nothing may be dead-lettered.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { measureConvergence } from '../../bench/convergence.js';
import { announce } from './support/env.js';
import { scenario } from './support/summary.js';

const GOAL_SECONDS = 60;
const SLACK = 2;
const s = scenario(
  '13-convergence',
  'portals match a fault-free run soon after the last webhook, 30% of calls failing',
);

afterAll(() => {
  s.save();
});

describe('convergence under faults', () => {
  it('200 events, 20 customers, 30% failing calls: both portals equal the fault-free run within twice the 60 s goal, nothing dead-lettered', async () => {
    announce('13-convergence', { customers: 20, events: 200, faultRate: 0.3, goalSeconds: GOAL_SECONDS });
    const c = await measureConvergence({ giveUpMs: GOAL_SECONDS * SLACK * 1000 });
    s.set({ eventsSent: 200, applied: 200, lost: 0, portalCalls: c.faulty.calls.zendesk + c.faulty.calls.salesforce });
    s.detail('convergenceSeconds', { faulty: c.seconds, clean: c.cleanSeconds, byTarget: c.faulty.convergedSeconds });
    s.detail('faults', c.faulty.faults);
    expect(c.faulty.faults.zendesk['429'] ?? 0).toBeGreaterThan(0);
    expect(c.faulty.faults.salesforce['429'] ?? 0).toBeGreaterThan(0);
    expect(c.faulty.finalMatchesReference).toBe(true);
    expect(c.seconds).not.toBeNull();
    expect(c.seconds!).toBeLessThanOrEqual(GOAL_SECONDS * SLACK);
    expect(c.clean.failedPushJobs + c.faulty.failedPushJobs).toBe(0);
    s.pass();
  }, 600_000);
});
