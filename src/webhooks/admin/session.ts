/**
 * A browser session for the admin area. Browsers cannot send a bearer header on
 * navigation, so /admin/login takes the token once and sets a cookie holding a
 * random session id kept in Redis (`AdminGuard`): never the token, nothing
 * derived from it, ended by logout or a new ADMIN_TOKEN. The bearer header keeps
 * working for scripts (`requireAdminToken`). Wrong tokens in the form count
 * against the same throttle as wrong bearer tokens.
 */
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { adminTokenMatches, adminUnavailable, requireAdminToken } from './token.js';
import type { AdminGuard } from './guard.js';
import { escapeHtml } from '../../sync/escape-html.js';
import { setRetryAfter } from '../retry-after.js';

export const SESSION_COOKIE = 'portal_sync_admin';
const LOGIN_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export const hasAdminSession = (req: Request, guard: AdminGuard): Promise<boolean> =>
  guard.sessionValid(cookieValue(req.get('cookie'), SESSION_COOKIE));

function setSessionCookie(req: Request, res: Response, value: string, maxAge: number): void {
  const attrs = [`${SESSION_COOKIE}=${value}`, 'Path=/admin', `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Strict'];
  if (req.secure) attrs.push('Secure');
  res.append('Set-Cookie', attrs.join('; '));
}

function loginHtml(message?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>portal-sync admin · log in</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:1rem;color:#1d2733;background:#f5f7fa}
main{max-width:24rem;margin:10vh auto;background:#fff;padding:1.5rem;border-radius:8px;box-shadow:0 1px 3px #0002}
label{display:block;font-weight:600;margin-bottom:.25rem}input,button{font:inherit;width:100%;box-sizing:border-box;padding:.6rem;border-radius:6px}
input{border:1px solid #aab4c0;margin-bottom:1rem}button{border:0;background:#1f5fbf;color:#fff;cursor:pointer}
.error{color:#a11;margin:0 0 1rem}
</style></head>
<body><main><h1>portal-sync admin</h1>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}<form method="post" action="/admin/login">
<label for="token">Admin token</label><input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Log in</button></form></main></body></html>
`;
}

function sendLogin(res: Response, status: number, message?: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', LOGIN_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res
    .status(status)
    .type('text/html; charset=utf-8')
    .send(message === undefined ? loginHtml() : loginHtml(message));
}

/** GET/POST /admin/login and POST /admin/logout. */
export function loginRoutes(adminToken: string, guard: AdminGuard): Router {
  const router = Router();
  router.get('/login', (_req, res) => sendLogin(res, 200));
  router.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), (req, res) =>
    login(req, res).catch(() => adminUnavailable(res)),
  );
  const login = async (req: Request, res: Response) => {
    const ip = req.ip ?? 'unknown';
    const verdict = await guard.mayTry(ip);
    if (!verdict.ok) {
      const seconds = setRetryAfter(res, verdict.retryAfterMs);
      return sendLogin(res, 429, `Too many wrong tokens: try again in ${seconds} s.`);
    }
    const given: unknown = (req.body as Record<string, unknown> | undefined)?.token;
    if (typeof given !== 'string' || !adminTokenMatches(given, adminToken)) {
      await guard.failed(ip, { path: '/admin/login' });
      return sendLogin(res, 401, 'That is not the admin token.');
    }
    setSessionCookie(req, res, await guard.createSession(), guard.settings.sessionTtlSeconds);
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, '/admin');
  };
  router.post('/logout', async (req, res) => {
    await guard.endSession(cookieValue(req.get('cookie'), SESSION_COOKIE));
    setSessionCookie(req, res, '', 0);
    res.redirect(303, '/admin/login');
  });
  return router;
}

/**
 * A valid session cookie, or else the bearer header (`requireAdminToken`). A
 * browser asking for a page with neither gets the 401 as the login form.
 */
export function requireAdmin(adminToken: string, guard: AdminGuard): RequestHandler {
  const bearer = requireAdminToken(adminToken, guard);
  return (req, res, next) => {
    hasAdminSession(req, guard).then(
      (ok) => {
        if (ok) {
          res.setHeader('Cache-Control', 'no-store');
          return next();
        }
        if (
          req.get('authorization') === undefined &&
          req.method === 'GET' &&
          req.accepts(['json', 'html']) === 'html'
        ) {
          res.setHeader('WWW-Authenticate', 'Bearer realm="portal-sync admin"');
          return sendLogin(res, 401);
        }
        bearer(req, res, next);
      },
      () => adminUnavailable(res),
    );
  };
}
