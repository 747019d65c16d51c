/**
 * The Help Center kit as customers see it: the real theme page (templates/custom_pages/billing.hbs
 * with assets/portal-sync.js) served by the Zendesk stand-in, opened in headless Chromium signed in
 * as Ann (Acme, past due) or Bob (Globex), reading GET /portal/v1/me of the running daemon with
 * the stand-in's help center JWTs. Screenshots under test-results/. Skipped without Debian's
 * chromium at /usr/bin/chromium (never installed from here).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDIN_USER_COOKIE } from '../../src/demo/standins/zendesk/help-center.js';
import { createCustomer, startKitWorld, type KitCustomer, type KitWorld } from './help-center-support.js';
import { hasChromium, launchChromium } from '../support/chromium.js';

if (!hasChromium)
  process.stderr.write('help-center-kit-browser: skipped, no /usr/bin/chromium (apt-get install chromium)\n');

const results = resolve(import.meta.dirname, '../../test-results');
let w: KitWorld;
let browser: Browser;
let ann: KitCustomer;
let bob: KitCustomer;
let nobodyId: number;

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(results, { recursive: true });
  w = await startKitWorld();
  ann = await createCustomer(w, 'Acme Logistics', 'ann.lee@acme-logistics.example', { pastDue: true });
  bob = await createCustomer(w, 'Globex', 'bob@globex.example', { pastDue: false });
  nobodyId = w.zendesk.seedUser({ name: 'Nobody', email: 'nobody@elsewhere.example' }).id;
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await w?.stop();
});

/** A browser session signed in to the help center as `userId`. */
async function signedIn(
  userId: number,
  viewport = { width: 1280, height: 860 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC' });
  await context.addCookies([{ name: STANDIN_USER_COOKIE, value: String(userId), url: w.zendesk.origin }]);
  return { context, page: await context.newPage() };
}

const billingUrl = (locale = 'en-us') => `${w.zendesk.origin}/hc/${locale}/p/billing`;
const kit = (page: Page) => page.locator('[data-portal-sync="page"]');

/** Opens the billing page and waits until the kit has settled in a final state. */
async function openBilling(page: Page, locale?: string): Promise<string> {
  await page.goto(billingUrl(locale));
  await page.waitForSelector('[data-portal-sync="page"]:not([data-state="loading"])[data-state]');
  return (await kit(page).getAttribute('data-state')) ?? '';
}

const invoiceRows = (page: Page) => kit(page).locator('tbody tr');

describe('the Help Center billing page in a browser', () => {
  it.skipIf(!hasChromium)(
    'shows Ann her past-due status and her 2 invoices, whose hosted pages open, and reports the visit',
    async () => {
      const { context, page } = await signedIn(ann.user.id);
      const activity = page.waitForResponse(
        (r) => r.url().endsWith('/events/portal') && r.request().method() === 'POST',
      );

      expect(await openBilling(page)).toBe('ready');
      await page.screenshot({ path: join(results, 'help-center-kit-ann.png'), fullPage: true });

      const status = kit(page).locator('.psk-status [data-status]');
      expect(await status.getAttribute('data-status')).toBe('past_due');
      expect(await status.innerText()).toBe('Past due');
      await expect
        .poll(() => kit(page).locator('[role="status"].psk-alert').innerText())
        .toMatch(/payment is overdue/i);
      expect(await invoiceRows(page).count()).toBe(2);
      const rowIds = await invoiceRows(page).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-invoice')));
      expect(rowIds.sort()).toEqual([...ann.invoiceIds].sort());
      const text = await kit(page).innerText();
      expect(text).toMatch(/\$49\.00/); // money through Intl, in major units
      expect(text).toMatch(/Last updated/);
      expect(text).not.toMatch(/Globex/);

      // Every "View" link is a hosted invoice page that opens, for that invoice.
      const views = kit(page).getByRole('link', { name: /^View /i });
      expect(await views.count()).toBe(2);
      for (const href of await views.evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href))) {
        const res = await context.request.get(href);
        expect(res.status()).toBe(200);
        expect(await res.text()).toMatch(/<h1>Invoice /);
      }
      const [hosted] = await Promise.all([context.waitForEvent('page'), views.first().click()]);
      await hosted.waitForLoadState();
      expect(await hosted.title()).toMatch(/^Invoice /);

      // The visit went to portal-sync with the page's token, accepted.
      expect((await activity).status()).toBeLessThan(300);
      await context.close();
    },
  );

  it.skipIf(!hasChromium)('shows Bob (another organization) only his own invoice and status', async () => {
    const { context, page } = await signedIn(bob.user.id);

    expect(await openBilling(page)).toBe('ready');
    await page.screenshot({ path: join(results, 'help-center-kit-bob.png'), fullPage: true });

    expect(await kit(page).locator('.psk-status [data-status]').getAttribute('data-status')).toBe('active');
    expect(await invoiceRows(page).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-invoice')))).toEqual(
      bob.invoiceIds,
    );
    const html = await page.content();
    for (const id of ann.invoiceIds) expect(html).not.toContain(id);
    expect(html).not.toMatch(/Acme|Past due/);
    await context.close();
  });

  it.skipIf(!hasChromium)("shows dates and money in the help center's locale", async () => {
    const { context, page } = await signedIn(ann.user.id);

    expect(await openBilling(page, 'de')).toBe('ready');

    expect(await kit(page).innerText()).toMatch(/49,00\s\$/);
    await context.close();
  });

  it.skipIf(!hasChromium)('a user without a customer gets the polite not-found note, not an error', async () => {
    const { context, page } = await signedIn(nobodyId);

    expect(await openBilling(page)).toBe('not-found');
    await page.screenshot({ path: join(results, 'help-center-kit-not-found.png'), fullPage: true });

    expect(await kit(page).locator('[role="status"]').innerText()).toMatch(/could not find a billing account/i);
    expect(await kit(page).locator('table').count()).toBe(0);
    await context.close();
  });

  for (const [name, forge] of [
    ['forged', () => w.zendesk.helpCenter.sign(w.zendesk.helpCenter.claimsOf(ann.user), { foreign: true })],
    [
      'expired',
      () => {
        const now = Math.floor(Date.now() / 1000);
        return w.zendesk.helpCenter.sign(w.zendesk.helpCenter.claimsOf(ann.user), {
          issuedAt: now - 3_600,
          expiresAt: now - 600,
        });
      },
    ],
  ] as const) {
    it.skipIf(!hasChromium)(`a ${name} token shows the error state and nothing of Ann's account`, async () => {
      const { context, page } = await signedIn(ann.user.id);
      const token = await forge();
      // The page receives the bad token where Zendesk's token would be.
      await page.route('**/api/v2/help_center/integration/token*', (route) =>
        route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ token }) }),
      );

      expect(await openBilling(page)).toBe('unauthorized');
      await page.screenshot({ path: join(results, `help-center-kit-${name}-token.png`), fullPage: true });

      const alert = kit(page).locator('[role="alert"]');
      expect(await alert.innerText()).toMatch(/could not confirm your sign-in/i);
      expect(await alert.getAttribute('data-http-status')).toBe('401');
      const html = await page.content();
      for (const id of ann.invoiceIds) expect(html).not.toContain(id);
      await context.close();
    });
  }

  it.skipIf(!hasChromium)(
    'an invoice paid in Stripe shows as paid on the next reload once its webhook is applied',
    async () => {
      const { context, page } = await signedIn(ann.user.id);
      const overdue = ann.invoiceIds[1]!;
      expect(await openBilling(page)).toBe('ready');
      const row = kit(page).locator(`tr[data-invoice="${overdue}"] [data-status]`);
      expect(await row.getAttribute('data-status')).toBe('open');

      w.stripe.payInvoice(overdue); // Stripe retries the card; its webhooks go to the daemon
      await w.settle();

      // Visible on reload within a bound (polled: reloads until shown, up to 1 s after the record has it).
      const end = Date.now() + 1_000;
      let shown: string | null = null;
      do {
        await openBilling(page);
        shown = await kit(page).locator(`tr[data-invoice="${overdue}"] [data-status]`).getAttribute('data-status');
      } while (shown !== 'paid' && Date.now() < end);
      expect(shown).toBe('paid');
      await page.screenshot({ path: join(results, 'help-center-kit-paid.png'), fullPage: true });
      await context.close();
    },
  );

  it.skipIf(!hasChromium)("fits a phone, and the home page's status panel links to the billing page", async () => {
    const { context, page } = await signedIn(ann.user.id, { width: 390, height: 844 });
    expect(await openBilling(page)).toBe('ready');
    await page.screenshot({ path: join(results, 'help-center-kit-phone.png'), fullPage: true });
    // The page never scrolls sideways; only the invoice table may, inside its box.
    expect(await page.locator('html').evaluate((h) => h.scrollWidth)).toBeLessThanOrEqual(390);

    await page.goto(`${w.zendesk.origin}/hc/en-us`);
    const panel = page.locator('[data-portal-sync="panel"]');
    await page.waitForSelector('[data-portal-sync="panel"]:not([data-state="loading"])[data-state]');
    await page.screenshot({ path: join(results, 'help-center-kit-panel.png'), fullPage: true });
    expect(await panel.getAttribute('data-state')).toBe('ready');
    expect(await panel.innerText()).toMatch(/Status\s+Paid|Status\s+Active|Status\s+Past due/);
    expect(await panel.getByRole('link', { name: 'Billing and invoices' }).getAttribute('href')).toBe(
      '/hc/en-us/p/billing',
    );
    await context.close();
  });
});
