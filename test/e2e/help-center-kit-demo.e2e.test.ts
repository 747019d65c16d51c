/**
 * `portal-sync demo`'s help center in Chromium: the page opened from the printed URL before the
 * scripted day starts follows it — Ann is signed in once Zendesk holds her, and Acme's status
 * goes from active to past_due as the script plays. Its last screenshot is README's and docs/setup-zendesk.md's
 * "What your customers see" (test-results/help-center-demo.png; written to
 * docs/images/help-center-billing.png too when UPDATE_DOC_IMAGES=1).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoEnvironment, type DemoEnvironment } from '../../src/demo/environment.js';
import { playScriptedDay } from '../../src/demo/script.js';
import { hasChromium, launchChromium } from '../support/chromium.js';

const results = resolve(import.meta.dirname, '../../test-results');
let env: DemoEnvironment;
let browser: Browser;

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(results, { recursive: true });
  env = await startDemoEnvironment({ port: 0, logLevel: 'silent' });
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe("the demo's help center", () => {
  it.skipIf(!hasChromium)(
    "shows Acme's status going active → past_due while the scripted day plays",
    async () => {
      const page = await browser.newPage({
        viewport: { width: 1100, height: 900 },
        locale: 'en-US',
        timezoneId: 'UTC',
      });
      await page.goto(env.helpCenterUrl); // before Ann exists: the sign-in page waits for her
      const seen: string[] = [];
      let watching = true;
      const watch = (async () => {
        while (watching) {
          const status = await page
            .locator('[data-portal-sync="page"] .psk-status [data-status]')
            .getAttribute('data-status', { timeout: 200 })
            .catch(() => null);
          if (status && seen.at(-1) !== status) seen.push(status);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      // Long enough pauses for a page that reads each second to show every state.
      const facts = await playScriptedDay(env, () => undefined, { pauseMs: 1_500 });
      await page.waitForFunction(
        () =>
          document.querySelector('[data-portal-sync="page"] .psk-status [data-status]')?.getAttribute('data-status') ===
          'past_due',
      );
      watching = false;
      await watch;

      expect(seen.indexOf('active')).toBeGreaterThanOrEqual(0);
      expect(seen.indexOf('past_due')).toBeGreaterThan(seen.indexOf('active'));
      expect(page.url()).toMatch(/\/hc\/en-us\/p\/billing$/);
      const rows = await page
        .locator('[data-portal-sync="page"] tbody tr')
        .evaluateAll((trs) => trs.map((r) => r.getAttribute('data-invoice')));
      expect(rows.sort()).toEqual([...facts.invoiceIds].sort());
      expect(await page.locator('[data-portal-sync="page"]').innerText()).toMatch(/Locked out after a password reset/);
      await page.screenshot({ path: join(results, 'help-center-demo.png'), fullPage: true });
      if (process.env['UPDATE_DOC_IMAGES'] === '1')
        copyFileSync(
          join(results, 'help-center-demo.png'),
          resolve(import.meta.dirname, '../../docs/images/help-center-billing.png'),
        );
      await page.close();
    },
    180_000,
  );
});
