/**
 * A Zendesk field that pushes write to and the account lacks (deleted in Admin Center, or never provisioned)
 * shows in `status` as printed, on the admin dashboard and in /metrics: the worker checks the portal setup when it starts and every
 * push.setupCheckEveryMs, `status` names what is missing and the command that creates it, and once `portal-sync
 * setup zendesk` ran, the next check says ok. The stand-in is set up by the real setup code, the CLI runs as an
 * operator runs it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalTarget } from '../../src/connectors/targets.js';
import type { ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { runCli, type CliResult } from '../support/cli.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { metricValue } from '../support/http.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { zendeskStandInSetUp } from '../support/zendesk-config.js';
import { zendeskTargetEnv } from '../support/zendesk-setup.js';

let zd: ZendeskStandIn;
let p: TestPipeline;
let env: Record<string, string>;
const ADMIN = 'admin-token-for-the-setup-check-test-0123456789';
const dashboard = async () =>
  (await fetch(`${p.daemon.url}/admin`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();

beforeAll(async () => {
  ({ standIn: zd } = await zendeskStandInSetUp());
  // An admin deletes a field the target writes (Zendesk keeps answering 200 to writes of it, and drops them).
  const fields = zd.state.organizationFields;
  fields.splice(
    fields.findIndex((f) => f.key === 'portal_open_invoices'),
    1,
  );
  p = await startTestPipeline(
    { ...zendeskTargetEnv(zd), ADMIN_TOKEN: ADMIN },
    (c) => {
      c.push.setupCheckEveryMs = 300;
    },
    createPortalTarget,
  );
  env = {
    REDIS_URL: p.daemon.config.redis.url,
    REDIS_PREFIX: p.daemon.prefix,
    ...TEST_SECRETS,
    ...zendeskTargetEnv(zd),
  };
}, 60_000);
afterAll(async () => {
  await p?.stop();
  await zd?.close();
});

/** `status` as printed, once `until` holds of it (the worker checks in the background). */
async function statusWhen(until: (r: CliResult) => boolean): Promise<CliResult> {
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await runCli(['status'], env);
    if (until(r) || Date.now() > end) return r;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('status shows the portal setup a worker checked', { timeout: 180_000 }, () => {
  it('names the missing Zendesk field and the command that creates it, then says ok once setup created it', async () => {
    const missing = await statusWhen((r) => /portal setup zendesk/.test(r.stdout));
    expect(missing.stdout).toMatch(
      /^ {2}portal setup zendesk: 1 PROBLEM \(checked \d{4}-\d\d-\d\dT\S+Z\): what pushes write there is lost; `portal-sync setup zendesk` creates what is missing$/m,
    );
    expect(missing.stdout).toMatch(/^ {4}organization field portal_open_invoices \(integer\) is missing$/m);
    expect((await runCli(['status', '--json'], env)).json().portalSetup).toEqual({
      zendesk: {
        checkedAt: expect.any(String),
        problems: ['organization field portal_open_invoices (integer) is missing'],
      },
    });
    expect(await metricValue(p.daemon, 'portal_sync_portal_setup_problems', { target: 'zendesk' })).toBe(1);
    expect(await dashboard()).toMatch(
      /<ul class="list" id="portal-setup"><li><span class="tag">zendesk<\/span> <span class="warn">portal setup: 1 problem\(s\)<\/span>.*<li>organization field portal_open_invoices \(integer\) is missing<\/li>/,
    );

    const setup = await runCli(['setup', 'zendesk'], env);
    expect(setup.code).toBe(0);
    expect(setup.stdout).toMatch(/^ {2}created {2}organization field portal_open_invoices \(integer\)$/m);

    const ok = await statusWhen((r) => /portal setup zendesk: ok/.test(r.stdout));
    expect(ok.stdout).toMatch(/^ {2}portal setup zendesk: ok \(checked \d{4}-\d\d-\d\dT\S+Z\)$/m);
    expect(ok.stdout).not.toMatch(/portal_open_invoices/);
    expect(await metricValue(p.daemon, 'portal_sync_portal_setup_problems', { target: 'zendesk' })).toBe(0);
    expect(await dashboard()).toMatch(/<span class="tag">zendesk<\/span> portal setup ok/);
  });
});
