/**
 * The window's end as it happens in production: a real delayed BullMQ job
 * on the real clock, with a window of seconds instead of a day, and the
 * worker stopped and started again in the middle of it.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFLECTION_QUEUE } from '../../src/sync/deflection/queue.js';
import {
  iso,
  sendActivity,
  sendTicket,
  startDeflectionPipeline,
  type DeflectionPipeline,
} from './deflection-support.js';

const WINDOW_MS = 3_000;
const ALL = [new Date(Date.now() - 3_600_000), new Date(Date.now() + 3_600_000)] as const;
let p: DeflectionPipeline;
let queue: Queue;

beforeAll(async () => {
  p = await startDeflectionPipeline({
    tweak: (c) => {
      // The hourly sweep stays out of the way: the delayed jobs must do the work.
      c.deflection = {
        ...c.deflection,
        sessionIdleMs: 1_000,
        windowMs: WINDOW_MS,
        lateTicketGraceMs: 0,
        sweepEveryMs: 3_600_000,
      };
    },
  });
  queue = new Queue(DEFLECTION_QUEUE, { connection: p.daemon.redis, prefix: p.daemon.prefix });
});

afterAll(async () => {
  await queue?.close();
  await p?.stop();
});

describe('a worker restarted in the middle of a window', () => {
  it('loses nothing and counts nothing twice', async () => {
    const t0 = Date.now();
    await sendActivity(
      p.daemon,
      {
        id: 'r-1',
        type: 'article_view',
        occurred_at: iso(t0),
        contact: { email: 'gail@restart.example' },
        article_id: '360001',
      },
      {
        id: 'r-2',
        type: 'search',
        occurred_at: iso(t0),
        contact: { email: 'hank@restart.example' },
        query: 'cancel my plan',
        result_count: 0,
      },
    );
    await p.drain();
    const closeJobs = (await queue.getDelayed()).filter((j) => j.name === 'close');
    expect(closeJobs).toHaveLength(2);

    await p.stopWorker();
    // While no worker runs, Hank opens a ticket inside his window; the web role queues it.
    await sendTicket(p.daemon, {
      id: '6101',
      email: 'hank@restart.example',
      createdAt: iso(t0 + 500),
      subject: 'Please cancel my subscription',
    });
    await new Promise((r) => setTimeout(r, 800));
    await p.startWorker();

    const end = Date.now() + 15_000;
    let events = await p.data.events(...ALL);
    while (events.length < 2 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      events = await p.data.events(...ALL);
    }
    expect(events.map((e) => [e.contact, e.outcome]).sort()).toEqual([
      ['gail@restart.example', 'deflected'],
      ['hank@restart.example', 'escalated'],
    ]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(WINDOW_MS);

    // Every close job ran; another restart and a sweep decide nothing again.
    await p.stopWorker();
    await p.startWorker();
    expect(await p.worker.tracker.sweep()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(await p.data.events(...ALL)).toHaveLength(2);
    const counts = await p.data.counts(...ALL);
    expect(counts).toMatchObject({ sessions: 2, deflected: 1, escalated: 1, tickets: 1 });
    expect((await queue.getDelayed()).filter((j) => j.name === 'close')).toEqual([]);
    const completed = await queue.getCompleted();
    expect(
      completed
        .filter((j) => j.name === 'close')
        .map((j) => j.returnvalue.status)
        .sort(),
    ).toEqual(['decided', 'not-open']);
  });
});
