/**
 * A faulty network in front of a platform stand-in: a share of calls (seeded,
 * so a run repeats) is answered 429 with Retry-After, 500 or 503 in the
 * platform's own error shape, has its socket reset, or is never answered (a
 * timeout on the caller's side); the rest is forwarded unchanged. Every call
 * is recorded as it arrives — method, path, body, arrival time, outcome — so
 * that tests can check call rates and what each call was addressed to.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from '../../../src/demo/standins/common.js';
import { ZENDESK_TOO_MANY_REQUESTS } from '../../../src/demo/standins/zendesk/index.js';

export type ProxyFault = '429' | '500' | '503' | 'reset' | 'timeout';

export interface ProxiedCall {
  method: string;
  path: string;
  body: string;
  /** Arrival time (ms). */
  at: number;
  /** The status answered (0: reset, or never answered). */
  status: number;
  fault?: ProxyFault;
}

export interface FaultProxyOptions {
  /** Where calls go when no fault is drawn, e.g. http://127.0.0.1:40123 */
  upstream: string;
  /** 0..1 of calls that get a fault. */
  rate: number;
  kinds: ProxyFault[];
  seed: number;
  /** At most this many faults of a kind (hung calls hold a worker until the client's deadline); later draws of it answer 503. */
  caps?: Partial<Record<ProxyFault, number>>;
  /** Retry-After of the injected 429s, in seconds. */
  retryAfterSeconds?: number;
  /** The platform's error bodies by status. */
  bodies?: Partial<Record<'429' | '500' | '503', { type: string; body: string }>>;
  /** Forwarded calls are held this long first (a slow platform). */
  delayMs?: number;
  /** Which calls may get faults (default: all). */
  eligible?: (method: string, path: string) => boolean;
}

export interface FaultProxy {
  origin: string;
  calls: ProxiedCall[];
  setRate(rate: number): void;
  close(): Promise<void>;
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const random = seededRandom(opts.seed);
  let rate = opts.rate;
  const drawn = new Map<ProxyFault, number>();
  const calls: ProxiedCall[] = [];
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();
  const upstream = new URL(opts.upstream);

  const draw = (method: string, path: string): ProxyFault | undefined => {
    // Two draws per call whatever is decided, so the n-th call's verdict depends on the seed only.
    const hit = random();
    const pick = random();
    if (!(opts.eligible?.(method, path) ?? true) || hit >= rate) return undefined;
    const kind = opts.kinds[Math.floor(pick * opts.kinds.length)]!;
    if ((drawn.get(kind) ?? 0) >= (opts.caps?.[kind] ?? Infinity)) return '503';
    drawn.set(kind, (drawn.get(kind) ?? 0) + 1);
    return kind;
  };

  const answer = (res: ServerResponse, status: '429' | '500' | '503') => {
    const b = opts.bodies?.[status] ?? {
      type: 'application/json',
      body: JSON.stringify({ error: `injected ${status}` }),
    };
    if (status === '429') res.setHeader('Retry-After', String(opts.retryAfterSeconds ?? 1));
    res.writeHead(Number(status), { 'content-type': b.type });
    res.end(b.body);
  };

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer, call: ProxiedCall) => {
    const up = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (upRes) => {
        call.status = upRes.statusCode ?? 0;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      call.status = 0;
      req.socket.destroy();
    });
    up.end(body);
  };

  const server = createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const [path = ''] = (req.url ?? '').split('?');
      const call: ProxiedCall = {
        method: req.method ?? '',
        path: req.url ?? path,
        body: body.toString('utf8'),
        at,
        status: 0,
      };
      calls.push(call);
      const fault = draw(call.method, path);
      if (fault) call.fault = fault;
      if (fault === 'reset') return void req.socket.destroy();
      if (fault === 'timeout') {
        hung.add(res);
        res.once('close', () => hung.delete(res));
        return;
      }
      if (fault) {
        call.status = Number(fault);
        return answer(res, fault);
      }
      if (opts.delayMs) setTimeout(() => forward(req, res, body, call), opts.delayMs);
      else forward(req, res, body, call);
    });
  });
  server.keepAliveTimeout = 5_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    calls,
    setRate: (r) => void (rate = r),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** Most calls that arrived within any window of `perMs` (sliding, by arrival time). */
export { busiestWindow } from '../../../src/demo/standins/common.js';

/** What Zendesk answers with each injected status (its 429 is plain text), as its API does. */
export const ZENDESK_FAULT_BODIES: FaultProxyOptions['bodies'] = {
  '429': { type: 'text/plain', body: ZENDESK_TOO_MANY_REQUESTS },
  '500': {
    type: 'application/json',
    body: JSON.stringify({ error: 'InternalError', description: 'Internal Server Error' }),
  },
  '503': {
    type: 'application/json',
    body: JSON.stringify({ error: 'ServiceUnavailable', description: 'Service Unavailable' }),
  },
};

/** What Salesforce answers with each injected status; the 429's error code (and with it how long a push pauses) is the caller's. */
export function salesforceFaultBodies(tooManyRequests: {
  message: string;
  errorCode: string;
}): FaultProxyOptions['bodies'] {
  return {
    '429': { type: 'application/json', body: JSON.stringify([tooManyRequests]) },
    '500': {
      type: 'application/json',
      body: JSON.stringify([
        {
          message: 'An unexpected error occurred. Please include this ErrorId if you contact support: 1234-5678 (-1)',
          errorCode: 'UNKNOWN_EXCEPTION',
        },
      ]),
    },
    '503': {
      type: 'application/json',
      body: JSON.stringify([{ message: 'Server unavailable', errorCode: 'SERVER_UNAVAILABLE' }]),
    },
  };
}
