/**
 * The help center pages of the Zendesk stand-in: the Help Center kit's real theme files
 * (portal/zendesk-help-center) rendered the way a Copenhagen-based theme serves them, on the
 * stand-in's own origin, so the kit's same-origin calls (the help center token, custom object
 * records through the session) reach the stand-in as they reach Zendesk.
 *
 *   GET /hc/<locale>/p/<page>        a custom page: templates/custom_pages/<page>.hbs
 *   GET /hc/<locale>                 a home page holding the status panel snippet
 *   GET /hc/theming/assets/<name>    a theme asset ({{asset 'name'}})
 *   GET /hc/<locale>/signin?email=…|name=…&return_to=/hc/…   signs that user in (the session cookie),
 *                                    or, while no user has that email yet, waits for one (reloads)
 *
 * The templates are rendered by a small Curlybars subset: comments, `{{#if signed_in}}…{{else}}…{{/if}}`,
 * `{{#link 'page'}}…{{/link}}`, `{{help_center.name|locale}}`, `{{settings.<id>}}`, `{{asset 'name'}}`.
 * Any other expression is an error, so a template the stand-in cannot render fails loudly
 * instead of rendering wrong. Signed in: the stand-in's session cookie names a user.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Router, type Request, type Response } from 'express';
import { PACKAGE_ROOT } from '../../../config.js';

const KIT_DIR = resolve(PACKAGE_ROOT, 'portal/zendesk-help-center');
const ASSET_PATH = '/hc/theming/assets';
const LINKS: Record<string, (locale: string) => string> = {
  help_center: (l) => `/hc/${l}`,
  new_request: (l) => `/hc/${l}/requests/new`,
  sign_in: (l) => `/hc/${l}/signin`,
};

interface ThemeContext {
  signedIn: boolean;
  locale: string;
  helpCenterName: string;
  settings: Record<string, string>;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Renders the Curlybars subset above; throws on any other expression. */
function renderTemplate(source: string, ctx: ThemeContext): string {
  let text = source.replace(/\{\{!--[\s\S]*?--\}\}/g, '');
  // Blocks, innermost first (#if may hold #link).
  for (let guard = 0; /\{\{#(if|link)\b/.test(text); guard++) {
    if (guard > 100) throw new Error('template blocks nest too deep');
    text = text.replace(
      /\{\{#link '([a-z_]+)'\}\}((?:(?!\{\{#)[\s\S])*?)\{\{\/link\}\}/g,
      (_m, name: string, inner: string) => {
        const href = LINKS[name];
        if (!href) throw new Error(`{{#link '${name}'}} is not known to the stand-in`);
        return `<a href="${href(ctx.locale)}">${inner}</a>`;
      },
    );
    text = text.replace(
      /\{\{#if signed_in\}\}((?:(?!\{\{#)[\s\S])*?)(?:\{\{else\}\}((?:(?!\{\{#)[\s\S])*?))?\{\{\/if\}\}/g,
      (_m, yes: string, no = '') => (ctx.signedIn ? yes : no),
    );
  }
  return text.replace(/\{\{([^}]*)\}\}/g, (_m, expr: string) => {
    const e = expr.trim();
    const asset = /^asset '([\w.-]+)'$/.exec(e);
    if (asset) return `${ASSET_PATH}/${asset[1]}`;
    if (e === 'help_center.locale') return escapeHtml(ctx.locale);
    if (e === 'help_center.name') return escapeHtml(ctx.helpCenterName);
    if (e === 'signed_in') return String(ctx.signedIn);
    const setting = /^settings\.([a-z_]+)$/.exec(e);
    if (setting?.[1] !== undefined && setting[1] in ctx.settings) return escapeHtml(ctx.settings[setting[1]]!);
    throw new Error(`{{${e}}} is not known to the stand-in's template renderer`);
  });
}

/** What Copenhagen's document_head, header and footer put around every page, in brief. */
function layout(ctx: ThemeContext, title: string, main: string): string {
  return `<!DOCTYPE html>
<html lang="${escapeHtml(ctx.locale)}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} – ${escapeHtml(ctx.helpCenterName)}</title>
<style>
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#2f3941;line-height:1.5}
.header{display:flex;justify-content:space-between;align-items:center;padding:0 5%;height:64px;border-bottom:1px solid #e8e8e8}
.header a{color:#1f73b7;text-decoration:none}.logo{font-weight:700;font-size:1.1em}.container{max-width:1160px;margin:0 auto;padding:0 5% 3em}
.breadcrumbs{list-style:none;display:flex;gap:.5em;padding:0;margin:1.5em 0;font-size:.9em}.breadcrumbs li+li::before{content:"›";margin-right:.5em}
h1{font-size:2em;margin:.3em 0 .8em}a{color:#1f73b7}.footer{border-top:1px solid #e8e8e8;padding:1.5em 5%;color:#68737d;font-size:.9em}
</style></head>
<body><header class="header"><a class="logo" href="/hc/${escapeHtml(ctx.locale)}">${escapeHtml(ctx.helpCenterName)}</a><nav>${ctx.signedIn ? `<a href="/hc/${escapeHtml(ctx.locale)}/p/billing">Billing</a>` : `<a href="/hc/${escapeHtml(ctx.locale)}/signin">Sign in</a>`}</nav></header>
<main>${main}</main>
<footer class="footer">${escapeHtml(ctx.helpCenterName)}</footer></body></html>`;
}

export interface ThemeStandIn {
  router: Router;
  /** Theme settings ({{settings.<id>}}), e.g. portal_sync_api_url: set once the daemon's URL is known. */
  settings: Record<string, string>;
  helpCenterName: string;
}

export interface ThemeSessions {
  /** Whether a request carries a valid help center session. */
  signedIn(req: Request): boolean;
  /** The user with this email (or, without one, this name), for the sign-in page. */
  findUser(by: { email?: string; name?: string }): number | undefined;
  /** The session cookie (`name=value`) of a signed-in user. */
  cookieOf(userId: number): string;
}

/** The theme router, answering only /hc/… paths. */
export function createThemeStandIn(sessions: ThemeSessions, kitDir = KIT_DIR): ThemeStandIn {
  const signedIn = (req: Request) => sessions.signedIn(req);
  const theme: ThemeStandIn = {
    router: Router(),
    settings: { portal_sync_api_url: '', portal_sync_refresh_seconds: '0', portal_sync_brand_id: '' },
    helpCenterName: 'Help Center',
  };
  const ctxOf = (req: Request, locale: string): ThemeContext => ({
    signedIn: signedIn(req),
    locale,
    helpCenterName: theme.helpCenterName,
    settings: theme.settings,
  });
  const page = (res: Response, html: string) =>
    void res.status(200).type('html').set('cache-control', 'no-store').send(html);

  theme.router.get(`${ASSET_PATH}/:name`, (req: Request, res: Response) => {
    const name = String(req.params.name);
    if (!/^[\w.-]+\.(js|css)$/.test(name)) return void res.status(404).end();
    try {
      const body = readFileSync(join(kitDir, 'assets', name), 'utf8');
      res
        .status(200)
        .type(name.endsWith('.js') ? 'text/javascript' : 'text/css')
        .set('cache-control', 'no-store')
        .send(body);
    } catch {
      res.status(404).end();
    }
  });
  theme.router.get('/hc/:locale/p/:page', (req: Request, res: Response) => {
    const pageName = String(req.params.page);
    const locale = String(req.params.locale);
    if (!/^[a-z0-9_-]+$/.test(pageName) || !/^[a-z]{2}(-[a-z0-9]{2,4})?$/i.test(locale))
      return void res.status(404).end();
    let source: string;
    try {
      source = readFileSync(join(kitDir, 'templates/custom_pages', `${pageName}.hbs`), 'utf8');
    } catch {
      return void res.status(404).type('text').send('The page you were looking for does not exist');
    }
    page(res, layout(ctxOf(req, locale), pageName, renderTemplate(source, ctxOf(req, locale))));
  });
  theme.router.get('/hc/:locale/signin', (req: Request, res: Response) => {
    const by = {
      ...(typeof req.query.email === 'string' && { email: req.query.email }),
      ...(typeof req.query.name === 'string' && { name: req.query.name }),
    };
    const who = by.email ?? by.name ?? '';
    const back =
      typeof req.query.return_to === 'string' && /^\/hc\/[\w/-]*$/.test(req.query.return_to)
        ? req.query.return_to
        : `/hc/${String(req.params.locale)}`;
    const id = who ? sessions.findUser(by) : undefined;
    if (id !== undefined) {
      const [name, value] = sessions.cookieOf(id).split('=');
      return void res.cookie(name!, value!, { path: '/', httpOnly: true, sameSite: 'lax' }).redirect(302, back);
    }
    // Not a user (yet): the demo opens this before Zendesk holds the user, so it looks again each second.
    const ctx = ctxOf(req, String(req.params.locale));
    const wait = who
      ? `<p>Signing in as ${escapeHtml(who)}: there is no such user in Zendesk yet. This page tries again every second.</p>`
      : '<p>Sign in with ?email= or ?name=</p>';
    res
      .status(200)
      .type('html')
      .set('cache-control', 'no-store')
      .send(
        layout(ctx, 'Sign in', `<div class="container"><h1>Sign in</h1>${wait}</div>`).replace(
          '<head>',
          who ? '<head><meta http-equiv="refresh" content="1">' : '<head>',
        ),
      );
  });
  theme.router.get('/hc/:locale', (req: Request, res: Response) => {
    const locale = String(req.params.locale);
    if (!/^[a-z]{2}(-[a-z0-9]{2,4})?$/i.test(locale)) return void res.status(404).end();
    const ctx = ctxOf(req, locale);
    const panel = renderTemplate(readFileSync(join(kitDir, 'snippets/status-panel.hbs'), 'utf8'), ctx);
    page(res, layout(ctx, 'Home', `<div class="container"><h1>How can we help?</h1>${panel}</div>`));
  });
  return theme;
}
