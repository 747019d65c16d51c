/**
 * A local stand-in for a Stripe Connect platform: the platform's own account and its connected accounts,
 * each a full Stripe stand-in (index.ts) with its own objects, behind ONE API origin and the platform's key,
 * as Stripe serves them. Point the real stripe SDK at `baseUrl` with the platform's key.
 *
 * What it keeps faithful, because the sync depends on it:
 * - `Stripe-Account: acct_…` routes a request to that connected account's objects (equal object ids in two
 *   accounts are two objects); a request without it is the platform's own; an id the platform has no
 *   connection to is refused 403 (`account_invalid`), as Stripe refuses it;
 * - `GET /v1/accounts` lists the connected accounts newest first, paged like every Stripe list (`limit`
 *   1..100, `starting_after` / `ending_before`, `has_more`), unknown parameters refused; `GET /v1/accounts/:id`;
 *   `GET /v1/account` is the platform's own account;
 * - connected accounts' events carry `account` and are POSTed to the platform's Connect endpoint, signed
 *   with that endpoint's secret; the platform's own events go to its account endpoint, without `account`.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { listenOnLoopback } from '../common.js';
import { renderAccount } from './render.js';
import { stripeErrors } from './params.js';
import { send } from './http.js';
import { keyOf } from './gate.js';
import { startStripeStandIn } from './index.js';
import type { StripeStandIn, StripeStandInOptions } from './types.js';

export interface StripeConnectStandInOptions {
  /** The platform's own account: its key is the one key of the whole stand-in; its webhook options are its account endpoint's. */
  platform?: Omit<StripeStandInOptions, 'connected'>;
  /** The platform's Connect endpoint: events of every connected account are POSTed here. */
  connectWebhookUrl?: string;
  connectWebhookSecret?: string | string[];
  /** Connected accounts present at start (more with addConnectedAccount). */
  connected?: string[];
}

export interface StripeConnectStandIn {
  baseUrl: string;
  host: string;
  port: number;
  /** The platform's key: every request carries it. */
  secretKey: string;
  platform: StripeStandIn;
  /** Each connected account's own stand-in (its objects, its events), by account id. */
  accounts: Map<string, StripeStandIn>;
  /** Every API call that reached the front, with the account it acted on (null: the platform). */
  calls: Array<{ method: string; path: string; query: string; stripeAccount: string | null; status: number }>;
  env: { STRIPE_API_HOST: string; STRIPE_API_PORT: string; STRIPE_API_PROTOCOL: 'http' };
  addConnectedAccount(id: string): Promise<StripeStandIn>;
  flushWebhooks(): Promise<void>;
  close(): Promise<void>;
}

const PAGING = ['limit', 'starting_after', 'ending_before', 'created', 'expand'];

/** What the front's handlers share. */
interface Front {
  secretKey: string;
  platform: StripeStandIn;
  accounts: Map<string, StripeStandIn>;
  /** Connected accounts, oldest first, with when they were connected (`created`, unix seconds). */
  order: Array<{ id: string; created: number }>;
  calls: StripeConnectStandIn['calls'];
  /** The platform's own id, known once listening. */
  platformAccountId: string | null;
}

/** The call log, the platform's key, and a Stripe-Account the platform is connected to (or its own). */
const gate = (front: Front) => (req: Request, res: Response, next: NextFunction) => {
  const q = req.originalUrl.indexOf('?');
  const call = {
    method: req.method,
    path: q < 0 ? req.originalUrl : req.originalUrl.slice(0, q),
    query: q < 0 ? '' : req.originalUrl.slice(q + 1),
    stripeAccount: req.get('stripe-account') ?? null,
    status: 0,
  };
  front.calls.push(call);
  res.once('finish', () => {
    call.status = res.statusCode;
  });
  const key = keyOf(req.get('authorization'));
  if (!key) return send(res, 401, stripeErrors.noKey());
  if (key !== front.secretKey) return send(res, 401, stripeErrors.badKey(key));
  const onBehalf = req.get('stripe-account');
  if (onBehalf !== undefined && onBehalf !== front.platformAccountId && !front.accounts.has(onBehalf))
    return send(res, 403, stripeErrors.noAccess(key, onBehalf));
  next();
};

/** One page of the connected accounts, newest first, or the 400 of a cursor naming none of them. */
function accountsPage(front: Front, query: Record<string, unknown>, limit: number): unknown {
  const newestFirst = [...front.order].reverse();
  const cursorAt = (name: 'starting_after' | 'ending_before'): number | undefined => {
    const id = query[name];
    if (id === undefined || id === '') return undefined;
    const at = newestFirst.findIndex((a) => a.id === id);
    if (at < 0) throw Object.assign(new Error('cursor'), { body: stripeErrors.missing('account', String(id), name) });
    return at;
  };
  const after = cursorAt('starting_after');
  const before = cursorAt('ending_before');
  const from = after !== undefined ? after + 1 : before !== undefined ? Math.max(0, before - limit) : 0;
  const to = before !== undefined ? before : from + limit;
  const page = newestFirst.slice(from, Math.min(to, from + limit));
  const hasMore = before !== undefined ? from > 0 : from + page.length < newestFirst.length;
  return {
    object: 'list',
    data: page.map((a) => renderAccount(a.id, a.created)),
    has_more: hasMore,
    url: '/v1/accounts',
  };
}

/** GET /v1/accounts: the platform's list of its connected accounts (a connected account has none of its own). */
const listAccounts = (front: Front) => (req: Request, res: Response) => {
  if (req.get('stripe-account') !== undefined && req.get('stripe-account') !== front.platformAccountId)
    return send(res, 200, { object: 'list', data: [], has_more: false, url: '/v1/accounts' });
  const query = req.query as Record<string, unknown>;
  const unknown = Object.keys(query).find((k) => !PAGING.includes(k));
  if (unknown) return send(res, 400, stripeErrors.invalid(`Received unknown parameter: ${unknown}`, unknown));
  const limit = query['limit'] === undefined ? 10 : Number(query['limit']);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    return send(res, 400, stripeErrors.invalid('Invalid integer: limit must be between 1 and 100', 'limit'));
  if (query['starting_after'] !== undefined && query['ending_before'] !== undefined) {
    return send(
      res,
      400,
      stripeErrors.invalid('You may only specify one of these parameters: ending_before, starting_after.'),
    );
  }
  try {
    send(res, 200, accountsPage(front, query, limit));
  } catch (err) {
    send(res, 400, (err as { body: unknown }).body);
  }
};

/** Everything else: the account the request acts on answers it, as if it were called directly. */
const forward = (front: Front) => async (req: Request, res: Response) => {
  const onBehalf = req.get('stripe-account');
  const target =
    onBehalf === undefined || onBehalf === front.platformAccountId ? front.platform : front.accounts.get(onBehalf)!;
  const headers: Record<string, string> = {};
  for (const name of ['authorization', 'content-type', 'idempotency-key', 'stripe-version']) {
    const value = req.get(name);
    if (value !== undefined) headers[name] = value;
  }
  // The account's own stand-in takes a request naming itself; the platform's takes none.
  if (target !== front.platform && onBehalf !== undefined) headers['stripe-account'] = onBehalf;
  try {
    const answer = await fetch(`${target.baseUrl}${req.originalUrl}`, {
      method: req.method,
      headers,
      ...(req.method !== 'GET' &&
        req.method !== 'HEAD' &&
        Buffer.isBuffer(req.body) && { body: new Uint8Array(req.body) }),
    });
    for (const name of [
      'content-type',
      'request-id',
      'stripe-version',
      'stripe-should-retry',
      'retry-after',
      'idempotent-replayed',
    ]) {
      const value = answer.headers.get(name);
      if (value !== null) res.setHeader(name, value);
    }
    res.status(answer.status).send(Buffer.from(await answer.arrayBuffer()));
  } catch {
    res.socket?.destroy(); // the account's stand-in reset or hung up: so does the front
  }
};

function frontApp(front: Front): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  app.use('/v1', gate(front));
  app.get('/v1/accounts', listAccounts(front));
  app.get('/v1/accounts/:id', (req, res) => {
    const id = String(req.params['id']);
    const known = front.order.find((a) => a.id === id);
    if (!known) return send(res, 404, stripeErrors.missing('account', id));
    send(res, 200, renderAccount(known.id, known.created));
  });
  app.use('/v1', express.raw({ type: () => true, limit: '1mb' }), forward(front));
  return app;
}

export async function startStripeConnectStandIn(opts: StripeConnectStandInOptions = {}): Promise<StripeConnectStandIn> {
  const platform = await startStripeStandIn({ seed: 1, ...opts.platform });
  const secretKey = platform.secretKey;
  const front: Front = { secretKey, platform, accounts: new Map(), order: [], calls: [], platformAccountId: null };
  const { accounts, order } = front;

  const addConnectedAccount = async (id: string): Promise<StripeStandIn> => {
    if (!/^acct_[A-Za-z0-9]+$/.test(id)) throw new Error(`not an account id: ${id}`);
    if (accounts.has(id) || id === front.platformAccountId) throw new Error(`account ${id} is already there`);
    const account = await startStripeStandIn({
      secretKey,
      accountId: id,
      connected: true,
      // Its own seed: ids the accounts generate never repeat one another's (Stripe's ids are global).
      seed: 1000 + order.length,
      ...(opts.connectWebhookUrl !== undefined && { webhookUrl: opts.connectWebhookUrl }),
      ...(opts.connectWebhookSecret !== undefined && { webhookSecret: opts.connectWebhookSecret }),
      ...(opts.platform?.now && { now: opts.platform.now }),
    });
    accounts.set(id, account);
    const previous = order.at(-1)?.created ?? 0;
    order.push({ id, created: Math.max(previous + 1, Math.floor(Date.now() / 1000)) });
    return account;
  };

  const listening = await listenOnLoopback(frontApp(front));
  const url = new URL(listening.origin);
  // The platform's own id, as GET /v1/account answers it on the platform's stand-in.
  front.platformAccountId = (
    (await (
      await fetch(`${platform.baseUrl}/v1/account`, { headers: { authorization: `Bearer ${secretKey}` } })
    ).json()) as { id: string }
  ).id;
  for (const id of opts.connected ?? []) await addConnectedAccount(id);

  return {
    baseUrl: listening.origin,
    host: url.hostname,
    port: Number(url.port),
    secretKey,
    platform,
    accounts,
    calls: front.calls,
    env: { STRIPE_API_HOST: url.hostname, STRIPE_API_PORT: url.port, STRIPE_API_PROTOCOL: 'http' },
    addConnectedAccount,
    flushWebhooks: async () => {
      await platform.flushWebhooks();
      for (const a of accounts.values()) await a.flushWebhooks();
    },
    close: async () => {
      await listening.close();
      for (const a of accounts.values()) await a.close();
      await platform.close();
    },
  };
}
