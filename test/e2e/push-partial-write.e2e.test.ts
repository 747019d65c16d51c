/**
 * A push that wrote part of a change and failed leaves nothing stale on the portal, end to end: the real
 * node-zendesk SDK against the Zendesk stand-in. The organization's fields are written, the invoice's call
 * fails, and before the retry the record goes back to what the target had accepted (the invoice is paid):
 * the difference from the accepted state no longer names the count, so only a retry that writes the whole
 * projection (the writer token the failed try left set says so) puts the organization right.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPortals } from '../../bench/lib/resync-seed.js';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { sendStripe, standInTargetsEnv, until } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';

let zd: ZendeskStandIn;
let sf: SalesforceStandIn;
let p: TestPipeline;

beforeAll(async () => {
  zd = await startZendeskStandIn();
  sf = await startSalesforceStandIn({ orgId: TEST_SECRETS.SALESFORCE_ORG_ID });
  p = await startTestPipeline(
    standInTargetsEnv(zd, sf),
    (c) => {
      c.push.debounceMs = 50;
      // A failed try waits 1–2 s: time for the customer to change in between.
      c.push.backoffMs = 2_000;
    },
    createPortalTarget,
  );
  provisionPortals(zd, sf, p.daemon.config.targets);
}, 30_000);

afterAll(async () => {
  await p?.stop();
  await Promise.all([zd?.close(), sf?.close()]);
});

const orgUpdates = (from: number, org: number) =>
  zd.calls.slice(from).filter((c) => c.method === 'PUT' && c.path === `/organizations/${org}`);
const invoiceCalls = (from: number, id: string) =>
  zd.calls.slice(from).filter((c) => c.path.startsWith('/custom_objects/portal_invoice/') && c.query.includes(id));
const invoiceEvent = (fixture: string, id: string, customer: string, later = 0) =>
  sendStripe(p.daemon, fixture, (e) => {
    e.data.object.id = id;
    e.data.object.customer = customer;
    e.data.object.number = id.toUpperCase();
    e.created += later;
  });

describe('a push that wrote part of a change and failed', () => {
  it("leaves the organization's open-invoice count right when the invoice was paid before the retry", async () => {
    const org = zd.seedOrganization({ name: 'Partial write' }).id;
    await sendStripe(p.daemon, 'customer.created.json', (e) => {
      e.data.object.id = 'cus_partial_1';
      e.data.object.email = 'billing@partial.example';
      e.data.object.metadata = { zendesk_organization_id: String(org) };
    });
    await until('the first push', () => orgUpdates(0, org).some((c) => c.status === 200));
    await p.drainAll();

    const from = zd.calls.length;
    zd.failNext(4, 500, undefined, /external_id=in_partial_1\b/); // the invoice's call fails past its in-place retries
    await invoiceEvent('invoice.finalized.json', 'in_partial_1', 'cus_partial_1');
    await until('the fields written', () => orgUpdates(from, org).some((c) => c.status === 200));
    expect(zd.state.organizations.get(org)?.organization_fields).toMatchObject({ portal_open_invoices: 1 });
    await until('the try to fail', () => invoiceCalls(from, 'in_partial_1').length >= 4);

    await invoiceEvent('invoice.paid.json', 'in_partial_1', 'cus_partial_1', 3600);
    await p.drain();
    await until(
      'the invoice written',
      () => zd.state.customObjectRecords.get('portal_invoice')?.get('in_partial_1'),
      20_000,
    );
    await p.drainAll();

    expect(zd.state.organizations.get(org)?.organization_fields).toMatchObject({ portal_open_invoices: 0 });
    expect(zd.state.customObjectRecords.get('portal_invoice')?.get('in_partial_1')?.custom_object_fields).toMatchObject(
      {
        invoice_status: 'paid',
      },
    );
  }, 40_000);
});
