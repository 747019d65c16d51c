/**
 * GET /portal/v1/me — the signed-in customer's own view, read live from the
 * record store. The caller is who their verified help center JWT says, and
 * nothing else in the request: 401 for anything unverified, 503 when the keys
 * or Redis are unavailable (never a 200 without both), 429 past the per-user
 * budget, 404 (a JSON body the kit renders) when the user has no customer.
 * Every answer is `Cache-Control: private, no-store`; CORS only for PORTAL_ORIGINS. Mounted ahead
 * of the access log (app.ts): it logs its own refusals and failures, with the request id.
 */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Redis } from '../sync/redis/connection.js';
import { RecordStore } from '../sync/events/store.js';
import { ViewRateLimiter } from '../sync/view/rate-limit.js';
import { ViewReader } from '../sync/view/read.js';
import { bearerToken, rememberVerified, verifyHelpCenterToken, type VerifyOutcome } from './help-center-jwt.js';
import { helpCenterKeySet } from './help-center-keys.js';
import { requestId } from './request-id.js';
import { brandOfHost, hostOfOrigin, type BrandScope } from '../sync/events/brands.js';
import type { ViewBrand } from '../sync/view/view.js';
import { setRetryAfter, UNAVAILABLE_RETRY_AFTER_MS } from './retry-after.js';

const PORTAL_VIEW_PATH = '/portal/v1/me';

/** Verifies the request's help center JWT; built once per process so that the key cache is shared. */
export type HelpCenterAuth = (req: Request) => Promise<VerifyOutcome>;

export function createHelpCenterAuth(config: Config, logger: Logger): HelpCenterAuth | undefined {
  const { jwksUrl, issuer } = config.helpCenter;
  if (!jwksUrl) return undefined;
  const { jwks, clockToleranceSeconds, maxTokenAgeSeconds } = config.view;
  const getKey = helpCenterKeySet({ url: jwksUrl, ...jwks, logger: logger.child({ module: 'help-center-keys' }) });
  const verify = rememberVerified(
    (token) =>
      verifyHelpCenterToken(token, {
        getKey,
        clockToleranceSeconds,
        maxTokenAgeSeconds,
        ...(issuer ? { issuer } : {}),
      }),
    {
      max: 10_000,
      ttlMs: 60_000,
    },
  );
  return (req) => verify(bearerToken(req.get('authorization')));
}

/** CORS for the browser-facing routes: only the configured Help Center origins, with the Authorization header. */
export function helpCenterCors(origins: readonly string[], methods: string): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.get('origin');
    const ok = origin !== undefined && allowed.has(origin);
    if (ok) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      res.setHeader('Access-Control-Allow-Methods', methods);
      res.setHeader('Access-Control-Max-Age', '600');
    }
    if (req.method === 'OPTIONS') {
      res.status(ok ? 204 : 403).end();
      return;
    }
    next();
  };
}

/**
 * The Help Center brand a view request comes from: the brand zendesk.brands lists for the page's host (the
 * browser's Origin), else the kit's `?brand_id=` (a positive integer). Undefined: a brand_id of another shape.
 */
function viewBrandOf(req: Request, brands: BrandScope): ViewBrand | null | undefined {
  const byHost = brandOfHost(brands, hostOfOrigin(req.get('origin')));
  if (byHost) return { id: byHost.id, name: byHost.name };
  const given = req.query['brand_id'];
  if (given === undefined || given === '') return null;
  if (typeof given !== 'string' || !/^[1-9]\d{0,19}$/.test(given)) return undefined;
  return { id: given, name: brands.listed.find((b) => b.id === given)?.name ?? null };
}

const unavailable = (res: Response, message: string) => {
  setRetryAfter(res, UNAVAILABLE_RETRY_AFTER_MS);
  res.status(503).json({ error: message, reason: 'unavailable' });
};

export function portalViewRouter(deps: {
  config: Config;
  redis: Redis;
  logger: Logger;
  auth: HelpCenterAuth | undefined;
}): Router {
  const { config, redis, auth } = deps;
  const log = deps.logger.child({ module: 'portal-view' });
  const router = Router();
  router.use(PORTAL_VIEW_PATH, (req, res, next) => {
    res.locals['reqId'] = requestId(req, res);
    res.setHeader('Cache-Control', 'private, no-store');
    res.vary('Authorization');
    next();
  });
  router.use(PORTAL_VIEW_PATH, helpCenterCors(config.helpCenter.origins, 'GET, OPTIONS'));
  if (!auth) {
    router.get(PORTAL_VIEW_PATH, (_req, res) => {
      res.status(404).json({
        error:
          'the customer view is not configured here: set ZENDESK_SUBDOMAIN, ZENDESK_BASE_URL or ZENDESK_HELP_CENTER_JWKS_URL',
        reason: 'not_configured',
      });
    });
    return router;
  }
  const store = new RecordStore(redis, config.redis.prefix);
  const brands: BrandScope = { listed: config.zendesk.brands ?? [] };
  const viewOptions = { recentPaidInvoices: config.view.recentPaidInvoices, tickets: config.view.tickets };
  const reader = new ViewReader(
    redis,
    store,
    new ViewRateLimiter(config.redis.prefix, config.view.rateLimit.perMinute),
    viewOptions,
  );

  router.get(PORTAL_VIEW_PATH, async (req, res) => {
    const verified = await auth(req);
    if (!verified.ok) {
      log.warn(
        { reqId: res.locals['reqId'], reason: verified.reason, status: verified.status },
        'customer view refused',
      );
      if (verified.status === 503) return unavailable(res, verified.message);
      res.setHeader('WWW-Authenticate', 'Bearer');
      res.status(401).json({ error: verified.message, reason: verified.reason });
      return;
    }
    const { viewer } = verified;
    const brand = viewBrandOf(req, brands);
    if (brand === undefined) {
      res.status(400).json({ error: 'brand_id must be a Zendesk brand id (a positive integer)', reason: 'bad_brand' });
      return;
    }
    try {
      // Counted and read in one round trip (read.ts); a request past the budget reads nothing.
      const found = await reader.read(viewer, Date.now(), brand);
      if (found.kind === 'limited') {
        log.info(
          { reqId: res.locals['reqId'], zendeskUserId: viewer.zendeskUserId },
          'customer view: over the per-user budget',
        );
        setRetryAfter(res, found.verdict.retryAfterMs);
        res.status(429).json({ error: 'too many requests for this user; retry later', reason: 'rate_limited' });
        return;
      }
      if (found.kind === 'none') {
        log.info(
          { reqId: res.locals['reqId'], zendeskUserId: viewer.zendeskUserId, why: found.reason },
          'customer view: no customer for this user',
        );
        res.status(404).json({ error: 'no customer account is linked to this user yet', reason: 'no_customer' });
        return;
      }
      // The view as read.ts wrote it (no ETag: the answer is never stored anywhere to revalidate).
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(found.body);
    } catch (err) {
      log.error({ reqId: res.locals['reqId'], err: (err as Error).message }, 'customer view: record store unavailable');
      unavailable(res, 'customer data is temporarily unavailable; retry later');
    }
  });
  return router;
}
