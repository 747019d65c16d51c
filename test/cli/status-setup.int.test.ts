/**
 * A field that pushes write to and the portal lacks (deleted in Admin Center, never provisioned, a package not
 * deployed) shows in `status` as printed, on the admin dashboard and in /metrics: the worker checks the portal
 * setup when it starts (Zendesk also every push.setupCheckEveryMs), and `status` names what is missing, what that
 * does to pushes and what fixes it. For Zendesk, once the real `portal-sync setup zendesk` ran, the next check
 * says ok. The stand-ins are set up by the real setup code or the metadata package; the CLI runs as an operator
 * runs it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { provisionedSalesforceFields } from '../../src/demo/salesforce-fields.js';
import { startSalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { hasChromium, launchChromiumProfile } from '../support/chromium.js';
import { runCli, type CliResult } from '../support/cli.js';
import { TEST_SECRETS, testConfig } from '../support/daemon.js';
import { metricValue } from '../support/http.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { zendeskStandInSetUp } from '../support/zendesk-config.js';
import { zendeskTargetEnv } from '../support/zendesk-setup.js';

const ADMIN = 'admin-token-for-the-setup-check-test-0123456789';

/** A pipeline whose worker pushes to the portal that `targetEnv` names, and the env its CLI runs with. */
async function pipelineFor(
  targetEnv: Record<string, string>,
): Promise<{ p: TestPipeline; env: Record<string, string> }> {
  const p = await startTestPipeline(
    { ...targetEnv, ADMIN_TOKEN: ADMIN },
    (c) => {
      c.push.setupCheckEveryMs = 300;
    },
    createPortalTarget,
  );
  const env = { REDIS_URL: p.daemon.config.redis.url, REDIS_PREFIX: p.daemon.prefix, ...TEST_SECRETS, ...targetEnv };
  return { p, env };
}

/** `status` as printed, once `until` holds of it (the worker checks in the background). */
async function statusWhen(env: Record<string, string>, until: (r: CliResult) => boolean): Promise<CliResult> {
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await runCli(['status'], env);
    if (until(r) || Date.now() > end) return r;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const dashboard = async (p: TestPipeline) =>
  (await fetch(`${p.daemon.url}/admin`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
const CHECKED = String.raw`\(checked \d{4}-\d\d-\d\dT\S+Z\)`;

/** The dashboard's portal setup list as a person sees it on a phone (headless Chromium); a screenshot in test-results/. */
async function setupAsSeen(p: TestPipeline, screenshot: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'portal-sync-chromium-'));
  const browser = await launchChromiumProfile(profile, { authorization: `Bearer ${ADMIN}` });
  try {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${p.daemon.url}/admin`);
    const list = page.locator('#portal-setup');
    await list.scrollIntoViewIfNeeded();
    const results = resolve(import.meta.dirname, '../../test-results');
    mkdirSync(results, { recursive: true });
    await page.screenshot({ path: join(results, screenshot) });
    return await list.innerText();
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** A portal stand-in and a pipeline pushing to it, started before a describe's tests and stopped after them. */
function portalForTests<S extends { close(): Promise<void> }>(
  start: () => Promise<{ standIn: S; targetEnv: Record<string, string> }>,
): { standIn: S; p: TestPipeline; env: Record<string, string> } {
  const ctx = {} as { standIn: S; p: TestPipeline; env: Record<string, string> };
  beforeAll(async () => {
    const { standIn, targetEnv } = await start();
    ctx.standIn = standIn;
    Object.assign(ctx, await pipelineFor(targetEnv));
  }, 60_000);
  afterAll(async () => {
    await ctx.p?.stop();
    await ctx.standIn?.close();
  });
  return ctx;
}

describe('status shows the Zendesk setup a worker checked', { timeout: 180_000 }, () => {
  const portal = portalForTests(async () => {
    const { standIn } = await zendeskStandInSetUp();
    // An admin deletes a field the target writes (Zendesk keeps answering 200 to writes of it, and drops them).
    const fields = standIn.state.organizationFields;
    fields.splice(
      fields.findIndex((f) => f.key === 'portal_open_invoices'),
      1,
    );
    return { standIn, targetEnv: zendeskTargetEnv(standIn) };
  });

  it('names the missing field, what is lost and the command that creates it, then says ok once setup created it', async () => {
    const { p, env } = portal;
    const missing = await statusWhen(env, (r) => /portal setup zendesk/.test(r.stdout));
    expect(missing.stdout).toMatch(
      new RegExp(
        `^ {2}portal setup zendesk: 1 PROBLEM ${CHECKED}: what pushes write there is lost; \`portal-sync setup zendesk\` creates what is missing$`,
        'm',
      ),
    );
    expect(missing.stdout).toMatch(/^ {4}organization field portal_open_invoices \(integer\) is missing$/m);
    expect((await runCli(['status', '--json'], env)).json().portalSetup).toEqual({
      zendesk: {
        checkedAt: expect.any(String),
        problems: ['organization field portal_open_invoices (integer) is missing'],
        consequence: 'what pushes write there is lost',
        fix: '`portal-sync setup zendesk` creates what is missing',
      },
    });
    expect(await metricValue(p.daemon, 'portal_sync_portal_setup_problems', { target: 'zendesk' })).toBe(1);
    expect(await dashboard(p)).toMatch(
      /<ul class="list" id="portal-setup"><li><span class="tag">zendesk<\/span> <span class="warn">portal setup: 1 problem\(s\)<\/span>: what pushes write there is lost; <code>portal-sync setup zendesk<\/code> creates what is missing .*<li>organization field portal_open_invoices \(integer\) is missing<\/li>/,
    );

    if (hasChromium)
      expect(await setupAsSeen(p, 'admin-portal-setup-phone.png')).toMatch(
        /^zendesk portal setup: 1 problem\(s\): what pushes write there is lost; portal-sync setup zendesk creates what is missing checked \S+\n+organization field portal_open_invoices \(integer\) is missing$/,
      );

    const setup = await runCli(['setup', 'zendesk'], env);
    expect(setup.code).toBe(0);
    expect(setup.stdout).toMatch(/^ {2}created {2}organization field portal_open_invoices \(integer\)$/m);

    const ok = await statusWhen(env, (r) => /portal setup zendesk: ok/.test(r.stdout));
    expect(ok.stdout).toMatch(new RegExp(`^ {2}portal setup zendesk: ok ${CHECKED}$`, 'm'));
    expect(ok.stdout).not.toMatch(/portal_open_invoices/);
    expect(await metricValue(p.daemon, 'portal_sync_portal_setup_problems', { target: 'zendesk' })).toBe(0);
    expect(await dashboard(p)).toMatch(/<span class="tag">zendesk<\/span> portal setup ok/);
  });
});

describe('status says when the portal setup could not be checked', { timeout: 180_000 }, () => {
  const portal = portalForTests(async () => {
    const { standIn } = await zendeskStandInSetUp();
    return { standIn, targetEnv: zendeskTargetEnv(standIn) };
  });

  it('says since when and why, keeps what the last check found, and says ok again once Zendesk answers', async () => {
    const { standIn: zd, p, env } = portal;
    await statusWhen(env, (r) => /portal setup zendesk: ok/.test(r.stdout));
    // A Zendesk outage: every call answers 503.
    zd.setFaults({ rate: 1, kinds: ['503'] });
    const failing = await statusWhen(env, (r) => /COULD NOT CHECK/.test(r.stdout));
    const failingJson = (await runCli(['status', '--json'], env)).json().portalSetup.zendesk;
    const failingMetric = await metricValue(p.daemon, 'portal_sync_portal_setup_check_failing', { target: 'zendesk' });
    const seen = hasChromium ? await setupAsSeen(p, 'admin-portal-setup-failing-phone.png') : null;
    zd.setFaults(null);

    expect(failing.stdout).toMatch(
      /^ {2}portal setup zendesk: COULD NOT CHECK since \S+Z \(last try \S+Z\): .*503.*; pushes there may be failing too \(portal-sync dlq list\)$/m,
    );
    expect(failing.stdout).toMatch(new RegExp(`^ {4}last check: ok ${CHECKED}$`, 'm'));
    expect(failingMetric).toBe(1);
    expect(failingJson.failure).toMatchObject({ reason: expect.stringMatching(/503/), status: 503 });
    if (seen !== null)
      expect(seen).toMatch(
        /^zendesk portal setup: could not check since \S+: .*503.*; pushes there may be failing too last try \S+\nlast check: portal setup ok checked \S+$/,
      );

    const ok = await statusWhen(env, (r) => /portal setup zendesk: ok/.test(r.stdout));
    expect(ok.stdout).toMatch(new RegExp(`^ {2}portal setup zendesk: ok ${CHECKED}$`, 'm'));
    expect(ok.stdout).not.toMatch(/COULD NOT CHECK|last check/);
    expect(await metricValue(p.daemon, 'portal_sync_portal_setup_check_failing', { target: 'zendesk' })).toBe(0);
  });
});

describe('status shows the Salesforce setup a worker checked at start', { timeout: 180_000 }, () => {
  const portal = portalForTests(async () => {
    const cfg = testConfig().targets.salesforce;
    // The metadata package deployed, but an older one: it lacks the Account's open ticket count.
    const fields = provisionedSalesforceFields(cfg);
    fields['Account'] = fields['Account']!.filter((f) => f.name !== cfg.accountFields.openTickets);
    const standIn = await startSalesforceStandIn({ fields });
    return {
      standIn,
      targetEnv: {
        PORTAL_TARGET: 'salesforce',
        SALESFORCE_INSTANCE_URL: standIn.instanceUrl,
        SALESFORCE_ACCESS_TOKEN: standIn.accessToken,
      },
    };
  });

  it('names the missing Account field, that pushes writing there fail, and how to deploy the package', async () => {
    const { p, env } = portal;
    const missing = await statusWhen(env, (r) => /portal setup salesforce/.test(r.stdout));
    expect(missing.stdout).toMatch(
      new RegExp(
        `^ {2}portal setup salesforce: 1 PROBLEM ${CHECKED}: pushes writing there fail; deploy the metadata package \\(\`portal-sync setup salesforce\` shows how\\)$`,
        'm',
      ),
    );
    expect(missing.stdout).toMatch(new RegExp(`^ {4}field Account\\.${cfgOpenTickets()} is missing$`, 'm'));
    expect(await metricValue(p.daemon, 'portal_sync_portal_setup_problems', { target: 'salesforce' })).toBe(1);
  });
});

const cfgOpenTickets = () => testConfig().targets.salesforce.accountFields.openTickets;
