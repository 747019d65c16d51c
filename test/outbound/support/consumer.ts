/**
 * A webhook consumer as a subscriber would write one: a plain node http
 * server that verifies every request with the `standardwebhooks` package on
 * the raw body, answers, and records what it accepted. Its answers can be
 * scripted (fail, be slow, be down) to play a subscriber having a bad day.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  type: string;
  customerId: string | null;
  version: number | null;
  body: any;
  headers: Record<string, string>;
  raw: string;
}

/** What the consumer answers to a request it verified; `delayMs` before answering. */
export type Behaviour = (n: number) => { status: number; delayMs?: number; headers?: Record<string, string> };

export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface Consumer {
  url: string;
  port: number;
  /** Verified requests answered 2xx, in arrival order. */
  received: Received[];
  /** Every verified request, whatever the answer. */
  requests: number;
  /** Verification failures (the package's messages). */
  rejected: string[];
  behave(b: Behaviour): void;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      .on('error', reject);
  });

export async function startConsumer(secret: string, opts: { port?: number } = {}): Promise<Consumer> {
  const webhook = new Webhook(secret);
  let behaviour: Behaviour = () => ({ status: 204 });
  const consumer: Consumer = {
    url: '',
    port: 0,
    received: [],
    requests: 0,
    rejected: [],
    behave: (b) => void (behaviour = b),
    close: () => Promise.resolve(),
  };
  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    let body: any;
    try {
      body = webhook.verify(raw, headers);
    } catch (err) {
      consumer.rejected.push((err as Error).message);
      res.writeHead(401).end();
      return;
    }
    const answer = behaviour(consumer.requests++);
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    if (answer.status >= 200 && answer.status < 300) {
      consumer.received.push({
        id: headers['webhook-id']!,
        type: body.type,
        customerId: body.data?.customer?.id ?? null,
        version: body.data?.customer?.version ?? null,
        body,
        headers,
        raw,
      });
    }
    if (!res.destroyed)
      res.writeHead(answer.status, answer.headers).end(answer.status >= 400 ? 'consumer says no' : '');
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  consumer.port = port;
  consumer.url = `http://127.0.0.1:${port}/hooks`;
  consumer.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return consumer;
}
