/**
 * The dashboard's health section: each worker's heartbeat, when each configured source last sent a webhook, and
 * what a checked portal target lacks of what pushes write to (push/setup-check.ts).
 */
import { LIVE_WITHIN_MS, type WorkerHealth } from '../../sync/health.js';
import { escapeHtml as h } from '../../sync/escape-html.js';
import { setupCheckFailing, type SetupCheck } from '../../sync/push/setup-check.js';

export interface HealthData {
  workers: WorkerHealth[];
  lastWebhooks: Record<string, string | null>;
  /** Per portal target a worker checked: what its platform lacks, and when. */
  portalSetup?: Record<string, SetupCheck>;
  /** The Stripe accounts events are received and read for (config stripe.accounts, or the single account). */
  stripeAccounts?: Array<{ label: string; id: string | null; mode: 'test' | 'live' | null; connect: boolean }>;
}

function stripeAccountRow(a: NonNullable<HealthData['stripeAccounts']>[number]): string {
  const id = a.id === null ? '<span class="muted">unnamed (set STRIPE_ACCOUNT_ID)</span>' : `<code>${h(a.id)}</code>`;
  const mode = a.mode === null ? '<span class="warn">test and live</span>' : h(a.mode);
  return `<li><span class="tag">stripe ${h(a.label)}</span> ${id} · ${mode}${a.connect ? ' · Connect platform: its connected accounts too' : ''}</li>`;
}

function workerRow(w: WorkerHealth): string {
  const state = w.stoppedAt
    ? `<span class="warn">stopped</span> at ${h(w.stoppedAt)}`
    : w.live
      ? `live <span class="muted">last seen ${w.lastSeenSecondsAgo}s ago</span>`
      : `<span class="warn">not seen</span> since ${h(w.lastSeenAt)} (killed or hung)`;
  return `<tr><th scope="row">${h(w.role)}</th><td>${h(w.host)}</td><td>${w.pid}</td><td>${h(w.lastSeenAt)}</td><td>${state}</td></tr>`;
}

/** A check's findings as the dashboard lists them: ok, or the problems, what they do and the command that mends them. */
function findingsHtml(c: SetupCheck): string {
  return c.problems.length === 0
    ? `portal setup ok <span class="muted">checked ${h(c.checkedAt ?? '')}</span>`
    : `<span class="warn">portal setup: ${c.problems.length} problem(s)</span>: ${h(c.consequence)}; ${h(c.fix).replace(/`([^`]+)`/g, '<code>$1</code>')} <span class="muted">checked ${h(c.checkedAt ?? '')}</span><ul>${c.problems.map((p) => `<li>${h(p)}</li>`).join('')}</ul>`;
}

/** Each checked target: its findings, or, while checks cannot run, since when and why and what the last one found. */
function setupList(checks: Record<string, SetupCheck>): string {
  const items = Object.entries(checks).map(([target, c]) => {
    const tag = `<span class="tag">${h(target)}</span>`;
    if (!setupCheckFailing(c)) return `<li>${tag} ${findingsHtml(c)}</li>`;
    const f = c.failure!;
    const last = c.checkedAt === null ? 'no check has run yet' : `last check: ${findingsHtml(c)}`;
    return `<li>${tag} <span class="warn">portal setup: could not check</span> since ${h(f.since)}: ${h(f.reason)}; pushes there may be failing too <span class="muted">last try ${h(f.at)}</span><div>${last}</div></li>`;
  });
  return items.length ? `<h3>Portal setup</h3><ul class="list" id="portal-setup">${items.join('\n')}</ul>` : '';
}

export function renderHealth(d: HealthData): string {
  const live = d.workers.filter((w) => w.live).length;
  const head =
    live > 0
      ? `<p><b>${live}</b> live worker(s)</p>`
      : `<p class="warn" id="no-live-worker">No live worker: none beat in the last ${LIVE_WITHIN_MS / 1000} s, so nothing applies events or pushes. Is <code>portal-sync start</code> running?</p>`;
  const table = d.workers.length
    ? `<div class="scroll"><table><thead><tr><th>role</th><th>host</th><th>pid</th><th>last seen</th><th>state</th></tr></thead><tbody>${d.workers.map(workerRow).join('\n')}</tbody></table></div>`
    : '';
  const hooks = Object.entries(d.lastWebhooks).map(
    ([s, at]) =>
      `<li><span class="tag">${h(s)}</span> ${at ? `last webhook ${h(at)}` : '<span class="warn">no webhook yet</span>'}</li>`,
  );
  const accounts = (d.stripeAccounts ?? []).map(stripeAccountRow);
  return `${head}${table}<ul class="list">${hooks.join('\n') || '<li>No receiver configured.</li>'}</ul>${setupList(d.portalSetup ?? {})}${accounts.length ? `<h3>Stripe accounts</h3><ul class="list">${accounts.join('\n')}</ul>` : ''}`;
}
