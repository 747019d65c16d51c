/**
 * A Zendesk stand-in as `portal-sync setup zendesk` leaves it for the default mapping — the billing
 * organization fields and the portal_invoice custom object — and the env that points the daemon's
 * Zendesk target at a stand-in, and where a stand-in sends its event webhooks.
 */
import type { ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { TEST_SECRETS } from './daemon.js';

const BILLING_ORG_FIELDS = [
  'billing_status',
  'billing_plan',
  'billing_mrr',
  'billing_balance',
  'billing_next_invoice_date',
  'billing_delinquent',
  'portal_open_invoices',
];

/** The portal_invoice object's fields as setup creates them for the default mapping. */
export const INVOICE_OBJECT_FIELDS = [
  'invoice_number',
  'invoice_status',
  'total',
  'amount_due',
  'amount_paid',
  'currency',
  'due_date',
  'hosted_invoice_url',
  'invoice_pdf_url',
  'organization_id',
  'user_id',
];

/** The organization fields the Zendesk target writes billing to (`billing_delinquent` a checkbox, the rest text). */
export function seedBillingOrgFields(zd: ZendeskStandIn): void {
  for (const key of BILLING_ORG_FIELDS)
    zd.seedField('organization', { key, type: key === 'billing_delinquent' ? 'checkbox' : 'text' });
}

/** The same fields as user fields: where the target writes billing for a customer without an organization. */
export function seedBillingUserFields(zd: ZendeskStandIn): void {
  for (const key of BILLING_ORG_FIELDS)
    zd.seedField('user', { key, type: key === 'billing_delinquent' ? 'checkbox' : 'text' });
}

/** The portal_invoice custom object with its text fields. */
export function seedInvoiceObject(zd: ZendeskStandIn): void {
  zd.seedCustomObject('portal_invoice', { fields: INVOICE_OBJECT_FIELDS.map((key) => ({ key, type: 'text' })) });
}

/** The billing organization fields and the portal_invoice object with its text fields. */
export function seedZendeskSetup(zd: ZendeskStandIn): void {
  seedBillingOrgFields(zd);
  seedInvoiceObject(zd);
}

/** The env of a daemon whose one portal target is this Zendesk stand-in. */
export function zendeskTargetEnv(zd: ZendeskStandIn): Record<string, string> {
  return {
    PORTAL_TARGET: 'zendesk',
    ZENDESK_BASE_URL: zd.baseUrl,
    ZENDESK_EMAIL: zd.credentials.email,
    ZENDESK_API_TOKEN: zd.credentials.token,
  };
}

/** Where a Zendesk stand-in sends its event webhooks: the test daemon on `port`, signed with the test secret. */
export function zendeskWebhookTo(port: number): { url: string; secret: string } {
  return { url: `http://127.0.0.1:${port}/webhooks/zendesk`, secret: TEST_SECRETS.ZENDESK_WEBHOOK_SECRET };
}
