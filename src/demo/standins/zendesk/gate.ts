/** The Zendesk stand-in's gate: the `.json` suffix, the call log, basic token auth (or a help center session on end-user paths), rate-limit headers and 429, failNext and injected faults. */
import type { NextFunction, Request, Response } from 'express';
import { ArmedFailures, FaultInjector, FixedWindowRateLimiter, type RateDecision } from '../common.js';
import { STANDIN_USER_COOKIE } from './help-center.js';
import { END_USER_PATHS, UNENFORCED_RATE, ZENDESK_TOO_MANY_REQUESTS, send, zendeskErrors } from './render.js';
import type { ZendeskStore } from './store.js';
import type { ZendeskCall, ZendeskStandInOptions, ZendeskUser } from './types.js';

function setRateHeaders(res: Response, d: RateDecision): void {
  const reset = String(Math.ceil(d.resetInMs / 1000));
  res.setHeader('X-Rate-Limit', String(d.limit));
  res.setHeader('X-Rate-Limit-Remaining', String(d.remaining));
  res.setHeader('ratelimit-limit', String(d.limit));
  res.setHeader('ratelimit-remaining', String(d.remaining));
  res.setHeader('ratelimit-reset', reset);
}

export class ZendeskGate {
  readonly calls: ZendeskCall[] = [];
  readonly faults: FaultInjector;
  readonly failures = new ArmedFailures<unknown>();
  private readonly enforced: FixedWindowRateLimiter | undefined;
  private readonly reported: FixedWindowRateLimiter;
  private readonly hung = new Set<Response>();

  constructor(
    private readonly opts: ZendeskStandInOptions,
    private readonly store: ZendeskStore,
  ) {
    this.enforced = opts.rate ? new FixedWindowRateLimiter(opts.rate, store.now) : undefined;
    this.reported = this.enforced ?? new FixedWindowRateLimiter(UNENFORCED_RATE, store.now);
    this.faults = new FaultInjector(opts.faults ?? null);
  }

  private authorized(header: string | undefined): boolean {
    const match = /^Basic\s+(.+)$/i.exec(header ?? '');
    if (!match?.[1]) return false;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const sep = decoded.indexOf('/token:');
    if (sep <= 0) return false;
    const email = decoded.slice(0, sep);
    const token = decoded.slice(sep + '/token:'.length);
    const auth = this.opts.auth;
    return auth ? email === auth.email && token === auth.token : email.includes('@') && token.length > 0;
  }

  /** The signed-in end user a help center session cookie names, if any. */
  sessionUser = (cookie: string | undefined): ZendeskUser | undefined => {
    const value = new RegExp(`(?:^|;\\s*)${STANDIN_USER_COOKIE}=(\\d+)(?:;|$)`).exec(cookie ?? '')?.[1];
    return value === undefined ? undefined : this.store.state.users.get(Number(value));
  };

  releaseHung(): void {
    for (const res of this.hung) res.socket?.destroy();
  }

  /** Strips `.json`, keeps the query in res.locals.query, and logs the call. */
  private logCall(req: Request, res: Response): { call: ZendeskCall; path: string } {
    const q = req.url.indexOf('?');
    const rawPath = q < 0 ? req.url : req.url.slice(0, q);
    const query = q < 0 ? '' : req.url.slice(q + 1);
    const path = rawPath.replace(/\.json$/, '');
    req.url = query ? `${path}?${query}` : path;
    res.locals.query = new URLSearchParams(query);
    const call: ZendeskCall = {
      method: req.method,
      path: path.replace(/^\/api\/v2(?=\/|$)/, '') || '/',
      query,
      status: 0,
      at: this.store.now(),
    };
    this.calls.push(call);
    res.once('finish', () => {
      call.status = res.statusCode;
    });
    return { call, path };
  }

  /** failNext (writes only) or an injected fault; true when the call was answered (or dropped) here. */
  private failed(req: Request, res: Response, call: ZendeskCall): boolean {
    // Both are drawn on every call, so the fault sequence does not depend on failNext.
    const fault = this.faults.draw();
    const line = `${req.method} ${call.path}${call.query ? `?${call.query}` : ''}`;
    const armed = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method) ? this.failures.take(line) : undefined;
    if (armed) {
      call.fault = 'failNext';
      if (armed.status === 429) res.setHeader('Retry-After', '1');
      send(res, armed.status, armed.body);
      return true;
    }
    if (!fault) return false;
    call.fault = fault;
    if (fault === '500') send(res, 500, { error: 'InternalError', description: 'Internal Server Error' });
    else if (fault === '503') send(res, 503, { error: 'ServiceUnavailable', description: 'Service Unavailable' });
    else if (fault === 'reset') req.socket.destroy();
    else {
      this.hung.add(res); // 'timeout': never answered; close() destroys the socket
      res.once('close', () => this.hung.delete(res));
    }
    return true;
  }

  // Gatekeeping: suffix, call log, auth, rate limit, failNext, faults; before any body is read.
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const { call, path } = this.logCall(req, res);
    if (!path.startsWith('/api/v2/')) return send(res, 404, zendeskErrors.invalidEndpoint());

    if (!this.authorized(req.get('authorization'))) {
      const endUser = this.sessionUser(req.get('cookie'));
      if (endUser === undefined || !END_USER_PATHS.some((p) => req.method === 'GET' && p.test(path))) {
        setRateHeaders(res, (this.enforced ?? this.reported).peek());
        return send(res, 401, zendeskErrors.unauthenticated());
      }
      res.locals.endUser = endUser;
    }
    const decision = this.enforced ? this.enforced.take() : { ...this.reported.take(), allowed: true };
    setRateHeaders(res, decision);
    if (!decision.allowed) {
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(decision.resetInMs / 1000))));
      return send(res, 429, ZENDESK_TOO_MANY_REQUESTS);
    }
    if (this.failed(req, res, call)) return;
    next();
  };
}
