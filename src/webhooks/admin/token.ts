/**
 * The admin area under /admin: off (404, like any unknown path) unless
 * ADMIN_TOKEN is set, and then only for `Authorization: Bearer <ADMIN_TOKEN>`.
 * Every admin page goes through `requireAdminToken`.
 */
import { secretsMatch } from '../hmac.js';
import { Router, type RequestHandler, type Response } from 'express';
import type { Logger } from '../../log.js';
import type { DeflectionData } from '../../sync/deflection/types.js';
import { deflectionPage } from './deflection.js';
import type { BrandScope } from '../../sync/events/brands.js';
import type { AdminGuard } from './guard.js';
import { setRetryAfter, UNAVAILABLE_RETRY_AFTER_MS } from '../retry-after.js';

const REALM = 'portal-sync admin';

/** Constant-time in the token's content and length (`secretsMatch`). */
export const adminTokenMatches = secretsMatch;

/** `Bearer <token>` → the token; anything else → undefined. The scheme is case-insensitive (RFC 9110). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/**
 * Lets a request through only with the admin token. Without a configured
 * token the area does not exist (404), so an unset variable never opens it.
 * Wrong tokens count against the client's IP and against all clients
 * (`AdminGuard`); past either limit every token, the right one too, gets 429
 * until the minute is over, so the token cannot be guessed at speed.
 */
export function requireAdminToken(adminToken: string | undefined, guard: AdminGuard | undefined): RequestHandler {
  return (req, res, next) => {
    if (!adminToken || !guard) {
      res.status(404).json({ error: 'not found' });
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    const given = bearerToken(req.get('authorization'));
    const ip = req.ip ?? 'unknown';
    if (given === undefined) {
      guard.logRefusal({ reason: 'missing_token', path: req.path, ip });
      res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}"`);
      res.status(401).json({ error: 'admin area: send Authorization: Bearer <ADMIN_TOKEN>', reason: 'missing_token' });
      return;
    }
    void (async () => {
      const verdict = await guard.mayTry(ip);
      if (!verdict.ok) return tooMany(res, verdict.retryAfterMs);
      if (adminTokenMatches(given, adminToken)) return next();
      await guard.failed(ip, { path: req.path });
      res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}", error="invalid_token"`);
      res.status(401).json({ error: 'admin area: send Authorization: Bearer <ADMIN_TOKEN>', reason: 'bad_token' });
    })().catch(() => adminUnavailable(res));
  };
}

/** The throttle and sessions live in Redis: without it no token is checked, and nothing opens. */
export function adminUnavailable(res: Response): void {
  if (res.headersSent) return;
  setRetryAfter(res, UNAVAILABLE_RETRY_AFTER_MS);
  res.status(503).json({
    error: 'admin area unavailable: its sessions and throttle could not be read (is Redis reachable?); try again',
    reason: 'redis_unavailable',
  });
}

function tooMany(res: Response, retryAfterMs: number): void {
  const seconds = setRetryAfter(res, retryAfterMs);
  res.status(429).json({ error: `too many wrong admin tokens: try again in ${seconds} s`, reason: 'throttled' });
}

export interface AdminDeps {
  adminToken: string | undefined;
  guard: AdminGuard | undefined;
  deflection: DeflectionData;
  logger: Logger;
  /** zendesk.brands: the names ?brand= may give, and the report's labels. */
  brands?: BrandScope;
}

/** Mounted at /admin. */
export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  router.use(requireAdminToken(deps.adminToken, deps.guard));
  router.get('/deflection', deflectionPage(deps.deflection, deps.logger, deps.brands));
  return router;
}
