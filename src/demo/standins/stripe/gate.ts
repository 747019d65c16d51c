/** The Stripe stand-in's gate in front of /v1: the call log, Request-Id, key auth, read and write rate limits (429), failNext and injected faults. */
import type { NextFunction, Request, Response } from 'express';
import { FaultInjector, FixedWindowRateLimiter, type FaultKind } from '../common.js';
import { STRIPE_STANDIN_API_VERSION } from './state.js';
import { stripeErrors } from './params.js';
import { send } from './http.js';
import type { StripeStore } from './store.js';
import type { StripeCall, StripeFailure, StripeRate, StripeStandInOptions } from './types.js';

function rateOf(rate: StripeRate | 'test' | 'live' | null | undefined): StripeRate {
  if (rate === 'test') return { reads: 25, writes: 25 };
  if (rate === 'live') return { reads: 100, writes: 100 };
  return rate ?? {};
}

export function keyOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (basic?.[1]) return Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0];
  return header;
}

export class StripeGate {
  readonly calls: StripeCall[] = [];
  readonly faults: FaultInjector;
  private readonly armed: { failure: StripeFailure; path?: RegExp }[] = [];
  private readonly hung = new Set<Response>();
  private readLimiter: FixedWindowRateLimiter | undefined;
  private writeLimiter: FixedWindowRateLimiter | undefined;

  constructor(
    opts: StripeStandInOptions,
    private readonly store: StripeStore,
  ) {
    this.faults = new FaultInjector(opts.faults ?? null);
    this.setRate(opts.rate);
  }

  setRate(rate: StripeRate | 'test' | 'live' | null | undefined): void {
    const r = rateOf(rate);
    const now = this.store.now;
    this.readLimiter = r.reads ? new FixedWindowRateLimiter({ max: r.reads, perMs: 1000 }, now) : undefined;
    this.writeLimiter = r.writes ? new FixedWindowRateLimiter({ max: r.writes, perMs: 1000 }, now) : undefined;
  }

  failNext(n: number, failure: StripeFailure, path?: RegExp): void {
    for (let i = 0; i < n; i++) this.armed.push({ failure, ...(path && { path }) });
  }

  /** Closes the sockets of calls left hanging by a 'timeout' fault. */
  releaseHung(): void {
    for (const res of this.hung) res.socket?.destroy();
  }

  private failWith(req: Request, res: Response, failure: StripeFailure | FaultKind): void {
    if (failure === 'reset') return void req.socket.destroy();
    if (failure === 'timeout') {
      this.hung.add(res); // never answered; close() destroys the socket
      res.once('close', () => this.hung.delete(res));
      return;
    }
    if (failure === 'rate_limit') return send(res, 429, stripeErrors.rateLimit());
    if (failure === 'lock_timeout') {
      res.setHeader('Stripe-Should-Retry', 'true');
      return send(res, 429, stripeErrors.lockTimeout());
    }
    send(res, Number(failure), stripeErrors.apiError());
  }

  private logCall(req: Request, res: Response): StripeCall {
    const q = req.originalUrl.indexOf('?');
    const path = q < 0 ? req.originalUrl : req.originalUrl.slice(0, q);
    const requestId = `req_${this.store.randomChars(14)}`;
    const call: StripeCall = {
      method: req.method,
      path,
      query: q < 0 ? '' : req.originalUrl.slice(q + 1),
      status: 0,
      requestId,
      at: this.store.now(),
    };
    this.calls.push(call);
    res.once('finish', () => {
      call.status = res.statusCode;
    });
    res.setHeader('Request-Id', requestId);
    res.setHeader('Stripe-Version', STRIPE_STANDIN_API_VERSION);
    res.setHeader('Cache-Control', 'no-cache, no-store');
    res.locals.requestId = requestId;
    return call;
  }

  // Gatekeeping for /v1: call log, Request-Id, auth, rate limit, failNext, faults; before any body is read.
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const call = this.logCall(req, res);
    const key = keyOf(req.get('authorization'));
    if (!key) return send(res, 401, stripeErrors.noKey());
    if (key !== this.store.secretKey) return send(res, 401, stripeErrors.badKey(key));
    // Stripe-Account names the account a request acts on; an account that is no platform may only name itself
    // (a platform's front, connect.ts, routes the header to the connected account's own stand-in).
    const onBehalf = req.get('stripe-account');
    if (onBehalf !== undefined && onBehalf !== this.store.accountId) return send(res, 403, stripeErrors.notPlatform());

    const write = req.method !== 'GET' && req.method !== 'HEAD';
    const limiter = write ? this.writeLimiter : this.readLimiter;
    if (limiter && !limiter.take().allowed) {
      call.fault = 'rate_limit';
      return this.failWith(req, res, 'rate_limit');
    }
    // Both are drawn on every call, so the fault sequence does not depend on failNext.
    const fault = this.faults.draw();
    const armedAt = this.armed.findIndex((a) => !a.path || a.path.test(call.path));
    if (armedAt >= 0) {
      const [failure] = this.armed.splice(armedAt, 1);
      call.fault = 'failNext';
      return this.failWith(req, res, failure!.failure);
    }
    if (fault) {
      call.fault = fault;
      return this.failWith(req, res, fault);
    }
    next();
  };
}
