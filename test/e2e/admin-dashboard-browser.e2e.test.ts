/**
 * The admin dashboard and queue board as a person sees them: headless Chromium
 * opens /admin (401 with the login form), logs in with the token through the
 * form, reads the figures on a phone, then opens /admin/queues. Screenshots go
 * to test-results/admin-*.png. Needs Debian's chromium at /usr/bin/chromium;
 * without it this test is skipped, never installed from here.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { sendStripe } from '../support/e2e.js';
import { fixtureJson, post } from '../support/http.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { CHROMIUM, hasChromium, launchChromiumProfile } from '../support/chromium.js';

if (!hasChromium) process.stderr.write(`admin-dashboard-browser: skipped, no ${CHROMIUM} (apt-get install chromium)\n`);

const ADMIN_TOKEN = 'admin_token_for_dashboard_browser_0123456789';
const results = resolve(import.meta.dirname, '../../test-results');
let pipeline: TestPipeline;
let browser: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  pipeline = await startTestPipeline({ ADMIN_TOKEN });
  const daemon = pipeline.daemon;
  // A small scenario: three customers, one update, and one payload that fails its schema (quarantined, with a reason).
  for (let i = 0; i < 3; i++)
    await sendStripe(daemon, 'customer.created.json', (e) => (e.data.object.id = `cus_admin_${process.pid}_${i}`));
  await sendStripe(daemon, 'customer.updated.json');
  const invalid = fixtureJson<any>('stripe/customer.subscription.updated.json');
  invalid.id = `evt_admin_browser_invalid_${process.pid}`;
  delete invalid.data.object.items;
  const body = JSON.stringify(invalid);
  expect(
    (
      await post(daemon, '/webhooks/stripe', body, {
        'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
      })
    ).status,
  ).toBe(202);
  await pipeline.drain();

  profile = mkdtempSync(join(tmpdir(), 'portal-sync-chromium-'));
  // A fresh profile, no bearer header (a person logs in), and nothing that phones home.
  browser = await launchChromiumProfile(profile);
  mkdirSync(results, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await pipeline?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('the admin dashboard in a browser', () => {
  it.skipIf(!hasChromium)(
    'asks to log in, then shows queues, events, dead letters and links on a phone; the board renders',
    async () => {
      const url = pipeline.daemon.url;
      const page = await browser!.newPage();
      await page.setViewportSize({ width: 390, height: 844 });
      const offsite: string[] = [];
      page.on('requestfinished', (r) => {
        if (!r.url().startsWith(url)) offsite.push(r.url());
      });
      const cspErrors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' && /Content Security Policy/i.test(m.text()) && !/fonts\.googleapis/.test(m.text()))
          cspErrors.push(m.text());
      });

      // Not logged in: 401, and the page is the login form.
      const first = await page.goto(`${url}/admin`);
      expect(first?.status()).toBe(401);
      await expect(page.locator('form[action="/admin/login"]').count()).resolves.toBe(1);
      await page.screenshot({ path: join(results, 'admin-login-phone.png'), fullPage: true });

      // A wrong token keeps us out.
      await page.fill('#token', 'not-the-token');
      const [refused] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
      expect(refused?.status()).toBe(401);
      expect(await page.locator('[role=alert]').innerText()).toContain('not the admin token');

      // The right one: redirected to the dashboard.
      await page.fill('#token', ADMIN_TOKEN);
      const [landed] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
      expect(landed?.status()).toBe(200);
      expect(new URL(page.url()).pathname).toBe('/admin');
      const cookies = await browser!.cookies(`${url}/admin`);
      expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['portal_sync_admin', true, 'Strict']]);
      expect(cookies[0]!.value).not.toContain(ADMIN_TOKEN);

      const text = await page.locator('body').innerText();
      for (const q of ['events', 'push-zendesk', 'push-salesforce', 'deflection']) expect(text).toContain(q);
      expect(text).toMatch(/sync lag/i);
      expect(text).toMatch(/stripe\s+5\.0\s+5\s+4\s+1/); // per minute (under a minute of history), total 5, accepted 4, quarantined 1
      expect(text).toMatch(/Dead letters \(1\)/);
      expect(text).toContain('quarantine');
      expect(text).toMatch(/items/); // the schema failure's reason
      expect(text).toMatch(/No reconcile has run yet/);
      // The fixture customers share an email: identity keeps them apart and says so.
      expect(text).toMatch(/Identity conflicts \(3\)/);
      expect(text).toMatch(/stripe records cust_\w+ and cust_\w+ kept apart/);
      expect(await page.locator('a[href="/admin/queues"]').count()).toBe(1);
      expect(await page.locator('a[href="/admin/deflection"]').count()).toBe(1);
      // Fits a phone: the page never scrolls sideways (wide tables scroll in their own box).
      expect(await page.locator('html').evaluate((html) => html.scrollWidth)).toBeLessThanOrEqual(390);
      await page.screenshot({ path: join(results, 'admin-dashboard-phone.png'), fullPage: true });

      // The deflection report opens with the same session.
      const deflection = await page.goto(`${url}/admin/deflection`);
      expect(deflection?.status()).toBe(200);

      // The queue board: rendered by its own scripts, from this server.
      await page.setViewportSize({ width: 1280, height: 900 });
      const board = await page.goto(`${url}/admin/queues`);
      expect(board?.status()).toBe(200);
      await page.getByText('push-zendesk').first().waitFor({ timeout: 15_000 });
      await page.getByText('Loading...').first().waitFor({ state: 'hidden', timeout: 15_000 });
      const boardText = await page.locator('body').innerText();
      for (const q of ['events', 'push-zendesk', 'push-salesforce', 'deflection']) expect(boardText).toContain(q);
      expect(boardText).toContain('portal-sync queues');
      await page.screenshot({ path: join(results, 'admin-queues-desktop.png'), fullPage: true });

      // The events queue's completed jobs are listed.
      await page.goto(`${url}/admin/queues/queue/events?status=completed`);
      await page
        .getByText(/customer\.created|stripe/)
        .first()
        .waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(results, 'admin-queues-events.png'), fullPage: true });

      expect(offsite).toEqual([]);
      expect(cspErrors).toEqual([]);
      await page.close();
    },
  );
});
