/**
 * The Experience Cloud component (salesforce/…/lwc/portalCustomerView) outside Salesforce, for the
 * browser test: its own files compiled by the LWC compiler sfdx-lwc-jest uses (@lwc/compiler), run
 * by the LWC engine (@lwc/engine-dom) in Chromium as native ES modules — no bundler, nothing fetched
 * from the network. What Salesforce supplies at run time is stood in for: the Apex method's answer
 * is what PortalCustomerViewController.getView returns for the member's Account, computed by running
 * the controller's own SOQL (read out of the .cls file) against the Salesforce stand-in, and mapped
 * field by field as its toInvoiceRow/toTicketRow do; the i18n imports are the member's locale and
 * time zone. Sharing, field-level security and USER_MODE are Salesforce's and are not modelled.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import type { SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';

const require = createRequire(import.meta.url);
export const LWC_DIR = resolve(import.meta.dirname, '../../salesforce/force-app/main/default/lwc');
const APEX_CLASS = resolve(
  import.meta.dirname,
  '../../salesforce/force-app/main/default/classes/PortalCustomerViewController.cls',
);
/** Where the page is served from, by Playwright's router (never the network). */
export const SITE = 'https://experience-cloud.site.test';

interface TransformResult {
  code: string;
}
const compiler = require('@lwc/compiler') as {
  transformSync(
    src: string,
    filename: string,
    opts: { name: string; namespace: string; outputConfig?: { sourcemap?: boolean }; scopedStyles?: boolean },
  ): TransformResult;
};

/** One file of a `c` namespace component, compiled to an ES module (templates and styles become modules too). */
export function compileLwcFile(component: string, file: string): string {
  const path = join(LWC_DIR, component, file);
  if (file.endsWith('.scoped.css')) return 'export default undefined;'; // the component has no scoped styles
  return compiler.transformSync(readFileSync(path, 'utf8'), path, {
    name: component,
    namespace: 'c',
    scopedStyles: false,
  }).code;
}

// ---------------------------------------------------------------------------------------------
// The Apex controller's answer, from the Salesforce stand-in
// ---------------------------------------------------------------------------------------------

export interface ApexCustomerView {
  accountName: string | null;
  billingStatus: string | null;
  plan: string | null;
  nextInvoiceDate: string | null;
  delinquent: boolean | null;
  invoices: Array<Record<string, unknown>>;
  tickets: Array<Record<string, unknown>>;
}

/** The three SOQL queries of PortalCustomerViewController.viewOf, in order, as the class holds them. */
export function controllerQueries(): string[] {
  const source = readFileSync(APEX_CLASS, 'utf8');
  const body = source.slice(source.indexOf('private static CustomerView viewOf('));
  return [...body.matchAll(/\[\s*(SELECT[\s\S]*?)\]/g)].slice(0, 3).map((m) => m[1]!.replace(/\s+/g, ' ').trim());
}

/** A query as the stand-in runs it: bind variables filled in, USER_MODE left to Salesforce. */
function bound(soql: string, accountId: string, maxRows: number): string {
  return soql
    .replaceAll(':accountId', `'${accountId}'`)
    .replaceAll(':MAX_ROWS', String(maxRows))
    .replace(/\s+WITH USER_MODE\b/, '');
}

/** How Aura serializes an Apex Datetime to a component: ISO 8601 in UTC. */
const datetime = (v: unknown) =>
  typeof v === 'string' ? new Date(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')).toISOString() : null;

export async function apexCustomerView(sf: SalesforceStandIn, accountId: string): Promise<ApexCustomerView> {
  const maxRows = Number(/MAX_ROWS\s*=\s*(\d+)/.exec(readFileSync(APEX_CLASS, 'utf8'))?.[1]);
  const [accountSoql, invoiceSoql, ticketSoql] = controllerQueries();
  const query = async (soql: string) => {
    const res = await fetch(
      `${sf.instanceUrl}/services/data/v${sf.apiVersion}/query?q=${encodeURIComponent(bound(soql, accountId, maxRows))}`,
      {
        headers: { authorization: `Bearer ${sf.accessToken}` },
      },
    );
    if (!res.ok) throw new Error(`stand-in query failed (${res.status}): ${await res.text()}`);
    return ((await res.json()) as { records: Array<Record<string, unknown>> }).records;
  };
  const [account] = await query(accountSoql!);
  if (!account) throw new Error(`no Account ${accountId} in the stand-in`);
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    accountName: str(account['Name']),
    billingStatus: str(account['Billing_Status__c']),
    plan: str(account['Billing_Plan__c']),
    nextInvoiceDate: str(account['Next_Invoice_Date__c']),
    delinquent: typeof account['Billing_Delinquent__c'] === 'boolean' ? account['Billing_Delinquent__c'] : null,
    invoices: (await query(invoiceSoql!)).map((i) => ({
      id: i['Id'],
      stripeInvoiceId: str(i['Stripe_Invoice_Id__c']),
      numberLabel: str(i['Invoice_Number__c']),
      status: str(i['Status__c']),
      total: num(i['Total__c']),
      amountDue: num(i['Amount_Due__c']),
      amountPaid: num(i['Amount_Paid__c']),
      currencyCode: str(i['Currency__c']),
      dueDate: str(i['Due_Date__c']),
      hostedUrl: str(i['Hosted_Url__c']),
      pdfUrl: str(i['Pdf_Url__c']),
    })),
    tickets: (await query(ticketSoql!)).map((t) => ({
      id: t['Id'],
      zendeskTicketId: str(t['Zendesk_Ticket_Id__c']),
      subject: str(t['Subject__c']),
      status: str(t['Status__c']),
      updatedAt: datetime(t['Zendesk_Updated_At__c']),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

export interface MemberPage {
  /** `track` calls the component made (PortalSyncActivity.track), in order. */
  tracked(): Promise<unknown[]>;
}

/**
 * Serves, on `page`, an Experience Cloud-like page holding the real component, whose getView()
 * answers `view` (or fails with `error`, as an AuraHandledException reaches a component).
 */
export async function openMemberPage(
  page: Page,
  opts: { view: ApexCustomerView | null; error?: string; locale: string; timeZone: string; title?: string },
): Promise<MemberPage> {
  // The engine's ES module build (its package "main" is the CommonJS one).
  const engine = readFileSync(join(dirname(require.resolve('@lwc/engine-dom')), 'index.js'), 'utf8');
  const stubs: Record<string, string> = {
    'apex/PortalCustomerViewController.getView.js': opts.error
      ? `export default () => Promise.reject({ body: { message: ${JSON.stringify(opts.error)} } });`
      : `export default () => Promise.resolve(JSON.parse(${JSON.stringify(JSON.stringify(opts.view))}));`,
    'apex/PortalSyncActivity.track.js':
      'export default (args) => { (window.__tracked ||= []).push(args); return Promise.resolve(); };',
    'i18n/locale.js': `export default ${JSON.stringify(opts.locale)};`,
    'i18n/timeZone.js': `export default ${JSON.stringify(opts.timeZone)};`,
  };
  const html = `<!doctype html>
<html lang="${opts.locale}"><head><meta charset="utf-8"><title>Acme customer site: billing</title>
<script>window.process = { env: { NODE_ENV: 'production' } };</script>
<script type="importmap">${JSON.stringify({
    imports: {
      lwc: `${SITE}/lwc/engine-dom.js`,
      '@salesforce/apex/': `${SITE}/salesforce/apex/`,
      '@salesforce/i18n/locale': `${SITE}/salesforce/i18n/locale.js`,
      '@salesforce/i18n/timeZone': `${SITE}/salesforce/i18n/timeZone.js`,
    },
  })}</script>
<style>
  /* A plain Experience Cloud (LWR) site frame: the theme's font and page colours, nothing from SLDS. */
  body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 15px; color: #181818; background: #f3f3f3; }
  header { background: #032d60; color: #fff; padding: 14px 32px; font-weight: 600; }
  main { max-width: 980px; margin: 24px auto; background: #fff; padding: 24px 32px; border-radius: 4px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
</style></head>
<body><header>Acme Logistics · Customer site</header><main id="region"></main>
<script type="module">
  import { createElement } from 'lwc';
  import PortalCustomerView from '${SITE}/c/portalCustomerView/portalCustomerView.js';
  const element = createElement('c-portal-customer-view', { is: PortalCustomerView });
  ${opts.title ? `element.title = ${JSON.stringify(opts.title)};` : ''}
  document.getElementById('region').appendChild(element);
</script></body></html>`;

  await page.route(`${SITE}/**`, async (route) => {
    const path = new URL(route.request().url()).pathname;
    const js = (body: string) => route.fulfill({ status: 200, contentType: 'text/javascript', body });
    if (path === '/' || path === '/s/billing')
      return route.fulfill({ status: 200, contentType: 'text/html', body: html });
    if (path === '/lwc/engine-dom.js') return js(engine);
    if (path.startsWith('/salesforce/')) {
      const stub = stubs[path.slice('/salesforce/'.length).replace(/(\.js)?$/, '.js')];
      return stub ? js(stub) : route.fulfill({ status: 404, body: 'no such Salesforce module' });
    }
    const m = /^\/c\/(\w+)\/([\w.]+)$/.exec(path);
    if (m) {
      // A module's own imports are relative and extensionless (`./format`): the file is its .js.
      const file = /\.(js|html|css)$/.test(m[2]!) ? m[2]! : `${m[2]}.js`;
      return js(compileLwcFile(m[1]!, file));
    }
    return route.fulfill({ status: 404, body: 'not found' });
  });
  await page.goto(`${SITE}/s/billing`);
  return { tracked: () => page.evaluate(() => (window as unknown as { __tracked?: unknown[] }).__tracked ?? []) };
}
