/**
 * webhookFastPath on a real HTTP server, with a receiver that answers what it was given and a `next` that
 * records what was handed on: which requests the fast path serves itself, and what a receiver sees of them.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { RequestHandler } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookFastPath, type BodyError } from '../../src/webhooks/fast-path.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A receiver that answers with the body's length and a header it read, through the express-like calls. */
const echo: RequestHandler = (req, res) => {
  res.status(201).json({ bytes: (req.body as Buffer).length, signature: req.get('Stripe-Signature') ?? null });
};

async function serve(handler: RequestHandler = echo) {
  const handedOn: string[] = [];
  const errors: unknown[] = [];
  const listener = webhookFastPath(
    {
      routes: new Map([['/webhooks/stripe', handler]]),
      bodyLimitBytes: 64,
      accessLog: (_req, res) => res.setHeader('X-Request-Id', 'logged'),
      answerError: (err, _path, res) => {
        errors.push(err);
        res.status((err as BodyError).status ?? 500).json({ error: 'from answerError' });
      },
    },
    ((req, res) => {
      handedOn.push(`${req.method} ${req.url}`);
      res.statusCode = 404;
      res.end('express');
    }) as RequestListener,
  );
  server = createServer(listener);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, handedOn, errors };
}

describe('webhookFastPath', () => {
  it('serves a POST of its routes itself, in any case and with a trailing slash or a query, with the body and headers', async () => {
    const { url, handedOn } = await serve();
    for (const path of ['/webhooks/stripe', '/WEBHOOKS/stripe/', '/webhooks/stripe?x=1']) {
      const res = await fetch(url + path, { method: 'POST', body: 'hello', headers: { 'stripe-signature': 't=1' } });
      expect(res.status, path).toBe(201);
      expect(res.headers.get('x-request-id')).toBe('logged');
      expect(await res.json()).toEqual({ bytes: 5, signature: 't=1' });
    }
    expect(handedOn).toEqual([]);
  });

  it('hands on other methods, other paths and compressed bodies', async () => {
    const { url, handedOn } = await serve();
    await fetch(`${url}/webhooks/stripe`);
    await fetch(`${url}/webhooks/salesforce`, { method: 'POST', body: 'x' });
    await fetch(`${url}/webhooks/stripe`, {
      method: 'POST',
      body: new Uint8Array(gzipSync('x')),
      headers: { 'content-encoding': 'gzip' },
    });
    expect(handedOn).toEqual(['GET /webhooks/stripe', 'POST /webhooks/salesforce', 'POST /webhooks/stripe']);
  });

  it('refuses a body over the limit as raw-body would (413, entity.too.large), declared or not', async () => {
    const { url, errors } = await serve();
    const declared = await fetch(`${url}/webhooks/stripe`, { method: 'POST', body: 'x'.repeat(65) });
    expect(declared.status).toBe(413);
    const streamed = await fetch(`${url}/webhooks/stripe`, {
      method: 'POST',
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('y'.repeat(10)));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(errors).toMatchObject([{ type: 'entity.too.large' }, { type: 'entity.too.large' }]);
  });

  it('gives an error the receiver passes on, or throws, to answerError', async () => {
    const failing: RequestHandler = (_req, _res, next) => next(new Error('boom'));
    const { url, errors } = await serve(failing);
    const res = await fetch(`${url}/webhooks/stripe`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'from answerError' });
    expect(errors).toHaveLength(1);
  });
});
