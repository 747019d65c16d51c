/**
 * The admin area under /admin: off (404, like any unknown path) unless
 * ADMIN_TOKEN is set, and then only for `Authorization: Bearer <ADMIN_TOKEN>`.
 * Every admin page goes through `requireAdminToken`.
 */
import { secretsMatch } from './hmac.js';
import { Router, type RequestHandler } from 'express';
import type { Logger } from '../log.js';
import type { DeflectionData } from '../sync/deflection/types.js';
import { deflectionPage } from './admin-deflection.js';

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
 */
export function requireAdminToken(adminToken: string | undefined, logger?: Logger): RequestHandler {
  return (req, res, next) => {
    if (!adminToken) {
      res.status(404).json({ error: 'not found' });
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    const given = bearerToken(req.get('authorization'));
    if (given !== undefined && adminTokenMatches(given, adminToken)) {
      next();
      return;
    }
    const reason = given === undefined ? 'missing_token' : 'bad_token';
    logger?.warn({ reason, path: req.path, ip: req.ip }, 'admin request refused');
    res.setHeader('WWW-Authenticate', given === undefined ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="invalid_token"`);
    res.status(401).json({ error: 'admin area: send Authorization: Bearer <ADMIN_TOKEN>', reason });
  };
}

export interface AdminDeps {
  adminToken: string | undefined;
  deflection: DeflectionData;
  logger: Logger;
}

/** Mounted at /admin. */
export function adminRouter(deps: AdminDeps): Router {
  const router = Router();
  router.use(requireAdminToken(deps.adminToken, deps.logger));
  router.get('/deflection', deflectionPage(deps.deflection, deps.logger));
  return router;
}
