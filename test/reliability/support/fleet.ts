/**
 * Several daemon processes behind one "load balancer", and senders that behave like the providers: a
 * steady rate of signed webhooks spread round-robin over the web processes, each delivery retried on
 * 5xx / no answer (honouring Retry-After, capped) and, like a load balancer routing around a dead
 * instance, sent to the next web process on retry. Every attempt is kept with its time, so a scenario
 * can tell when service stopped and came back, and when each event was acknowledged.
 */
import { Agent, request } from 'undici';
import { spawnDaemon, stopDaemon, type DaemonProcess } from './processes.js';
import { signWire, type Wire } from './wire.js';

export interface Attempt {
  /** When it was sent. */
  sentAt: number;
  /** When the answer (or the failure) came. */
  at: number;
  status: number;
}

export interface Delivery {
  wire: Wire;
  attempts: Attempt[];
  /** The final status (2xx once acknowledged; anything else: given up). */
  status: number;
  /** When it was acknowledged (2xx), else null. */
  ackAt: number | null;
}

export type Role = 'web' | 'worker';

/** The processes of one deployment: web and worker roles, each replaceable (a kill, a rolling restart). */
export class Fleet {
  readonly webs: DaemonProcess[] = [];
  readonly workers: DaemonProcess[] = [];
  /** Every process ever started, for the final cleanup. */
  private readonly started: DaemonProcess[] = [];
  private n = 0;

  constructor(
    private readonly name: string,
    private readonly env: Record<string, string>,
  ) {}

  async start(webs: number, workers: number): Promise<void> {
    const w = await Promise.all(Array.from({ length: webs }, () => this.spawn('web')));
    const k = await Promise.all(Array.from({ length: workers }, () => this.spawn('worker')));
    this.webs.push(...w);
    this.workers.push(...k);
  }

  private async spawn(role: Role): Promise<DaemonProcess> {
    const d = await spawnDaemon(`${this.name}-${role}-${this.n++}`, role, this.env, 60_000);
    this.started.push(d);
    return d;
  }

  /** Stops (SIGTERM: graceful) or kills (SIGKILL) the process at `index` of `role`, and puts a new one in its place. */
  async replace(
    role: Role,
    index: number,
    signal: 'SIGTERM' | 'SIGKILL',
  ): Promise<{ stoppedAt: number; readyAt: number }> {
    const list = role === 'web' ? this.webs : this.workers;
    const old = list[index]!;
    const stoppedAt = Date.now();
    if (signal === 'SIGKILL') {
      old.kill('SIGKILL');
      await old.exited;
    } else await stopDaemon(old);
    list[index] = await this.spawn(role);
    return { stoppedAt, readyAt: Date.now() };
  }

  /** The processes that ran from the start and are still alive (a restart would have replaced them). */
  alive(): DaemonProcess[] {
    return [...this.webs, ...this.workers].filter((d) => d.child.exitCode === null && d.child.signalCode === null);
  }

  async stop(): Promise<void> {
    await Promise.all(this.started.map((d) => stopDaemon(d, 10_000)));
  }
}

const retryable = (status: number) => status === 0 || status === 429 || status >= 500;

/** Provider-like senders over the fleet's web processes. */
export class Senders {
  readonly agent = new Agent({
    connections: 64,
    pipelining: 1,
    keepAliveTimeout: 4_000,
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });

  constructor(
    private readonly fleet: Fleet,
    private readonly retry = { baseMs: 100, capMs: 2_000, deadlineMs: 120_000 },
  ) {}

  private async once(origin: string, w: Wire): Promise<number> {
    const req = signWire(w);
    try {
      const res = await request(`${origin}${req.path}`, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
        dispatcher: this.agent,
      });
      await res.body.text();
      return res.statusCode;
    } catch {
      return 0;
    }
  }

  /** Delivery `i`: first to web i mod n, each retry to the next web process. */
  async deliver(w: Wire, i: number): Promise<Delivery> {
    const started = Date.now();
    const d: Delivery = { wire: w, attempts: [], status: 0, ackAt: null };
    for (let attempt = 0; ; attempt++) {
      const webs = this.fleet.webs;
      const sentAt = Date.now();
      const status = await this.once(webs[(i + attempt) % webs.length]!.url, w);
      const at = Date.now();
      d.attempts.push({ sentAt, at, status });
      d.status = status;
      if (status >= 200 && status < 300) {
        d.ackAt = at;
        return d;
      }
      if (!retryable(status) || at - started > this.retry.deadlineMs) return d;
      const backoff =
        Math.min(this.retry.capMs, this.retry.baseMs * 2 ** Math.min(attempt, 16)) * (0.5 + Math.random() / 2);
      await new Promise((r) => setTimeout(r, backoff));
    }
  }

  /**
   * Sends every wire at `perSecond` (wire i is due at start + i/perSecond; a lane stuck in retries lets the
   * others go on), at most `lanes` deliveries at once. `onDue(i)` runs as wire i becomes due (to time faults).
   */
  async stream(
    wires: readonly Wire[],
    perSecond: number,
    lanes: number,
    onDue: (i: number) => void = () => undefined,
  ): Promise<Delivery[]> {
    const start = Date.now();
    const out = new Array<Delivery>(wires.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < wires.length) {
          const i = next++;
          const due = start + (i * 1000) / perSecond;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
          onDue(i);
          out[i] = await this.deliver(wires[i]!, i);
        }
      }),
    );
    return out;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/**
 * The time without service around `faultAt`: from the first answer after it that was not a 2xx to the first
 * 2xx of an attempt sent after that answer (an answer already on its way does not count as service back);
 * null when nothing was refused.
 */
export function outage(
  deliveries: readonly Delivery[],
  faultAt: number,
): { firstRefusedAt: number; firstAckAfterAt: number; ms: number } | null {
  const attempts = deliveries.flatMap((d) => d.attempts).sort((a, b) => a.at - b.at);
  const refused = attempts.find((a) => a.at >= faultAt && !(a.status >= 200 && a.status < 300));
  if (!refused) return null;
  const back = attempts.find((a) => a.sentAt > refused.at && a.status >= 200 && a.status < 300);
  if (!back) return null;
  return { firstRefusedAt: refused.at, firstAckAfterAt: back.at, ms: back.at - refused.at };
}

/** The p-th percentile (0–100) of `values`, nearest rank; null for none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
