/**
 * bench/convergence — "convergence seconds under 30 % faults": how long after
 * the last webhook the portals show what a run without faults shows.
 *
 * The whole daemon (web role, events worker, both portal targets) in a process
 * of its own, with its default settings (debounce, backoff, rates), pushing to
 * the Zendesk and Salesforce stand-ins through a fault proxy each (in a process
 * of its own too): BENCH_CONVERGENCE_EVENTS webhooks (default 200) for
 * BENCH_CONVERGENCE_CUSTOMERS customers (default 20) — Stripe customers,
 * invoices, subscriptions, Zendesk tickets. Run once without faults (the
 * reference: its final portal state, and how long after the last webhook its
 * portals stopped changing), then with BENCH_CONVERGENCE_FAULT_RATE of the
 * calls (default 0.3) answered 429 with Retry-After: 1, 500, 503 (each
 * platform's own error shapes) or a reset socket. The figure: seconds from the
 * last webhook's 2xx until each platform's state equals the reference, read
 * every 100 ms. Goal ≤ 60 s on both targets.
 *
 * Prints one JSON object.
 *
 *   npm run bench:convergence
 */
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { SalesforceStandIn } from '../src/demo/standins/salesforce/index.js';
import type { ZendeskStandIn } from '../src/demo/standins/zendesk/index.js';
import { TEST_SECRETS, testConfig } from '../test/support/daemon.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../test/support/redis.js';
import {
  salesforceFaultBodies,
  ZENDESK_FAULT_BODIES,
  type FaultProxyOptions,
  type ProxiedCall,
} from '../test/reliability/support/fault-proxy.js';
import { startFaultProxyProcess } from '../test/reliability/support/fault-proxy-process.js';
import { salesforcePortal, zendeskPortal } from '../test/reliability/support/portal.js';
import { configOverride, spawnDaemon, stopDaemon } from '../test/reliability/support/processes.js';
import { startSalesforce, startZendesk } from '../test/reliability/support/standins.js';
import { customer, portalTraffic } from '../test/reliability/support/stream.js';
import { pool, WebhookClient } from '../test/reliability/support/wire.js';
import { profiledIfAsked } from './lib/profile.js';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
};
const CUSTOMERS = Math.max(1, Math.round(num('BENCH_CONVERGENCE_CUSTOMERS', 20)));
const EVENTS = Math.max(CUSTOMERS, Math.round(num('BENCH_CONVERGENCE_EVENTS', 200)));
const FAULT_RATE = Math.min(1, num('BENCH_CONVERGENCE_FAULT_RATE', 0.3));
/** Longest wait for the faulty run to converge before it is reported as not converged. */
const GIVE_UP_MS = num('BENCH_CONVERGENCE_GIVE_UP_SECONDS', 600) * 1000;
const SEED = 1717;
const GOAL_SECONDS = 60;
const POLL_MS = 100;
const SF = testConfig().targets.salesforce;
const OBJECTS = [SF.invoice.object, SF.ticket.object];

const zendeskBodies = ZENDESK_FAULT_BODIES;
const salesforceBodies = salesforceFaultBodies({ message: 'Too many requests', errorCode: 'REQUEST_LIMIT' });

interface Snapshot {
  zendesk: ReturnType<typeof zendeskPortal>;
  salesforce: ReturnType<typeof salesforcePortal>;
}
const snapshot = (zd: ZendeskStandIn, sf: SalesforceStandIn): Snapshot => ({
  zendesk: zendeskPortal(zd),
  salesforce: salesforcePortal(sf, OBJECTS),
});

interface RunFigures {
  sendSeconds: number;
  /** Seconds from the last webhook's answer until each platform showed its final (or the reference) state. */
  convergedSeconds: { zendesk: number | null; salesforce: number | null };
  calls: { zendesk: number; salesforce: number };
  faults: { zendesk: Record<string, number>; salesforce: Record<string, number> };
  failedPushJobs: number;
  /** The faulty run: whether the portals, once every queue was idle, still showed the reference. */
  finalMatchesReference: boolean | null;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const faultCounts = (calls: ProxiedCall[]) =>
  calls.reduce<Record<string, number>>((n, c) => ({ ...n, [c.fault ?? 'none']: (n[c.fault ?? 'none'] ?? 0) + 1 }), {});

async function run(
  name: string,
  faults: boolean,
  reference: Snapshot | null,
  giveUpMs = GIVE_UP_MS,
): Promise<{ figures: RunFigures; final: Snapshot }> {
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    const base = Array.from({ length: CUSTOMERS }, (_, n) => customer(n));
    const { sf, customers } = await startSalesforce(base);
    cleanup.push(() => sf.close());
    const zd = await startZendesk(customers);
    cleanup.push(() => zd.close());
    const rate = faults ? FAULT_RATE : 0;
    const kinds: FaultProxyOptions['kinds'] = ['429', '500', '503', 'reset'];
    const zdProxy = await startFaultProxyProcess({
      upstream: zd.origin,
      rate,
      kinds,
      seed: SEED,
      retryAfterSeconds: 1,
      bodies: zendeskBodies,
    });
    const sfProxy = await startFaultProxyProcess({
      upstream: sf.instanceUrl,
      rate,
      kinds,
      seed: SEED + 1,
      retryAfterSeconds: 1,
      bodies: salesforceBodies,
    });
    cleanup.push(
      () => zdProxy.close(),
      () => sfProxy.close(),
    );
    const prefix = uniquePrefix();
    cleanup.push(() => deleteByPrefix(redisUrl(), prefix));
    const daemon = await spawnDaemon(`bench-convergence-${name}`, 'all', {
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      ...TEST_SECRETS,
      PORTAL_TARGET: 'zendesk,salesforce',
      ZENDESK_BASE_URL: `${zdProxy.origin}/api/v2`,
      ZENDESK_EMAIL: zd.credentials.email,
      ZENDESK_API_TOKEN: zd.credentials.token,
      SALESFORCE_INSTANCE_URL: sfProxy.origin,
      SALESFORCE_ACCESS_TOKEN: sf.accessToken,
      // The shipped settings; only the reconciler stays off (its reads would share the faults and the budget).
      PORTAL_SYNC_CONFIG: configOverride(`bench-convergence-${name}`, { reconcile: { everyMs: 0 } }),
    });
    cleanup.push(() => stopDaemon(daemon));
    const client = new WebhookClient(daemon.url, { connections: 8 });
    cleanup.push(() => client.close());
    const started = performance.now();
    const outcomes = await pool(
      portalTraffic(customers, Math.ceil(EVENTS / CUSTOMERS), SEED).slice(0, EVENTS),
      8,
      (w) => client.send(w),
    );
    const lastAck = performance.now();
    const non2xx = outcomes.filter((o) => o.status < 200 || o.status >= 300).length;
    if (non2xx > 0) throw new Error(`${non2xx} webhooks were not acknowledged`);

    const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    cleanup.push(async () => redis.disconnect());
    const queues = ['events', 'push-zendesk', 'push-salesforce'].map(
      (q) => new Queue(q, { connection: redis, prefix }),
    );
    cleanup.push(() => Promise.all(queues.map((q) => q.close())));
    const idle = async () => {
      for (const q of queues) {
        const c = await q.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        if (Object.values(c).some((n) => n > 0)) return false;
      }
      return true;
    };
    // Each platform: when did it last change (no reference), or first equal the reference.
    let last = snapshot(zd, sf);
    const at: { zendesk: number | null; salesforce: number | null } = { zendesk: null, salesforce: null };
    const changedAt = { zendesk: lastAck, salesforce: lastAck };
    for (let quietPolls = 0; performance.now() - lastAck < giveUpMs;) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const now = performance.now();
      const snap = snapshot(zd, sf);
      for (const t of ['zendesk', 'salesforce'] as const) {
        if (!isDeepStrictEqual(snap[t], last[t])) changedAt[t] = now;
        if (reference && at[t] === null && isDeepStrictEqual(snap[t], reference[t])) at[t] = now;
      }
      last = snap;
      if (
        reference
          ? at.zendesk !== null && at.salesforce !== null
          : (quietPolls = (await idle()) ? quietPolls + 1 : 0) >= 5
      )
        break;
    }
    if (!reference) {
      at.zendesk = changedAt.zendesk;
      at.salesforce = changedAt.salesforce;
    } else {
      // Converged means it stays so: once the queues are idle, the portals still show the reference.
      for (let quietPolls = 0, end = performance.now() + 120_000; quietPolls < 5 && performance.now() < end;) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        quietPolls = (await idle()) ? quietPolls + 1 : 0;
      }
      last = snapshot(zd, sf);
    }
    const finalMatchesReference = reference === null ? null : isDeepStrictEqual(last, reference);
    const failedPushJobs = (await queues[1]!.getFailedCount()) + (await queues[2]!.getFailedCount());
    await stopDaemon(daemon);
    const [zdCalls, sfCalls] = await Promise.all([zdProxy.calls(), sfProxy.calls()]);
    const seconds = (t: number | null) => (t === null ? null : round(Math.max(0, t - lastAck) / 1000, 2));
    return {
      final: last,
      figures: {
        sendSeconds: round((lastAck - started) / 1000, 2),
        convergedSeconds: { zendesk: seconds(at.zendesk), salesforce: seconds(at.salesforce) },
        calls: { zendesk: zdCalls.length, salesforce: sfCalls.length },
        faults: { zendesk: faultCounts(zdCalls), salesforce: faultCounts(sfCalls) },
        failedPushJobs,
        finalMatchesReference,
      },
    };
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  }
}

export interface Convergence {
  clean: RunFigures;
  faulty: RunFigures;
  /** Seconds from the last webhook until both portals showed the fault-free run's state (null: not within the give-up time). */
  seconds: number | null;
  /** The same measure without faults (when the portals stopped changing): what the debounce and the pushes take. */
  cleanSeconds: number;
}

/** The fault-free run, then the faulty one against its final state (also run by test/reliability/13-convergence.test.ts). */
export async function measureConvergence(opts: { giveUpMs?: number } = {}): Promise<Convergence> {
  const clean = await run('clean', false, null);
  const faulty = await run('faults', true, clean.final, opts.giveUpMs);
  const worst = [faulty.figures.convergedSeconds.zendesk, faulty.figures.convergedSeconds.salesforce];
  const converged = worst.every((s) => s !== null) && faulty.figures.finalMatchesReference === true;
  const cleanSeconds = Math.max(
    clean.figures.convergedSeconds.zendesk ?? 0,
    clean.figures.convergedSeconds.salesforce ?? 0,
  );
  return {
    clean: clean.figures,
    faulty: faulty.figures,
    seconds: converged ? Math.max(...(worst as number[])) : null,
    cleanSeconds: round(cleanSeconds, 2),
  };
}

async function main(): Promise<void> {
  const loadAtStart = round(loadavg()[0]!, 2);
  const {
    result: { clean, faulty, seconds, cleanSeconds },
    profileTop,
  } = await profiledIfAsked(measureConvergence);
  const out = {
    bench: 'convergence',
    node: process.version,
    machine: { cpus: availableParallelism(), loadAverage1m: { atStart: loadAtStart, atEnd: round(loadavg()[0]!, 2) } },
    customers: CUSTOMERS,
    events: EVENTS,
    faultRate: FAULT_RATE,
    faultKinds: ['429 (Retry-After: 1)', '500', '503', 'reset'],
    settings: 'shipped defaults (config/default.yaml), reconciler off',
    clean,
    faulty,
    convergenceSecondsUnderFaults: seconds,
    /** The same measure without faults: what the debounce and the pushes themselves take. */
    convergenceSecondsWithoutFaults: cleanSeconds,
    goal: { maxSeconds: GOAL_SECONDS, met: seconds !== null && seconds <= GOAL_SECONDS },
    ...(profileTop && { profileTop }),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  setTimeout(() => process.exit(0), 2_000).unref();
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
