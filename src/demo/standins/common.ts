/**
 * Small, platform-neutral pieces shared by the local platform stand-ins in
 * test/fakes: an HTTP server on an ephemeral loopback port, a fixed-window
 * rate limiter, and seeded (reproducible) fault injection. Nothing here knows
 * any platform's wire format; each stand-in renders its own bodies.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface LoopbackServer {
  server: Server;
  /** e.g. http://127.0.0.1:40123 */
  origin: string;
  /** Stops listening and destroys open sockets, including hung ones. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1, port 0 (the OS picks a free port). */
export async function listenOnLoopback(handler: RequestListener): Promise<LoopbackServer> {
  const server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    server,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        // server.close waits for open connections; hung requests would keep it open forever.
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      })),
  };
}

export interface RateWindow {
  max: number;
  perMs: number;
}

/**
 * Most of `times` (ms, any order) inside any window of `perMs`, sliding: what a platform that counts
 * requests on arrival would have counted at its busiest. For checking clients against a limit.
 */
export function busiestWindow(times: readonly number[], perMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= perMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Requests left in the current window after this one. */
  remaining: number;
  /** Milliseconds until the window resets. */
  resetInMs: number;
}

/** At most `max` requests per `perMs` window; the window starts with its first request. */
export class FixedWindowRateLimiter {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    readonly rate: RateWindow,
    private readonly now: () => number = Date.now,
  ) {
    if (!(rate.max > 0) || !(rate.perMs > 0))
      throw new Error(`rate needs max > 0 and perMs > 0, got ${JSON.stringify(rate)}`);
  }

  /** Counts one request if the window has room; a refused request is not counted. */
  take(): RateDecision {
    return this.decide(true);
  }

  /** The current state, without counting a request. */
  peek(): RateDecision {
    return this.decide(false);
  }

  private decide(count: boolean): RateDecision {
    const now = this.now();
    if (now - this.windowStart >= this.rate.perMs) {
      this.windowStart = now;
      this.used = 0;
    }
    const allowed = this.used < this.rate.max;
    if (allowed && count) this.used += 1;
    return {
      allowed,
      limit: this.rate.max,
      remaining: Math.max(0, this.rate.max - this.used),
      resetInMs: Math.max(0, this.windowStart + this.rate.perMs - now),
    };
  }
}

/** mulberry32: a tiny seeded PRNG, so fault patterns repeat run after run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** '500'/'503': that status; 'reset': the socket is destroyed; 'timeout': no answer, ever. */
export type FaultKind = '500' | '503' | 'reset' | 'timeout';

export interface FaultOptions {
  /** Fraction of calls that fail, 0..1. */
  rate: number;
  kinds: FaultKind[];
  seed?: number;
}

/**
 * Decides, call by call, whether to inject a fault. Every draw consumes the
 * same amount of randomness whatever it decides, so the n-th call of a run
 * gets the same verdict for the same seed.
 */
export class FaultInjector {
  private random: () => number = () => 1;
  private options: FaultOptions | null = null;

  constructor(options?: FaultOptions | null) {
    this.set(options ?? null);
  }

  /** Replaces the fault settings and restarts the sequence from the seed. */
  set(options: FaultOptions | null): void {
    if (options && (!(options.rate >= 0 && options.rate <= 1) || options.kinds.length === 0)) {
      throw new Error(`faults need 0 <= rate <= 1 and at least one kind, got ${JSON.stringify(options)}`);
    }
    this.options = options;
    this.random = seededRandom(options?.seed ?? 1);
  }

  draw(): FaultKind | null {
    if (!this.options) return null;
    const hit = this.random();
    const pick = this.random();
    const { rate, kinds } = this.options;
    return hit < rate ? (kinds[Math.floor(pick * kinds.length)] ?? null) : null;
  }
}

/**
 * failNext(n, status, body, match): the next n matching calls answer `status` instead of being handled. A
 * failure armed with `match` is taken only by a call whose line (`METHOD /path?query`) it matches.
 */
export class ArmedFailures<B> {
  private queue: { status: number; body: B; match?: RegExp | undefined }[] = [];

  arm(n: number, status: number, body: B, match?: RegExp): void {
    for (let i = 0; i < n; i++) this.queue.push({ status, body, match });
  }

  take(line = ''): { status: number; body: B } | undefined {
    const at = this.queue.findIndex((a) => !a.match || a.match.test(line));
    return at < 0 ? undefined : this.queue.splice(at, 1)[0];
  }

  get pending(): number {
    return this.queue.length;
  }
}
