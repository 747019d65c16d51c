/** The dashboard's health section: each worker's heartbeat, and when each configured source last sent a webhook. */
import { LIVE_WITHIN_MS, type WorkerHealth } from '../../sync/health.js';
import { escapeHtml as h } from '../../sync/escape-html.js';

export interface HealthData {
  workers: WorkerHealth[];
  lastWebhooks: Record<string, string | null>;
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
  return `${head}${table}<ul class="list">${hooks.join('\n') || '<li>No receiver configured.</li>'}</ul>${accounts.length ? `<h3>Stripe accounts</h3><ul class="list">${accounts.join('\n')}</ul>` : ''}`;
}
