/**
 * The Help Center kit on a plan without help center JWTs, in Chromium: the token endpoint answers
 * 404 (as Zendesk does below Guide Enterprise), so the page lists the invoice and status records
 * the Zendesk target wrote, through the customer's own help center session, after
 * `setup zendesk --end-user-access`. Ann sees her organization's records, Bob his.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createZendeskClient } from '../../src/connectors/zendesk/client.js';
import { applyZendeskSetup, planZendeskSetup } from '../../src/connectors/zendesk/setup.js';
import { STANDIN_USER_COOKIE } from '../../src/demo/standins/zendesk/help-center.js';
import { createCustomer, startKitWorld, type KitCustomer, type KitWorld } from './help-center-support.js';
import { hasChromium, launchChromium } from '../support/chromium.js';

const results = resolve(import.meta.dirname, '../../test-results');
let w: KitWorld;
let browser: Browser;
let ann: KitCustomer;
let bob: KitCustomer;

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(results, { recursive: true });
  w = await startKitWorld({ PORTAL_TARGET: 'zendesk' }, (c) => {
    c.targets.zendesk.statusObject.enabled = true;
    c.push.debounceMs = 100;
  });
  const client = createZendeskClient(w.pipeline.daemon.config.zendesk);
  const cfg = w.pipeline.daemon.config.targets.zendesk;
  await applyZendeskSetup(client, cfg, await planZendeskSetup(client, cfg, { endUserAccess: true }));
  ann = await createCustomer(w, 'Acme Logistics', 'ann.lee@acme-logistics.example', { pastDue: true });
  bob = await createCustomer(w, 'Globex', 'bob@globex.example', { pastDue: false });
  await w.pipeline.drainAll();
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await w?.stop();
});

/** The billing page as `userId`, on a help center whose plan has no help center JWTs. */
async function openWithoutJwts(userId: number): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  await context.addCookies([{ name: STANDIN_USER_COOKIE, value: String(userId), url: w.zendesk.origin }]);
  const page = await context.newPage();
  await page.route('**/api/v2/help_center/integration/token*', (route) =>
    route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"RecordNotFound"}' }),
  );
  await page.goto(`${w.zendesk.origin}/hc/en-us/p/billing`);
  await page.waitForSelector('[data-portal-sync="page"]:not([data-state="loading"])[data-state]');
  return page;
}

describe('the Help Center kit without help center JWTs', () => {
  it.skipIf(!hasChromium)(
    "lists Ann her organization's invoices and past-due status from Zendesk, through her session, and calls portal-sync not at all",
    async () => {
      const page = await openWithoutJwts(ann.user.id);
      const toDaemon: string[] = [];
      page.on('request', (r) => void (r.url().startsWith(w.pipeline.daemon.url) && toDaemon.push(r.url())));
      await page.reload();
      await page.waitForSelector('[data-portal-sync="page"]:not([data-state="loading"])[data-state]');
      await page.screenshot({ path: join(results, 'help-center-kit-fallback-ann.png'), fullPage: true });

      const kit = page.locator('[data-portal-sync="page"]');
      expect(await kit.getAttribute('data-state')).toBe('ready');
      expect(await kit.locator('.psk-status [data-status]').getAttribute('data-status')).toBe('past_due');
      expect(
        (await kit.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-invoice')))).sort(),
      ).toEqual([...ann.invoiceIds].sort());
      expect(await kit.locator('section').count()).toBe(1); // no ticket list: tickets stay on "My requests"
      expect(toDaemon).toEqual([]);
      await page.context().close();
    },
  );

  it.skipIf(!hasChromium)('lists Bob only his own', async () => {
    const page = await openWithoutJwts(bob.user.id);

    const kit = page.locator('[data-portal-sync="page"]');
    expect(await kit.locator('.psk-status [data-status]').getAttribute('data-status')).toBe('active');
    expect(
      await kit.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-invoice'))),
    ).toEqual(bob.invoiceIds);
    const html = await page.content();
    for (const id of ann.invoiceIds) expect(html).not.toContain(id);
    await page.context().close();
  });
});
