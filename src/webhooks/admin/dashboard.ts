/**
 * GET /admin — the operator's dashboard: sync lag and queue depths, events per
 * minute by source, dead letters with their reasons, identity conflicts, and
 * links to the deflection report and the queue board. Server-rendered, inline
 * styles only, no script; readable on a phone.
 *
 * Mounted at /admin ahead of `adminRouter`, so that a browser session
 * (session.ts) works here too; requests with the bearer header
 * go on to `adminRouter` for anything this router does not serve.
 */
import type { Queue } from 'bullmq';
import { Router, type RequestHandler } from 'express';
import { listDeadLetters, type DeadLetter } from '../../sync/admin/dead-letters.js';
import { readStatus, type QueueStatus } from '../../sync/admin/status.js';
import type { ReconcileReport } from '../../sync/resync/reconcile.js';
import type { BulkBacklog } from '../../sync/push/bulk.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';
import { createDeflectionQueue } from '../../sync/deflection/queue.js';
import { createDeflectionData } from '../../sync/deflection/store.js';
import type { IdentityConflict } from '../../sync/events/identity.js';
import type { Ingestor } from '../../sync/events/ingest.js';
import type { SubscriptionState } from '../../sync/outbound/store.js';
import { PUSH_QUEUES } from '../../sync/push/planner.js';
import { createEventsQueue } from '../../sync/events/queue.js';
import { openQueue } from '../../sync/queues.js';
import type { Redis } from '../../sync/redis/connection.js';
import { RecordStore } from '../../sync/events/store.js';
import { boardHandler } from './board.js';
import { escapeHtml } from '../../sync/escape-html.js';
import { hasAdminSession, loginRoutes, requireAdmin } from './session.js';
import { renderHealth, type HealthData } from './health.js';
import { deflectionPage } from './deflection.js';
import type { BrandEntry } from '../../sync/events/brands.js';
import type { AdminGuard } from './guard.js';
import type { EdgeMetrics } from '../metrics.js';

const PAGE_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const DEAD_LETTERS_SHOWN = 20;
const CONFLICTS_SHOWN = 5;
const RATE_WINDOW_MS = 60_000;
const SAMPLES_KEPT_MS = 15 * 60_000;

export interface EventRateRow {
  source: string;
  total: number;
  accepted: number;
  quarantined: number;
  /** Events (any outcome) per minute over `windowSeconds`. */
  perMinute: number;
}

/**
 * Per-minute rates from the edge's event counter. Each reading is kept (for 15
 * minutes) and compared with the newest one at least a minute old; until one
 * exists, with the counters' start (zero) when the router was made, and the
 * events so far count as one minute's.
 */
export class EventRates {
  private samples: Array<{ at: number; totals: Map<string, number> }>;

  constructor(startedAt = Date.now()) {
    this.samples = [{ at: startedAt, totals: new Map() }];
  }

  observe(
    values: ReadonlyArray<{ labels: Partial<Record<string, string | number>>; value: number }>,
    now = Date.now(),
  ): { rows: EventRateRow[]; windowSeconds: number } {
    const bySource = new Map<string, EventRateRow>();
    for (const { labels, value } of values) {
      const source = String(labels.source ?? 'unknown');
      const row = bySource.get(source) ?? { source, total: 0, accepted: 0, quarantined: 0, perMinute: 0 };
      row.total += value;
      if (labels.outcome === 'accepted') row.accepted += value;
      if (labels.outcome === 'quarantined') row.quarantined += value;
      bySource.set(source, row);
    }
    const base = this.samples.filter((s) => now - s.at >= RATE_WINDOW_MS).at(-1) ?? this.samples[0]!;
    const elapsed = Math.max(1, now - base.at);
    // Under a minute of history, the events so far count as this minute's: no extrapolation from a few seconds.
    for (const row of bySource.values())
      row.perMinute = ((row.total - (base.totals.get(row.source) ?? 0)) * 60_000) / Math.max(elapsed, RATE_WINDOW_MS);
    this.samples.push({ at: now, totals: new Map([...bySource.values()].map((r) => [r.source, r.total])) });
    const keep = this.samples.filter((s) => now - s.at <= SAMPLES_KEPT_MS);
    this.samples = keep.length ? keep : this.samples.slice(-1);
    return {
      rows: [...bySource.values()].sort((a, b) => a.source.localeCompare(b.source)),
      windowSeconds: Math.round(elapsed / 1000),
    };
  }
}

export interface DashboardData {
  generatedAt: Date;
  queues: Array<QueueStatus & { name: string }>;
  /** One page of dead letters, newest first, `offset` newer ones before it. */
  deadLetters: { total: number; first: DeadLetter[]; offset?: number };
  quarantined: number;
  /** Body bytes held, and entries evicted to stay within quarantine.maxEntries / maxBytes. */
  quarantine?: { bytes: number; evicted: number };
  conflicts: { total: number; first: IdentityConflict[] };
  events: { rows: EventRateRow[]; windowSeconds: number };
  /** The last reconcile pass (null: none has run yet). */
  lastReconcile: ReconcileReport | null;
  /** Outbound webhook subscriptions (ids only: their URLs may carry tokens). */
  subscriptions: SubscriptionState[];
  /** Per portal target: customers whose resync changes wait for a bulk call. */
  bulk?: Record<string, BulkBacklog>;
  /** Workers' heartbeats and each configured source's last webhook. */
  health?: HealthData;
}

const fmtInt = (n: number) => n.toLocaleString('en-US');
const fmtAge = (s: number) => (s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`);
const h = escapeHtml;

function renderBulk(bulk: Record<string, BulkBacklog>): string {
  const busy = Object.entries(bulk).filter(([, b]) => b.pending + b.inFlight > 0);
  if (busy.length === 0) return '';
  const rows = busy
    .map(
      ([t, b]) =>
        `<li>${h(t)}: ${fmtInt(b.pending)} customers waiting (oldest ${fmtAge(b.oldestSeconds)}), ${fmtInt(b.inFlight)} in flight</li>`,
    )
    .join('');
  return `<p class="muted">Resync pushes waiting for bulk calls, behind real-time work:</p><ul class="muted">${rows}</ul>`;
}

/** The dashboard reloads itself this often (a meta refresh: no script runs on the page). */
const DASHBOARD_REFRESH_SECONDS = 30;

/** `brands`: zendesk.brands, each linked to its own deflection report beside the report of every brand. */
export function renderDashboardHtml(d: DashboardData, brands: readonly BrandEntry[] = []): string {
  const brandLinks = brands
    .map(
      (b) =>
        `<a href="/admin/deflection?brand=${encodeURIComponent(b.id)}">Deflection: ${h(b.name ?? `brand ${b.id}`)}</a>`,
    )
    .join('');
  const maxLag = Math.max(0, ...d.queues.map((q) => q.lagSeconds));
  const queueRows = d.queues
    .map(
      (q) =>
        `<tr><th scope="row">${h(q.name)}</th><td class="${q.lagSeconds > 60 ? 'warn' : ''}">${fmtAge(q.lagSeconds)}</td><td>${fmtInt(q.waiting)}</td><td>${fmtInt(q.active)}</td><td>${fmtInt(q.delayed)}</td><td class="${q.failed ? 'warn' : ''}">${fmtInt(q.failed)}</td><td>${fmtInt(q.completed)}</td></tr>`,
    )
    .join('\n');
  const eventRows = d.events.rows.length
    ? d.events.rows
        .map(
          (r) =>
            `<tr><th scope="row">${h(r.source)}</th><td>${r.perMinute.toFixed(1)}</td><td>${fmtInt(r.total)}</td><td>${fmtInt(r.accepted)}</td><td>${fmtInt(r.quarantined)}</td></tr>`,
        )
        .join('\n')
    : '<tr><td colspan="5">no events received since this process started</td></tr>';
  const letters = d.deadLetters.first.length
    ? `<ul class="list">${d.deadLetters.first
        .map(
          (l) =>
            `<li><span class="tag">${h(l.queue)}</span> <code>${h(l.id)}</code>${l.source ? ` <span class="muted">${h(l.source)}</span>` : ''} <span class="muted">${h(l.at)}</span><div class="reason">${h(l.reason)}</div></li>`,
        )
        .join('\n')}</ul>${renderLetterPages(d.deadLetters)}`
    : d.deadLetters.total > 0
      ? `<p>No dead letters on this page.</p>${renderLetterPages(d.deadLetters)}`
      : '<p>No dead letters.</p>';
  const conflicts = d.conflicts.first.length
    ? `<ul class="list">${d.conflicts.first
        .map(
          (c) =>
            `<li><span class="tag">${h(c.system)}</span> records <code>${h(c.recordIds[0])}</code> and <code>${h(c.recordIds[1])}</code> kept apart<div class="muted">from ${h(c.evidence.source)} event <code>${h(c.evidence.eventId)}</code> (${h(c.evidence.type)})</div></li>`,
        )
        .join(
          '\n',
        )}</ul>${d.conflicts.total > d.conflicts.first.length ? `<p class="muted">…and ${fmtInt(d.conflicts.total - d.conflicts.first.length)} more (<code>portal-sync identity conflicts</code>)</p>` : ''}`
    : '<p>No identity conflicts.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><meta http-equiv="refresh" content="${DASHBOARD_REFRESH_SECONDS}"><title>portal-sync admin</title>
<style>
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.75rem 1rem;background:#1d2733;color:#fff}
header h1{font-size:1.1rem;margin:0}header nav{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center}header a{color:#cfe0ff}
header form{margin:0}header button{font:inherit;background:none;border:1px solid #cfe0ff;color:#cfe0ff;border-radius:4px;padding:.1rem .5rem;cursor:pointer}
main{max-width:70rem;margin:0 auto;padding:1rem;display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,30rem),1fr))}
section{background:#fff;border-radius:8px;padding:1rem;box-shadow:0 1px 3px #0002;min-width:0}section.wide{grid-column:1/-1}
h2{font-size:1rem;margin:0 0 .75rem}.figures{display:flex;flex-wrap:wrap;gap:1rem;margin:0 0 .75rem}.figure b{display:block;font-size:1.6rem}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{padding:.3rem .5rem;text-align:right;border-bottom:1px solid #e3e8ee;white-space:nowrap}
th[scope=row],thead th:first-child{text-align:left}.warn{color:#a11;font-weight:600}.muted{color:#5d6b7a;font-size:.9em}
.list{list-style:none;margin:0;padding:0}.list li{padding:.4rem 0;border-bottom:1px solid #e3e8ee;overflow-wrap:anywhere}.reason{font-family:ui-monospace,monospace;font-size:.85em;color:#7a1010}
.tag{display:inline-block;background:#e8eef7;border-radius:4px;padding:0 .35rem;font-size:.85em}code{font-size:.85em;overflow-wrap:anywhere}
</style></head>
<body><header><h1>portal-sync admin</h1><nav><a href="/admin/queues">Queue board</a><a href="/admin/deflection">Deflection report</a>${brandLinks}<form method="post" action="/admin/logout"><button type="submit">Log out</button></form></nav></header>
<main>
<section class="wide" aria-labelledby="q"><h2 id="q">Sync lag and queues</h2>
<p class="muted" id="read-at">Read at ${h(d.generatedAt.toISOString().slice(11, 19))} UTC; reloads every ${DASHBOARD_REFRESH_SECONDS} s.</p>
<div class="figures"><div class="figure"><b>${fmtAge(maxLag)}</b>sync lag (oldest waiting job)</div><div class="figure"><b>${fmtInt(d.deadLetters.total)}</b>dead letters</div><div class="figure"><b>${fmtInt(d.quarantined)}</b>quarantined payloads${renderQuarantineNote(d.quarantine)}</div><div class="figure"><b>${fmtInt(d.conflicts.total)}</b>identity conflicts</div></div>
<div class="scroll"><table><thead><tr><th>queue</th><th>lag</th><th>waiting</th><th>active</th><th>delayed</th><th>failed</th><th>completed</th></tr></thead><tbody>
${queueRows}
</tbody></table></div>${renderBulk(d.bulk ?? {})}</section>
<section aria-labelledby="e"><h2 id="e">Events by source</h2>
<div class="scroll"><table><thead><tr><th>source</th><th>per min</th><th>total</th><th>accepted</th><th>quarantined</th></tr></thead><tbody>
${eventRows}
</tbody></table></div><p class="muted">${d.events.windowSeconds >= 60 ? `Per minute over the last ${d.events.windowSeconds}s` : `Per minute: this process is ${d.events.windowSeconds}s old, and its events so far count as one minute's`}; totals since this process started.</p></section>
${d.health ? `<section aria-labelledby="hw"><h2 id="hw">Workers and webhooks</h2>${renderHealth(d.health)}</section>\n` : ''}<section aria-labelledby="r"><h2 id="r">Last reconcile and drift</h2>${renderReconcile(d.lastReconcile)}</section>
<section class="wide" aria-labelledby="d"><h2 id="d">Dead letters (${fmtInt(d.deadLetters.total)})</h2>${letters}</section>
<section class="wide" aria-labelledby="c"><h2 id="c">Identity conflicts (${fmtInt(d.conflicts.total)})</h2>${conflicts}</section>
<section class="wide" aria-labelledby="w"><h2 id="w">Outbound webhooks (${fmtInt(d.subscriptions.length)})</h2>${renderSubscriptions(d.subscriptions)}</section>
</main>
<footer class="muted" style="padding:0 1rem 1rem;text-align:center">Read at ${h(d.generatedAt.toISOString())}; this page reloads itself every ${DASHBOARD_REFRESH_SECONDS} s</footer>
</body></html>
`;
}

/** Older/newer links: the list is paged, so a view reads one page whatever the number of dead letters. */
function renderLetterPages(l: DashboardData['deadLetters']): string {
  const offset = l.offset ?? 0;
  const shown = offset + l.first.length;
  const links = [
    offset > 0 ? `<a href="/admin?letters=${Math.max(0, offset - DEAD_LETTERS_SHOWN)}#d">← newer</a>` : '',
    shown < l.total ? `<a href="/admin?letters=${shown}#d">older →</a>` : '',
  ].filter(Boolean);
  if (links.length === 0) return '';
  return `<p class="muted">${l.first.length ? `${fmtInt(offset + 1)}–${fmtInt(shown)}` : 'none'} of ${fmtInt(l.total)}, newest first · ${links.join(' · ')} · all: <code>portal-sync dlq list</code></p>`;
}

function renderQuarantineNote(q: DashboardData['quarantine']): string {
  if (!q) return '';
  const size = `${(q.bytes / 1_048_576).toFixed(1)} MiB`;
  return `<div class="muted">${size}${q.evicted ? `; <span class="warn">${fmtInt(q.evicted)} evicted</span> (quarantine.maxBytes / maxEntries)` : ''}</div>`;
}

function renderReconcile(r: ReconcileReport | null): string {
  if (!r)
    return '<p>No reconcile has run yet: the worker runs one every <code>reconcile.everyMs</code>, or run <code>portal-sync reconcile</code>.</p>';
  const rows = Object.entries(r.sources)
    .map(
      ([s, x]) =>
        `<tr><th scope="row">${h(s)}</th><td>${fmtInt(x.read)}</td><td class="${x.drift ? 'warn' : ''}">${fmtInt(x.drift)}</td><td>${x.error ? `<span class="warn">failed</span> ${h(x.error)}` : 'ok'}</td></tr>`,
    )
    .join('\n');
  const ids = r.driftIds.length
    ? `<div class="muted">drifted: ${r.driftIds
        .slice(0, 10)
        .map((id) => `<code>${h(id)}</code>`)
        .join(', ')}${r.drift > 10 ? ' …' : ''}</div>`
    : '';
  return `<p><b class="${r.drift ? 'warn' : ''}">${fmtInt(r.drift)}</b> drifted object(s) repaired by the pass of ${h(r.finishedAt)}</p><div class="scroll"><table><thead><tr><th>source</th><th>read</th><th>drift</th><th>status</th></tr></thead><tbody>${rows}</tbody></table></div>${ids}`;
}

function renderSubscriptions(subs: readonly SubscriptionState[]): string {
  if (subs.length === 0) return '<p>No subscriptions configured.</p>';
  const row = (w: SubscriptionState) => {
    const health = w.paused
      ? `<span class="warn">paused</span> since ${h(w.pausedAt ?? '')}<div class="reason">${h(w.pausedReason ?? '')}</div><div class="muted">resume: <code>portal-sync webhooks replay ${h(w.id)} --since ${h(w.failingSince ?? w.pausedAt ?? '')}</code></div>`
      : w.failingSince
        ? `<span class="warn">failing</span> since ${h(w.failingSince)}<div class="reason">${h(w.lastError ?? '')}</div>`
        : `ok${w.lastSuccessAt ? ` <span class="muted">last delivery ${h(w.lastSuccessAt)}</span>` : ''}`;
    return `<li><span class="tag">${h(w.id)}</span> ${fmtInt(w.pending)} pending for ${fmtInt(w.customersWaiting)} customer(s) — ${health}</li>`;
  };
  return `<ul class="list">${subs.map(row).join('\n')}</ul>`;
}

export interface AdminDashboardDeps {
  adminToken: string | undefined;
  guard: AdminGuard | undefined;
  config: Config;
  redis: Redis;
  ingestor: Ingestor;
  metrics: EdgeMetrics;
  logger: Logger;
}

/** Mounted at /admin before `adminRouter`; without ADMIN_TOKEN it serves nothing, and adminRouter answers 404. */
export function adminDashboardRouter(deps: AdminDashboardDeps): Router {
  const router = Router();
  const { adminToken: token, guard } = deps;
  if (!token || !guard) return router;
  const { config, redis, logger } = deps;
  const prefix = config.redis.prefix;
  const rates = new EventRates();
  // Made on first use, on the shared producer connection, and kept for the app's life.
  let queues: Queue[] | undefined;
  const openQueues = (): Queue[] => {
    if (!queues) {
      queues = [
        createEventsQueue(redis, prefix),
        ...PUSH_QUEUES.map((name) => openQueue(name, redis, prefix)),
        createDeflectionQueue(redis, prefix),
      ] as Queue[];
      for (const q of queues)
        q.on('error', (err: Error) => logger.warn({ err: err.message, queue: q.name }, 'admin queue error'));
    }
    return queues;
  };
  let board: RequestHandler | undefined;

  const readDashboard = async (lettersOffset: number): Promise<DashboardData> => {
    const all = openQueues();
    const [status, letters, conflicts, counter, quarantine] = await Promise.all([
      readStatus(redis, config),
      listDeadLetters(
        { queues: all, ingestor: deps.ingestor, close: async () => undefined },
        { offset: lettersOffset, limit: DEAD_LETTERS_SHOWN },
      ),
      new RecordStore(redis, prefix).listConflicts(),
      deps.metrics.events.get(),
      deps.ingestor.quarantined.stats(),
    ]);
    return {
      generatedAt: new Date(),
      // The same queues as `portal-sync status`, in its order.
      queues: Object.entries(status.queues).map(([name, q]) => ({ name, ...q })),
      deadLetters: { total: letters.total, first: letters.letters, offset: letters.offset },
      quarantined: quarantine.entries,
      quarantine: { bytes: quarantine.bytes, evicted: quarantine.evicted },
      conflicts: { total: conflicts.length, first: conflicts.slice(0, CONFLICTS_SHOWN) },
      events: rates.observe(counter.values),
      lastReconcile: status.reconcile,
      bulk: status.bulk,
      subscriptions: status.subscriptions,
      health: {
        workers: status.workers,
        lastWebhooks: status.lastWebhooks,
        portalSetup: status.portalSetup,
        stripeAccounts: config.stripe.accounts
          .filter((a) => a.secretKey !== undefined || a.webhookSecrets.length + a.connectWebhookSecrets.length > 0)
          .map(({ label, id, mode, connect }) => ({ label, id, mode, connect })),
      },
    };
  };

  router.use(loginRoutes(token, guard));
  router.use(requireAdmin(token, guard));
  router.get('/', async (req, res) => {
    const asked =
      typeof req.query.letters === 'string' && /^\d{1,7}$/.test(req.query.letters) ? Number(req.query.letters) : 0;
    let html: string;
    try {
      html = renderDashboardHtml(await readDashboard(asked), config.zendesk.brands ?? []);
    } catch (err) {
      logger.error({ err }, 'admin dashboard failed');
      res
        .status(503)
        .type('text/plain; charset=utf-8')
        .send('dashboard unavailable: its data could not be read (is Redis reachable?); try again\n');
      return;
    }
    res.setHeader('Content-Security-Policy', PAGE_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.status(200).type('text/html; charset=utf-8').send(html);
  });
  router.use('/queues', (req, res, next) => {
    board ??= boardHandler(openQueues(), { writes: config.admin.boardWrites });
    board(req, res, next);
  });
  // With the bearer header, adminRouter serves the report; with a browser session, this does.
  const deflection = deflectionPage(createDeflectionData(redis, prefix), logger, {
    listed: config.zendesk.brands ?? [],
  });
  router.get('/deflection', async (req, res, next) =>
    (await hasAdminSession(req, guard)) ? deflection(req, res, next) : next('route'),
  );
  return router;
}
