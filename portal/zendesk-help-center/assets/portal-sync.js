/**
 * portal-sync Help Center kit: shows the signed-in customer their billing status, invoices and
 * tickets, read live from portal-sync (GET /portal/v1/me), and reports their portal activity
 * (POST /events/portal). One dependency-free ES module: Zendesk serves each theme asset under
 * its own hashed URL, so this file imports nothing.
 *
 * Every element with data-portal-sync="page" or "panel" is mounted on load:
 *   data-api           portal-sync's public URL, e.g. https://portal-sync.example.com (required)
 *   data-locale        the help center locale ({{help_center.locale}}); dates and money follow it
 *   data-signed-in     "true" / "false" ({{signed_in}})
 *   data-billing-url   where the panel links to (the custom page)
 *   data-refresh-seconds  read again this often while the tab is visible (0 or absent: on load, and when the tab comes back)
 *   data-brand-id      this Help Center's Zendesk brand id ({{settings.portal_sync_brand_id}}; empty: let portal-sync
 *                      tell the brand by the page's host, or show every brand's tickets)
 *   data-invoice-object / data-status-object   custom objects read when the plan has no help center JWTs
 *
 * With a help center JWT (Guide Enterprise): the token from /api/v2/help_center/integration/token
 * is sent as a Bearer token; portal-sync verifies it and answers only that user's customer.
 * Without (the token endpoint answers 404): the invoices and the status record are listed
 * through the help center session from Zendesk custom objects, which an access rule limits to
 * the user's own (`portal-sync setup zendesk --end-user-access`); no activity is sent then.
 * Text goes in with textContent only: nothing the API returns is ever parsed as HTML. Its look is
 * assets/portal-sync.css (classes psk-*), loaded by the templates.
 */

const TOKEN_PATH = '/api/v2/help_center/integration/token';
const TOKEN_REUSE_MS = 60_000;

const LABELS = {
  title: 'Billing and invoices',
  loading: 'Loading your billing status…',
  status: 'Status',
  endedOn: 'Ended on',
  plan: 'Plan',
  nextInvoice: 'Next invoice',
  paymentMethod: 'Payment method',
  onFile: 'On file',
  noneOnFile: 'None on file',
  invoices: 'Invoices',
  number: 'Invoice',
  invoiceStatus: 'Status',
  dueDate: 'Due',
  amount: 'Amount',
  amountDue: 'Amount due',
  links: 'Links',
  view: 'View',
  pdf: 'PDF',
  noInvoices: 'No invoices yet.',
  tickets: 'Your tickets',
  ticketsOfBrand: (brand) => `Your ${brand} tickets`,
  noTickets: 'No tickets.',
  lastUpdated: 'Last updated',
  overdue: 'A payment is overdue. Pay the open invoice to keep your service running.',
  signedOut: 'Sign in to see your billing status and invoices.',
  notFound: 'We could not find a billing account for your sign-in. If you pay for a subscription, contact us and we will link it.',
  unauthorized: 'We could not confirm your sign-in. Reload the page, or sign out and in again.',
  rateLimited: 'Too many requests. Try again in a minute.',
  unavailable: 'Your billing status is unavailable right now. Try again in a few minutes.',
  retry: 'Try again',
  seeBilling: 'Billing and invoices',
  openInvoices: (n) => (n === 1 ? '1 open invoice' : `${n} open invoices`),
  statuses: {
    active: 'Active', trialing: 'Trial', past_due: 'Past due', unpaid: 'Unpaid', canceled: 'Canceled',
    incomplete: 'Incomplete', incomplete_expired: 'Expired', paused: 'Paused',
    draft: 'Draft', open: 'Open', paid: 'Paid', void: 'Void', uncollectible: 'Uncollectible',
    new: 'New', pending: 'Awaiting your reply', hold: 'On hold', solved: 'Solved', closed: 'Closed',
  },
};

/** Statuses shown as a warning (text says it too; colour is never the only signal). */
const WARN = new Set(['past_due', 'unpaid', 'incomplete', 'uncollectible', 'open']);

class KitError extends Error {
  constructor(state, status, retryAfter) {
    super(state);
    this.state = state;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

const stateOf = (status) => (status === 404 ? 'not-found' : status === 401 ? 'unauthorized' : status === 429 ? 'rate-limited' : 'error');

async function json(res) {
  if (!res.ok) throw new KitError(stateOf(res.status), res.status, res.headers.get('retry-after'));
  return res.json();
}

// --- data ----------------------------------------------------------------------------------

function makeClient(opts) {
  let cached; // { token, at }
  const token = async (fresh) => {
    if (!fresh && cached && Date.now() - cached.at < TOKEN_REUSE_MS) return cached.token;
    const res = await fetch(opts.tokenPath, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    // 404: the plan has no help center JWTs (Guide Enterprise only); the caller falls back.
    if (res.status === 404) return null;
    if (res.status === 401 || res.status === 403) throw new KitError('signed-out', res.status);
    const body = await json(res);
    if (typeof body.token !== 'string') throw new KitError('error', res.status);
    cached = { token: body.token, at: Date.now() };
    return body.token;
  };
  const me = async (bearer) => {
    const brand = opts.brandId ? `?brand_id=${encodeURIComponent(opts.brandId)}` : '';
    const res = await fetch(`${opts.api}/portal/v1/me${brand}`, { headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' }, cache: 'no-store' });
    return normalizeView(await json(res));
  };
  const records = async (key) => {
    const out = [];
    let url = `/api/v2/custom_objects/${encodeURIComponent(key)}/records?page[size]=100`;
    for (let pages = 0; url && pages < 10; pages++) {
      const body = await json(await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } }));
      out.push(...(body.custom_object_records ?? []));
      url = body.meta?.has_more ? body.links?.next : null;
    }
    return out;
  };
  const fromCustomObjects = async () => {
    const [invoices, statuses] = await Promise.all([records(opts.invoiceObject), opts.statusObject ? records(opts.statusObject) : []]);
    return viewFromRecords(invoices, statuses[0]);
  };
  return { token, me, fromCustomObjects };
}

const num = (v) => (v === null || v === undefined || v === '' ? null : Number(v));
const remaining = (due, paid) => (due === null ? null : Math.max(0, Math.round((due - (paid ?? 0)) * 1e6) / 1e6));

/** GET /portal/v1/me's body (contract v1, docs/customer-view.md) as the view this module renders. */
export function normalizeView(body) {
  const billing = body.billing ?? {};
  return {
    source: 'api',
    name: body.customer?.name ?? body.name ?? null,
    status: billing.status ?? null,
    endedAt: billing.endedAt ?? null,
    plan: billing.plan ?? null,
    nextInvoiceDate: billing.nextInvoiceDate ?? null,
    delinquent: billing.delinquent === true,
    paymentMethodOnFile: typeof billing.paymentMethodOnFile === 'boolean' ? billing.paymentMethodOnFile : null,
    invoices: (body.invoices ?? []).map((i) => ({
      id: i.id, number: i.number ?? null, status: i.status ?? null, currency: i.currency ?? null,
      total: num(i.total), amountDue: num(i.amountRemaining ?? i.amountDue), dueDate: i.dueDate ?? null, hostedUrl: i.hostedInvoiceUrl ?? null, pdfUrl: i.pdfUrl ?? null,
    })),
    tickets: (body.tickets ?? []).map((t) => ({ id: t.id, subject: t.subject ?? null, status: t.status ?? null, updatedAt: t.updatedAt ?? null, brandId: t.brandId ?? null })),
    brand: body.brand ? { id: String(body.brand.id), name: body.brand.name ?? null } : null,
    updatedAt: body.updatedAt ?? null,
  };
}

/** Custom object records (the plan without help center JWTs) as the same view; default field keys of config/default.yaml. */
export function viewFromRecords(invoiceRecords, statusRecord) {
  const f = (r) => r.custom_object_fields ?? {};
  const s = statusRecord ? f(statusRecord) : {};
  const updated = [statusRecord, ...invoiceRecords].map((r) => r?.updated_at).filter(Boolean).sort();
  return {
    source: 'zendesk',
    name: null,
    status: s.billing_status ?? null,
    plan: s.billing_plan ?? null,
    nextInvoiceDate: s.billing_next_invoice_date ?? null,
    delinquent: s.billing_delinquent === true,
    paymentMethodOnFile: null,
    invoices: invoiceRecords.map((r) => ({
      id: r.external_id ?? String(r.id), number: f(r).invoice_number ?? r.name ?? null, status: f(r).invoice_status ?? null, currency: f(r).currency ?? null,
      // What is left to pay: the record holds Stripe's amount due and amount paid.
      total: num(f(r).total), amountDue: remaining(num(f(r).amount_due), num(f(r).amount_paid)), dueDate: f(r).due_date ?? null,
      hostedUrl: f(r).hosted_invoice_url ?? null, pdfUrl: f(r).invoice_pdf_url ?? null,
    })).sort((a, b) => Number(b.status === 'open') - Number(a.status === 'open') || String(b.number ?? '').localeCompare(String(a.number ?? ''))),
    tickets: null,
    updatedAt: updated.at(-1) ?? null,
  };
}

// --- formatting ----------------------------------------------------------------------------

function formatters(locale) {
  const dateOnly = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
  const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
  const relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  return {
    // A day (YYYY-MM-DD) is shown as that day wherever the reader is.
    date: (s) => (s ? (/^\d{4}-\d{2}-\d{2}$/.test(s) ? dateOnly.format(new Date(`${s}T00:00:00Z`)) : dateOnly.format(new Date(s))) : '—'),
    dateTime: (s) => dateTime.format(new Date(s)),
    money: (amount, currency) => {
      if (amount === null || Number.isNaN(amount)) return '—';
      if (!currency) return new Intl.NumberFormat(locale).format(amount);
      return new Intl.NumberFormat(locale, { style: 'currency', currency: currency.toUpperCase() }).format(amount);
    },
    ago: (s) => {
      const seconds = Math.round((Date.parse(s) - Date.now()) / 1000);
      const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [Infinity, 'day']];
      let value = seconds;
      for (const [size, unit] of steps) {
        if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
        value /= size;
      }
      return '';
    },
  };
}

// --- rendering -----------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c) node.append(c);
  return node;
}

const label = (labels, code) => (code ? labels.statuses[code] ?? code : '—');
const badge = (labels, code) => el('span', { class: `psk-badge${WARN.has(code) ? ' psk-badge--warn' : ''}`, 'data-status': code ?? '', text: label(labels, code) });

function renderStatus(ctx, view) {
  const { labels, fmt } = ctx;
  const row = (term, value) => [el('dt', { text: term }), el('dd', {}, value)];
  const payment = view.paymentMethodOnFile === null ? null : row(labels.paymentMethod, view.paymentMethodOnFile ? labels.onFile : labels.noneOnFile);
  return el('dl', { class: 'psk-status' },
    row(labels.status, badge(labels, view.status)),
    view.endedAt ? row(labels.endedOn, fmt.date(view.endedAt)) : null,
    view.plan ? row(labels.plan, view.plan) : null,
    row(labels.nextInvoice, fmt.date(view.nextInvoiceDate)),
    payment);
}

function renderInvoices(ctx, view) {
  const { labels, fmt } = ctx;
  if (view.invoices.length === 0) return el('p', { class: 'psk-empty', text: labels.noInvoices });
  const head = el('tr', {}, [labels.number, labels.invoiceStatus, labels.dueDate, labels.amount, labels.amountDue, labels.links].map((h) => el('th', { scope: 'col', text: h })));
  const rows = view.invoices.map((inv) => {
    const name = inv.number ?? inv.id;
    const link = (href, text, type) =>
      href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', 'aria-label': `${text} ${name}`, onclick: () => ctx.track(type, { invoice_id: inv.id }), text }) : null;
    return el('tr', { 'data-invoice': inv.id },
      el('th', { scope: 'row', text: name }),
      el('td', {}, badge(labels, inv.status)),
      el('td', { text: fmt.date(inv.dueDate) }),
      el('td', { class: 'psk-num', text: fmt.money(inv.total, inv.currency) }),
      el('td', { class: 'psk-num', text: fmt.money(inv.amountDue, inv.currency) }),
      el('td', { class: 'psk-links' }, link(inv.hostedUrl, labels.view, 'invoice_view'), link(inv.pdfUrl, labels.pdf, 'invoice_download')));
  });
  return el('div', { class: 'psk-scroll' }, el('table', { class: 'psk-table' }, el('caption', { class: 'psk-sr', text: labels.invoices }), el('thead', {}, head), el('tbody', {}, rows)));
}

function renderTickets(ctx, view) {
  const { labels, fmt } = ctx;
  if (view.tickets.length === 0) return el('p', { class: 'psk-empty', text: labels.noTickets });
  return el('ul', { class: 'psk-tickets' }, view.tickets.map((t) =>
    el('li', { 'data-ticket': t.id },
      el('a', { href: `/hc/${ctx.locale}/requests/${encodeURIComponent(t.id)}`, onclick: () => ctx.track('ticket_status_view', { ticket_id: String(t.id) }), text: t.subject ?? `#${t.id}` }),
      ' ', badge(labels, t.status),
      t.updatedAt ? el('span', { class: 'psk-muted', text: ` · ${fmt.date(t.updatedAt)}` }) : null)));
}

function renderUpdated(ctx, view) {
  if (!view.updatedAt) return null;
  return el('p', { class: 'psk-updated' }, `${ctx.labels.lastUpdated} `,
    el('time', { datetime: view.updatedAt, title: ctx.fmt.dateTime(view.updatedAt), text: ctx.fmt.ago(view.updatedAt) }));
}

function renderPage(ctx, view) {
  const { labels } = ctx;
  const h = (id, text) => el('h2', { id: `${ctx.id}-${id}`, class: 'psk-h', text });
  return [
    view.delinquent || view.status === 'past_due' || view.status === 'unpaid' ? el('p', { class: 'psk-alert', role: 'status', text: labels.overdue }) : null,
    renderStatus(ctx, view),
    el('section', { 'aria-labelledby': `${ctx.id}-invoices` }, h('invoices', labels.invoices), renderInvoices(ctx, view)),
    view.tickets ? el('section', { 'aria-labelledby': `${ctx.id}-tickets`, 'data-brand': view.brand?.id ?? null }, h('tickets', view.brand?.name ? labels.ticketsOfBrand(view.brand.name) : labels.tickets), renderTickets(ctx, view)) : null,
    renderUpdated(ctx, view),
  ];
}

function renderPanel(ctx, view) {
  const { labels, fmt } = ctx;
  const open = view.invoices.filter((i) => i.status === 'open');
  const due = open.reduce((sum, i) => sum + (i.amountDue ?? 0), 0);
  const currency = open[0]?.currency ?? null;
  return [
    renderStatus(ctx, { ...view, paymentMethodOnFile: null, plan: null }),
    open.length > 0 ? el('p', { class: 'psk-open', text: `${labels.openInvoices(open.length)} · ${fmt.money(due, currency)}` }) : null,
    ctx.billingUrl ? el('p', {}, el('a', { href: ctx.billingUrl, text: labels.seeBilling })) : null,
    renderUpdated(ctx, view),
  ];
}

function message(ctx, state, err) {
  const { labels } = ctx;
  const text = { 'signed-out': labels.signedOut, 'not-found': labels.notFound, unauthorized: labels.unauthorized, 'rate-limited': labels.rateLimited }[state] ?? labels.unavailable;
  const retry = state === 'error' || state === 'rate-limited' ? el('button', { type: 'button', class: 'psk-retry', onclick: () => ctx.refresh(), text: labels.retry }) : null;
  // Errors interrupt (role=alert); "not found" and "signed out" are information (role=status).
  const role = state === 'not-found' || state === 'signed-out' ? 'status' : 'alert';
  return el('div', { class: `psk-message psk-message--${state}`, role, 'data-http-status': err?.status ?? null }, el('p', { text }), retry);
}

// --- mounting ------------------------------------------------------------------------------

/** POST /events/portal with the help center JWT: the contact is the token's user, never named here. Best effort: false when not sent. */
function sender(client, api, brandId) {
  const session = sessionId();
  return async (type, extra = {}) => {
    if (!api) return false;
    try {
      const bearer = await client.token(false);
      if (!bearer) return false;
      const event = { id: crypto.randomUUID(), type, occurred_at: new Date().toISOString(), ...(session && { session_id: session }), ...(brandId && { brand_id: brandId }), ...extra };
      const res = await fetch(`${api}/events/portal`, {
        method: 'POST', body: JSON.stringify({ events: [event] }),
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      });
      return res.ok;
    } catch {
      return false; // the page works without it
    }
  };
}

/**
 * Activity from any page of the theme, without mounting: `activity({ api })('search', { query, result_count })`.
 * Sends nothing on plans without help center JWTs (the token endpoint answers 404 there).
 */
export function activity(options = {}) {
  const api = String(options.api ?? '').replace(/\/+$/, '');
  return sender(makeClient({ api, tokenPath: options.tokenPath ?? TOKEN_PATH }), api, brandIdOf(options.brandId));
}

/** A brand id setting as the API takes it (digits), or undefined: an empty or unset theme setting is no brand. */
const brandIdOf = (value) => (/^[1-9]\d{0,19}$/.test(String(value ?? '').trim()) ? String(value).trim() : undefined);

const sessionId = () => {
  try {
    let id = sessionStorage.getItem('portal-sync-session');
    if (!id) sessionStorage.setItem('portal-sync-session', (id = crypto.randomUUID()));
    return id;
  } catch {
    return undefined;
  }
};

let mounted = 0;

/** Mounts the kit on `root`; answers { refresh, track, state } (state: loading | ready | empty | signed-out | not-found | unauthorized | rate-limited | error). */
export function mount(root, options = {}) {
  const d = root.dataset;
  const opts = {
    mode: options.mode ?? d.portalSync ?? 'page',
    api: String(options.api ?? d.api ?? '').replace(/\/+$/, ''),
    locale: options.locale ?? d.locale ?? document.documentElement.lang ?? navigator.language,
    signedIn: options.signedIn ?? d.signedIn !== 'false',
    billingUrl: options.billingUrl ?? d.billingUrl ?? null,
    tokenPath: options.tokenPath ?? d.tokenPath ?? TOKEN_PATH,
    invoiceObject: options.invoiceObject ?? d.invoiceObject ?? 'portal_invoice',
    statusObject: options.statusObject ?? d.statusObject ?? 'portal_account_status',
    brandId: brandIdOf(options.brandId ?? d.brandId),
    labels: { ...LABELS, ...options.labels, statuses: { ...LABELS.statuses, ...options.labels?.statuses } },
  };
  const client = makeClient(opts);
  const ctx = { id: `psk${++mounted}`, labels: opts.labels, locale: opts.locale, billingUrl: opts.billingUrl, fmt: formatters(opts.locale) };
  let withToken = false;
  let shown = false;

  const send = sender(client, opts.api, opts.brandId);
  ctx.track = (type, extra) => (withToken ? send(type, extra) : Promise.resolve(false));

  const show = (state, nodes) => {
    root.dataset.state = state;
    root.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
    root.replaceChildren(...nodes.filter(Boolean));
  };

  /** Reads and renders; a quiet refresh keeps what is shown until the new view is there. */
  ctx.refresh = async ({ quiet = false } = {}) => {
    if (!quiet) show('loading', [el('p', { class: 'psk-loading', role: 'status', text: opts.labels.loading })]);
    if (!opts.signedIn) return show('signed-out', [message(ctx, 'signed-out')]);
    try {
      if (!opts.api) throw new KitError('error', 0);
      const bearer = await client.token(true);
      withToken = bearer !== null;
      const view = bearer ? await client.me(bearer) : await client.fromCustomObjects();
      const empty = view.invoices.length === 0 && !view.status;
      show(empty ? 'empty' : 'ready', opts.mode === 'panel' ? renderPanel(ctx, view) : renderPage(ctx, view));
      if (opts.mode === 'page' && !shown) void ctx.track('invoice_view', { properties: { surface: 'help_center_billing_page' } });
      shown = true;
    } catch (err) {
      const state = err instanceof KitError ? err.state : 'error';
      show(state, [message(ctx, state, err)]);
    }
  };

  root.classList.add('psk');
  void ctx.refresh();
  const every = Number(options.refreshSeconds ?? d.refreshSeconds ?? 0);
  const visible = () => document.visibilityState !== 'hidden';
  if (every > 0) setInterval(() => visible() && void ctx.refresh({ quiet: true }), Math.max(1, every) * 1000);
  document.addEventListener('visibilitychange', () => visible() && void ctx.refresh({ quiet: true }));
  return { refresh: ctx.refresh, track: ctx.track, get state() { return root.dataset.state; } };
}

/** Mounts every [data-portal-sync="page"|"panel"] element once (other values are activity marks, see the README). */
export function mountAll(doc = document) {
  return [...doc.querySelectorAll('[data-portal-sync="page"]:not([data-state]), [data-portal-sync="panel"]:not([data-state])')].map((root) => mount(root));
}

if (typeof document !== 'undefined' && !globalThis.PORTAL_SYNC_NO_AUTOMOUNT) {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => mountAll());
  else mountAll();
}
