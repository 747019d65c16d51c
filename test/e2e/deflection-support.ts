/**
 * For the deflection end-to-end tests: the daemon and its worker on real
 * Redis with an injectable clock (so a 24-hour window passes by moving it),
 * a worker that can be stopped and started again mid-window, and portal
 * activity and Zendesk tickets sent over HTTP, signed as their senders do.
 */
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createDeflectionData, type DeflectionStore } from '../../src/sync/deflection/store.js';
import { signHmac } from '../../src/webhooks/hmac.js';
import { startWorker, type RunningWorker, type TargetFactory } from '../../src/worker-role.js';
import { startTestDaemon, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { sendZendesk } from '../support/e2e.js';
import { post } from '../support/http.js';

export interface DeflectionPipeline {
  daemon: TestDaemon;
  worker: RunningWorker;
  data: DeflectionStore;
  /** Until the events queue (and, with `pushes`, the push queues) have nothing waiting, delayed or active. */
  drain(opts?: { pushes?: boolean }): Promise<void>;
  /** Stops the worker; `startWorker()` starts a new one on the same Redis, as a redeploy would. */
  stopWorker(): Promise<void>;
  startWorker(): Promise<RunningWorker>;
  stop(): Promise<void>;
}

export interface DeflectionPipelineOptions {
  env?: Record<string, string>;
  tweak?: (c: Config) => void;
  targets?: TargetFactory;
  now?: () => number;
}

export async function startDeflectionPipeline(opts: DeflectionPipelineOptions = {}): Promise<DeflectionPipeline> {
  const daemon = await startTestDaemon(opts.env ?? {}, opts.tweak);
  let launches = 0;
  const launch = () =>
    startWorker(daemon.config, createLogger('silent'), {
      concurrency: 4,
      // Metrics register once per registry: a restarted worker (a new process in production) goes without.
      ...(launches++ === 0 ? { registry: daemon.metrics.registry } : {}),
      ...(opts.targets ? { targets: opts.targets } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      refetch: async () => null,
    });
  let worker: RunningWorker | null = await launch();
  const empty = async (
    q: {
      getJobCounts: (...s: Array<'waiting' | 'delayed' | 'active' | 'prioritized'>) => Promise<Record<string, number>>;
    },
    delayed: boolean,
  ) => {
    const states = delayed
      ? (['waiting', 'delayed', 'active', 'prioritized'] as const)
      : (['waiting', 'active', 'prioritized'] as const);
    return Object.values(await q.getJobCounts(...states)).every((n) => n === 0);
  };
  const p: DeflectionPipeline = {
    daemon,
    get worker() {
      if (!worker) throw new Error('the worker is stopped');
      return worker;
    },
    data: createDeflectionData(daemon.redis, daemon.prefix),
    async drain({ pushes = false } = {}) {
      const end = Date.now() + 20_000;
      const queues = [daemon.queue, ...(pushes ? [...p.worker.planner.queues.values()] : [])];
      for (const q of queues) {
        while (!(await empty(q, true))) {
          if (Date.now() > end) throw new Error('queues did not drain');
          await new Promise((r) => setTimeout(r, 25));
        }
      }
    },
    async stopWorker() {
      await worker?.close();
      worker = null;
    },
    async startWorker() {
      worker = await launch();
      return worker;
    },
    async stop() {
      await worker?.close();
      await daemon.stop();
    },
  };
  return p;
}

export interface PortalActivity {
  id: string;
  type: string;
  occurred_at: string;
  contact: { email?: string; zendesk_user_id?: string | number; salesforce_contact_id?: string };
  [field: string]: unknown;
}

/** POST /events/portal, signed the way the server-side signer of docs/deflection.md signs; returns the JSON answer. */
export async function sendActivity(
  daemon: TestDaemon,
  ...events: PortalActivity[]
): Promise<{ accepted: number; duplicate: number }> {
  const body = JSON.stringify({ events });
  const res = await post(daemon, '/events/portal', body, {
    'x-portal-sync-signature': signHmac(body, TEST_SECRETS.PORTAL_EVENTS_SECRET),
  });
  if (res.status !== 200) throw new Error(`portal events answered ${res.status}: ${res.text}`);
  return res.json();
}

/** A ticket as the portal-sync Zendesk trigger posts it, requested by `email`, in no organization. */
export async function sendTicket(
  daemon: TestDaemon,
  t: {
    id: string;
    email: string;
    createdAt: string;
    subject: string;
    tags?: string;
    formId?: string;
    brandId?: string;
  },
): Promise<void> {
  await sendZendesk(daemon, 'trigger.ticket.json', (body) => {
    Object.assign(body.ticket, {
      id: t.id,
      subject: t.subject,
      tags: t.tags ?? '',
      form_id: t.formId ?? '',
      requester_id: String(8000000001000 + Number(t.id)),
      requester_email: t.email,
      organization_id: '',
      organization_external_id: '',
      brand_id: t.brandId ?? '',
      created_at: t.createdAt,
      updated_at: t.createdAt,
    });
  });
}

export const iso = (ms: number): string => new Date(ms).toISOString();
