/** The dashboard's health section: each worker's heartbeat, and when each configured source last sent a webhook. */
import { LIVE_WITHIN_MS, type WorkerHealth } from '../sync/health.js';
import { escapeHtml as h } from '../sync/escape-html.js';

export interface HealthData {
  workers: WorkerHealth[];
  lastWebhooks: Record<string, string | null>;
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
  const head = live > 0
    ? `<p><b>${live}</b> live worker(s)</p>`
    : `<p class="warn" id="no-live-worker">No live worker: none beat in the last ${LIVE_WITHIN_MS / 1000} s, so nothing applies events or pushes. Is <code>portal-sync start</code> running?</p>`;
  const table = d.workers.length
    ? `<div class="scroll"><table><thead><tr><th>role</th><th>host</th><th>pid</th><th>last seen</th><th>state</th></tr></thead><tbody>${d.workers.map(workerRow).join('\n')}</tbody></table></div>`
    : '';
  const hooks = Object.entries(d.lastWebhooks).map(([s, at]) => `<li><span class="tag">${h(s)}</span> ${at ? `last webhook ${h(at)}` : '<span class="warn">no webhook yet</span>'}</li>`);
  return `${head}${table}<ul class="list">${hooks.join('\n') || '<li>No receiver configured.</li>'}</ul>`;
}
