/**
 * The Help Center kit on two brands' Help Centers, in headless Chromium: each brand's theme names its
 * brand (the portal_sync_brand_id setting), and the signed-in customer sees that brand's tickets under
 * "Your <brand> tickets", with the same billing on both; the activity the page sends carries the brand.
 * Screenshots under test-results/ (the Acme one also as docs/images/help-center-brand-acme.png when
 * UPDATE_DOC_IMAGES=1). Skipped without Debian's chromium at /usr/bin/chromium.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN_USER_COOKIE } from '../../src/demo/standins/zendesk/help-center.js';
import { sendZendesk } from '../support/e2e.js';
import { createCustomer, startKitWorld, type KitCustomer, type KitWorld } from './help-center-support.js';
import { hasChromium, launchChromium } from '../support/chromium.js';

const results = resolve(import.meta.dirname, '../../test-results');
const ACME = '360000000001';
const GLOBEX = '360000000002';
let w: KitWorld;
let browser: Browser;
let ann: KitCustomer;

const ticket = (id: string, subject: string, brand: string) => (e: any) => {
  e.id = `kit-brand-${id}`;
  Object.assign(e.detail, {
    id,
    subject,
    brand_id: brand,
    status: 'OPEN',
    organization_id: String(ann.organizationId),
    requester_id: String(ann.user.id),
    updated_at: '2026-12-01T10:00:00Z',
  });
};

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(results, { recursive: true });
  w = await startKitWorld({}, (c) => {
    c.zendesk.brands = [
      { id: ACME, name: 'Acme', hosts: [] },
      { id: GLOBEX, name: 'Globex', hosts: [] },
    ];
  });
  ann = await createCustomer(w, 'Acme Logistics', 'ann.lee@acme-logistics.example', { pastDue: false });
  await sendZendesk(w.pipeline.daemon, 'ticket.status_changed.json', ticket('8101', 'Where is my Acme invoice?', ACME));
  await sendZendesk(w.pipeline.daemon, 'ticket.status_changed.json', ticket('8102', 'Globex order status', GLOBEX));
  await sendZendesk(w.pipeline.daemon, 'ticket.status_changed.json', ticket('8103', 'Acme seat count', ACME));
  await w.settle();
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await w?.stop();
});

/** The billing page of the Help Center whose theme names `brand`, signed in as Ann: its tickets heading, ticket ids and invoice ids. */
async function billingOn(brand: string, screenshot: string) {
  w.zendesk.theme.settings.portal_sync_brand_id = brand;
  const context = await browser.newContext({
    viewport: { width: 1280, height: 860 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  await context.addCookies([{ name: STANDIN_USER_COOKIE, value: String(ann.user.id), url: w.zendesk.origin }]);
  const page = await context.newPage();
  const activity = page.waitForRequest((r) => r.url().endsWith('/events/portal') && r.method() === 'POST');
  await page.goto(`${w.zendesk.origin}/hc/en-us/p/billing`);
  await page.waitForSelector('[data-portal-sync="page"]:not([data-state="loading"])[data-state]');
  await page.screenshot({ path: join(results, screenshot), fullPage: true });
  const kit = page.locator('[data-portal-sync="page"]');
  const seen = {
    state: await kit.getAttribute('data-state'),
    heading: await kit.locator('section[data-brand] h2').innerText(),
    tickets: await kit.locator('[data-ticket]').evaluateAll((li) => li.map((l) => l.getAttribute('data-ticket'))),
    invoices: await kit.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-invoice'))),
    sentBrand: (JSON.parse((await activity).postData() ?? '{}') as { events: Array<{ brand_id?: string }> }).events[0]
      ?.brand_id,
  };
  await context.close();
  return seen;
}

describe("the Help Center kit on a brand's Help Center", () => {
  it.skipIf(!hasChromium)(
    "shows the customer that brand's tickets under the brand's name, the same invoices on both, and reports activity as that brand's",
    async () => {
      const acme = await billingOn(ACME, 'help-center-kit-brand-acme.png');
      if (process.env['UPDATE_DOC_IMAGES'] === '1')
        copyFileSync(
          join(results, 'help-center-kit-brand-acme.png'),
          resolve(import.meta.dirname, '../../docs/images/help-center-brand-acme.png'),
        );
      const globex = await billingOn(GLOBEX, 'help-center-kit-brand-globex.png');

      expect(acme).toMatchObject({ state: 'ready', heading: 'Your Acme tickets', sentBrand: ACME });
      expect(acme.tickets.sort()).toEqual(['8101', '8103']);
      expect(globex).toMatchObject({
        state: 'ready',
        heading: 'Your Globex tickets',
        tickets: ['8102'],
        sentBrand: GLOBEX,
      });
      expect(globex.invoices.sort()).toEqual([...ann.invoiceIds].sort());
      expect(acme.invoices.sort()).toEqual(globex.invoices.sort());
    },
  );
});
