/**
 * A stopped daemon is visibly different from an idle one: `status` lists each worker's heartbeat
 * (role, host, pid, last seen) and when each configured source last sent a webhook, and exits 3
 * when no worker is live; /metrics shows the same.
 */
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendStripe } from '../support/e2e.js';
import { runCli } from '../support/cli.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';

const ADMIN = 'admin-token-for-the-health-test-0123456789';
let p: TestPipeline;
const dashboard = async () =>
  (await fetch(`${p.daemon.url}/admin`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
let env: Record<string, string>;

beforeAll(async () => {
  p = await startTestPipeline({ ADMIN_TOKEN: ADMIN });
  env = { REDIS_URL: p.daemon.config.redis.url, REDIS_PREFIX: p.daemon.prefix, ...TEST_SECRETS };
});
afterAll(async () => {
  await p.daemon.stop();
});

describe('status, while a worker runs and after it stopped', { timeout: 240_000 }, () => {
  it('lists the live worker and the last webhook per source and exits 0; once the worker stops, says STOPPED and NONE LIVE and exits 3', async () => {
    await sendStripe(p.daemon, 'customer.created.json');
    const running = await runCli(['status'], env);
    expect(running.stderr).toBe('');
    expect(running.code).toBe(0);
    expect(running.stdout).toMatch(/^ {2}workers: 1 live$/m);
    expect(running.stdout).toMatch(
      new RegExp(`^ {4}worker on ${hostname()} pid ${process.pid}: live, last seen \\d+s ago \\(started \\S+\\)$`, 'm'),
    );
    // Every receiver the test secrets switch on is listed; only Stripe has spoken.
    expect(running.stdout).toMatch(
      /^ {2}last webhook: stripe \d{4}-\d\d-\d\dT\S+Z \(\d+s ago\), zendesk never, salesforce never, portal never$/m,
    );
    const json = (await runCli(['status', '--json'], env)).json();
    expect(json.workers).toEqual([
      expect.objectContaining({
        role: 'worker',
        host: hostname(),
        pid: process.pid,
        live: true,
        lastSeenAt: expect.any(String),
      }),
    ]);
    expect(json.lastWebhooks).toEqual({ stripe: expect.any(String), zendesk: null, salesforce: null, portal: null });

    const metrics = await (await fetch(`${p.daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/^portal_sync_workers_live 1$/m);
    expect(metrics).toMatch(
      new RegExp(
        `^portal_sync_worker_last_seen_timestamp_seconds\\{role="worker",host="${hostname()}",pid="${process.pid}"\\} \\d+`,
        'm',
      ),
    );
    expect(metrics).toMatch(/^portal_sync_last_webhook_timestamp_seconds\{source="stripe"\} \d+/m);

    const page = await dashboard();
    expect(page).toContain('<h2 id="hw">Workers and webhooks</h2>');
    expect(page).toMatch(
      new RegExp(`<tr><th scope="row">worker</th><td>${hostname()}</td><td>${process.pid}</td><td>\\S+</td><td>live `),
    );
    expect(page).toMatch(/<span class="tag">stripe<\/span> last webhook \d{4}-/);
    expect(page).toMatch(/<span class="tag">zendesk<\/span> <span class="warn">no webhook yet<\/span>/);

    await p.worker.close();
    const stopped = await runCli(['status'], env);
    expect(stopped.code).toBe(3);
    expect(stopped.stdout).toMatch(
      /^ {2}workers: NONE LIVE \(no heartbeat in the last 30 s\): nothing applies events or pushes; is `portal-sync start` running\?$/m,
    );
    expect(stopped.stdout).toMatch(
      new RegExp(`^ {4}worker on ${hostname()} pid ${process.pid}: STOPPED at \\S+$`, 'm'),
    );
    expect((await runCli(['status', '--json'], env)).code).toBe(3);
    expect(await (await fetch(`${p.daemon.url}/metrics`)).text()).toMatch(/^portal_sync_workers_live 0$/m);
    const after = await dashboard();
    expect(after).toContain('No live worker: none beat in the last 30 s');
    expect(after).toContain('<span class="warn">stopped</span> at ');
  });
});
