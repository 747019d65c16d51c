/**
 * The Experience Cloud component (portalCustomerView) as Acme's signed-in member sees it, in
 * Chromium: the real component, compiled by the LWC compiler and run by the LWC engine, on a page
 * standing for the Experience Cloud site; its Apex call answers what PortalCustomerViewController
 * would read from the org after `portal-sync demo`'s scripted day — the Account fields and
 * Portal_Invoice__c / Support_Ticket__c records the daemon's Salesforce target wrote into the
 * Salesforce stand-in, read with the controller's own SOQL (experience-cloud-support.ts). Apex,
 * sharing and the site's own chrome are Salesforce's and are not run here.
 *
 * Its screenshot is the one in README "What your customers see" and docs/setup-salesforce.md: written to
 * test-results/experience-cloud-billing.png on every run, and to docs/images/ when
 * UPDATE_DOC_IMAGES=1 (so that a test run never leaves the checkout changed).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoEnvironment, type DemoEnvironment } from '../../src/demo/environment.js';
import { playScriptedDay, type DemoFacts } from '../../src/demo/script.js';
import {
  apexCustomerView,
  controllerQueries,
  openMemberPage,
  type ApexCustomerView,
} from './experience-cloud-support.js';
import { hasChromium, launchChromium } from '../support/chromium.js';

const results = resolve(import.meta.dirname, '../../test-results');
const docsImage = resolve(import.meta.dirname, '../../docs/images/experience-cloud-billing.png');
let env: DemoEnvironment;
let browser: Browser;
let facts: DemoFacts;
let view: ApexCustomerView;

const money = (amount: number, currency: string) =>
  new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount);
const texts = (page: Page, id: string) => page.locator(`c-portal-customer-view [data-id="${id}"]`).allInnerTexts();

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(results, { recursive: true });
  env = await startDemoEnvironment({ port: 0, logLevel: 'silent' });
  facts = await playScriptedDay(env, () => undefined, { pauseMs: 0 });
  await env.settle();
  view = await apexCustomerView(env.salesforce, facts.accountId);
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe('the Experience Cloud component in a browser', () => {
  it("reads the controller's three queries out of the Apex class (Account, invoices, tickets)", () => {
    expect(controllerQueries().map((q) => /FROM (\w+)/.exec(q)?.[1])).toEqual([
      'Account',
      'Portal_Invoice__c',
      'Support_Ticket__c',
    ]);
  });

  it.skipIf(!hasChromium)(
    "shows Acme's member the Account's past-due status, its invoices with their amounts, and its tickets, as the Salesforce target wrote them",
    async () => {
      // What the org holds after the scripted day (the daemon wrote it): the component must show exactly this.
      expect(view.accountName).toBe(facts.accountName);
      expect(view.billingStatus).toBe('past_due');
      expect(view.invoices.map((i) => i['stripeInvoiceId']).sort()).toEqual([...facts.invoiceIds].sort());

      const page = await browser.newPage({
        viewport: { width: 1100, height: 800 },
        locale: 'en-US',
        timezoneId: 'UTC',
      });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      const member = await openMemberPage(page, { view, locale: 'en-US', timeZone: 'UTC' });
      await page.locator('c-portal-customer-view [data-id="billing-status"]').waitFor();
      expect(errors).toEqual([]);

      expect(await texts(page, 'billing-status')).toEqual(['Past due']);
      expect(await page.locator('c-portal-customer-view [data-id="billing-status"]').getAttribute('class')).toContain(
        'status_attention',
      );
      expect(await texts(page, 'plan')).toEqual([view.plan]);
      expect((await texts(page, 'delinquent')).length).toBe(view.delinquent ? 1 : 0);

      // Open invoices first, each with its number, status, total and amount due in its currency, and its Stripe links.
      const rows = view.invoices.toSorted((a, b) => Number(b['status'] === 'open') - Number(a['status'] === 'open'));
      expect(await texts(page, 'invoice-number')).toEqual(rows.map((i) => i['numberLabel'] ?? i['stripeInvoiceId']));
      expect(await texts(page, 'invoice-status')).toEqual(
        rows.map((i) => ({ open: 'Open', paid: 'Paid' })[i['status'] as string] ?? i['status']),
      );
      expect(await texts(page, 'invoice-total')).toEqual(
        rows.map((i) => money(i['total'] as number, i['currencyCode'] as string)),
      );
      // "Amount due" is what is left to pay: a paid invoice's Amount_Due__c keeps what was due.
      expect(await texts(page, 'invoice-due')).toEqual(
        rows.map((i) => money((i['amountDue'] as number) - (i['amountPaid'] as number), i['currencyCode'] as string)),
      );
      expect(rows.some((i) => i['status'] === 'paid' && (i['amountDue'] as number) > 0)).toBe(true);
      expect(await texts(page, 'invoice-status')).toContain('Open');
      // Stripe's hosted pages are https; the demo's Stripe stand-in serves its own over plain http on
      // loopback, and the component links https pages only: so here, rows without links.
      const links = await page
        .locator('c-portal-customer-view [data-id="invoice-link"]')
        .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
      expect(links).toEqual(rows.map((i) => i['hostedUrl'] as string | null).filter((u) => u?.startsWith('https://')));
      expect(rows.every((i) => typeof i['hostedUrl'] === 'string')).toBe(true);

      // The tickets Zendesk holds for Acme, by subject.
      expect((await texts(page, 'ticket-subject')).sort()).toEqual(
        view.tickets.map((t) => t['subject'] as string).sort(),
      );
      expect(await texts(page, 'ticket-subject')).toContain('Locked out after a password reset');
      expect(await member.tracked()).toEqual([]);

      const shot = join(results, 'experience-cloud-billing.png');
      await page.screenshot({ path: shot, fullPage: true });
      if (process.env['UPDATE_DOC_IMAGES'] === '1') copyFileSync(shot, docsImage);
      await page.close();
    },
    60_000,
  );

  it.skipIf(!hasChromium)(
    "shows the controller's message, and a retry, when the member may not read the billing details",
    async () => {
      const page = await browser.newPage({ viewport: { width: 900, height: 500 }, locale: 'en-US', timezoneId: 'UTC' });
      const message =
        'Your billing details are not available to your user. Your site administrator can grant them (permission set Portal Customer View).';
      await openMemberPage(page, { view: null, error: message, locale: 'en-US', timeZone: 'UTC' });
      await page.locator('c-portal-customer-view [data-id="error"]').waitFor();
      expect(await page.locator('c-portal-customer-view [data-id="error"]').innerText()).toContain(message);
      expect(await page.locator('c-portal-customer-view [data-id="error"] button').innerText()).toBe('Try again');
      expect(await page.locator('c-portal-customer-view [data-id="invoice"]').count()).toBe(0);
      await page.close();
    },
    30_000,
  );
});
