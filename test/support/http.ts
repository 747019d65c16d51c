/** Small helpers to talk to the daemon under test and look into its queue. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RunningDaemon } from '../../src/daemon.js';

export function fixture(path: string): string {
  return readFileSync(resolve(import.meta.dirname, '../fixtures', path), 'utf8');
}

export function fixtureJson<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(fixture(path)) as T;
}

export async function post(
  daemon: Pick<RunningDaemon, 'url'>,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; json: () => any; headers: Headers }> {
  const res = await fetch(`${daemon.url}${path}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text), headers: res.headers };
}

/** Jobs waiting in the events queue (no worker runs in these tests, so that is all of them). */
export async function queuedJobs(daemon: Pick<RunningDaemon, 'queue'>) {
  return daemon.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'], 0, 1000);
}

export async function metricValue(
  daemon: Pick<RunningDaemon, 'metrics'>,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = await daemon.metrics.registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val));
  return match?.value ?? 0;
}
