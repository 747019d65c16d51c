/**
 * The deflection page as a person sees it: /admin/deflection opened in
 * headless Chromium at a phone's width, screenshots kept under test-results/.
 * Needs Debian's chromium at /usr/bin/chromium (.ci/run installs it); without
 * it this test is skipped, never installed from here.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDeflectionFixture, type DeflectionFixture } from '../fixtures/deflection/fixture.js';
import { seedDeflectionFixture, shiftDeflectionFixture } from '../fixtures/deflection/seed.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { CHROMIUM, hasChromium, launchChromiumProfile } from '../support/chromium.js';

if (!hasChromium) process.stderr.write(`report-browser: skipped, no ${CHROMIUM} (apt-get install chromium)\n`);

const ADMIN_TOKEN = 'admin_token_for_browser_0123456789';
const results = resolve(import.meta.dirname, '../../test-results');
let daemon: TestDaemon;
let fx: DeflectionFixture;
let browser: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  daemon = await startTestDaemon({ ADMIN_TOKEN });
  fx = shiftDeflectionFixture(loadDeflectionFixture('two-weeks'), new Date(Date.now() + 60_000));
  await seedDeflectionFixture(daemon.redis, daemon.prefix, fx);
  profile = mkdtempSync(join(tmpdir(), 'portal-sync-chromium-'));
  // A fresh profile, and nothing that phones home: the run stays offline and repeatable.
  browser = await launchChromiumProfile(profile, { authorization: `Bearer ${ADMIN_TOKEN}` });
});
afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('the deflection page in a browser', () => {
  it.skipIf(!hasChromium)(
    'shows the figures, categories and no-result searches on a phone, loading nothing else',
    async () => {
      const page = await browser!.newPage();
      await page.setViewportSize({ width: 390, height: 844 });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const url = `${daemon.url}/admin/deflection?since=${encodeURIComponent(fx.period.from.toISOString())}`;
      const res = await page.goto(url);
      expect(res?.status()).toBe(200);

      mkdirSync(results, { recursive: true });
      await page.screenshot({ path: join(results, 'deflection-report-phone.png'), fullPage: true });

      const text = await page.locator('body').innerText();
      expect(text).toContain('Self-service deflection');
      expect(text).toMatch(/Self-service sessions\s+5/i);
      expect(text).toMatch(/Self-service resolution\s+66\.7%\s+4 of 6 classified sessions/i);
      expect(text).toMatch(/Portal adoption\s+50\.0%\s+4 of 8 customers had a session/i);
      expect(text).toMatch(/Ticket deflection\s+50\.0%/i);
      for (const category of ['billing', 'documents', 'account', 'status']) expect(text).toContain(category);
      expect(text).not.toContain('onboarding'); // nothing classified there
      expect(text).toMatch(/download invoice\s+3/);
      expect(text).toMatch(/cancel plan\s+1/);

      // Readable on a phone: the page itself never scrolls sideways (only a long trend chart may, inside its box).
      expect(await page.locator('html').evaluate((html) => html.scrollWidth)).toBeLessThanOrEqual(390);
      expect(await page.locator('svg.chart').count()).toBe(2);
      expect(requests).toEqual([url]);
      await page.close();
    },
  );

  it.skipIf(!hasChromium)('lays out the same page on a desktop', async () => {
    const page = await browser!.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${daemon.url}/admin/deflection?since=${encodeURIComponent(fx.period.from.toISOString())}`);
    await page.screenshot({ path: join(results, 'deflection-report-desktop.png'), fullPage: true });
    const widths = await page
      .locator('svg.chart')
      .evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect().width));
    for (const w of widths) expect(w).toBeGreaterThan(300);
    await page.close();
  });
});
