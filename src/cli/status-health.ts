/** The health part of `status`: live workers (exit 3 when none) and when each configured source last sent a webhook. */
import type { WorkerHealth } from '../sync/health.js';
import { LIVE_WITHIN_MS } from '../sync/health.js';

/** `status` exits with this when no worker is live: a stopped daemon, not an idle one. */
export const NO_LIVE_WORKER_EXIT = 3;

function ago(seconds: number): string {
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} days ago`;
}

function workerLine(w: WorkerHealth): string {
  const who = `${w.role} on ${w.host} pid ${w.pid}`;
  if (w.stoppedAt) return `    ${who}: STOPPED at ${w.stoppedAt}`;
  if (!w.live) return `    ${who}: NOT SEEN since ${w.lastSeenAt} (${ago(w.lastSeenSecondsAgo)}): killed or hung`;
  return `    ${who}: live, last seen ${ago(w.lastSeenSecondsAgo)} (started ${w.startedAt})`;
}

export function healthLines(
  workers: readonly WorkerHealth[],
  lastWebhooks: Record<string, string | null>,
  now = Date.now(),
): string[] {
  const live = workers.filter((w) => w.live).length;
  const lines = [
    live > 0
      ? `  workers: ${live} live`
      : `  workers: NONE LIVE (no heartbeat in the last ${LIVE_WITHIN_MS / 1000} s): nothing applies events or pushes; is \`portal-sync start\` running?`,
    ...workers.map(workerLine),
  ];
  const sources = Object.entries(lastWebhooks);
  if (sources.length === 0) lines.push('  last webhook: no receiver configured');
  else {
    const said = sources.map(([s, at]) =>
      at ? `${s} ${at} (${ago(Math.max(0, Math.round((now - Date.parse(at)) / 1000)))})` : `${s} never`,
    );
    lines.push(`  last webhook: ${said.join(', ')}`);
  }
  return lines;
}
