/**
 * The status record of `targets.zendesk.statusObject`, written by the Zendesk target against
 * the stand-in: with it on, a push (one by one, or in bulk) upserts one record per customer that
 * the customer's end users can read through their help center session after
 * `setup zendesk --end-user-access`; it never carries MRR or balance, and is off by default.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.js';
import { createZendeskTarget } from '../../../src/connectors/zendesk/target.js';
import { zendeskStandInSetUp } from '../../support/zendesk-config.js';
import { type ZendeskStandIn } from '../../../src/demo/standins/zendesk/index.js';
import type { PortalPush } from '../../../src/sync/push/portal-target.js';
import type { PortalProjection } from '../../../src/sync/events/project.js';

let standIn: ZendeskStandIn;
let config: Config;

beforeEach(async () => {
  ({ standIn, config } = await zendeskStandInSetUp());
});
afterEach(() => standIn.close());

const projection = (status: string, delinquent: boolean): PortalProjection => ({
  billing: {
    status,
    plan: 'Team (monthly)',
    currency: 'usd',
    mrr: 24_500,
    balance: 0,
    nextInvoiceDate: '2026-12-20T00:00:00.000Z',
    delinquent,
  },
  openInvoiceCount: delinquent ? 1 : 0,
  invoices: [],
  support: null,
});
const pushFor = (
  orgId: number,
  userId: number,
  p: PortalProjection,
  previous: PortalProjection | null,
): PortalPush => ({
  customerId: `cust_${orgId}`,
  links: {
    stripeCustomerId: null,
    salesforceAccountId: null,
    zendeskOrganizationId: String(orgId),
    contacts: [{ email: null, name: null, salesforceContactId: null, zendeskUserId: String(userId) }],
  },
  profile: null,
  projection: p,
  previous,
});
const statusRecords = () => [...(standIn.state.customObjectRecords.get('portal_account_status')?.values() ?? [])];
async function statusSeenBy(userId: number): Promise<unknown[]> {
  const res = await fetch(`${standIn.baseUrl}/custom_objects/portal_account_status/records`, {
    headers: { cookie: standIn.signIn(userId) },
  });
  return (
    (await res.json()) as { custom_object_records: { custom_object_fields: unknown }[] }
  ).custom_object_records.map((r) => r.custom_object_fields);
}

describe("the Zendesk target's status record", () => {
  it("is written once per change, with the customer-facing values only, and only that organization's users read it", async () => {
    config.targets.zendesk.statusObject.enabled = true;
    const target = createZendeskTarget(config);
    const acme = standIn.seedOrganization({ name: 'Acme' });
    const ann = standIn.seedUser({ name: 'Ann', organization_id: acme.id });
    const bob = standIn.seedUser({ name: 'Bob', organization_id: standIn.seedOrganization({ name: 'Globex' }).id });

    const first = await target.push(pushFor(acme.id, ann.id, projection('active', false), null));
    const again = await target.push(pushFor(acme.id, ann.id, projection('active', false), projection('active', false)));
    const pastDue = await target.push(
      pushFor(acme.id, ann.id, projection('past_due', true), projection('active', false)),
    );

    expect(first.wrote).toContain(`status:organization-${acme.id}`);
    expect(again.wrote).not.toContain(`status:organization-${acme.id}`);
    expect(pastDue.wrote).toContain(`status:organization-${acme.id}`);
    expect(statusRecords()).toHaveLength(1);
    expect(await statusSeenBy(ann.id)).toEqual([
      {
        billing_status: 'past_due',
        billing_plan: 'Team (monthly)',
        billing_next_invoice_date: '2026-12-20',
        billing_delinquent: true,
        portal_open_invoices: 1,
        organization_id: String(acme.id),
      },
    ]);
    expect(await statusSeenBy(bob.id)).toEqual([]);
  });

  it('is written by bulk pushes too', async () => {
    config.targets.zendesk.statusObject.enabled = true;
    const target = createZendeskTarget(config, { jobPolling: { intervalMs: 1, maxPolls: 5 } });
    const orgs = [1, 2, 3].map((n) => standIn.seedOrganization({ name: `Org ${n}` }));
    const users = orgs.map((o) => standIn.seedUser({ organization_id: o.id }));

    const out = await target.pushMany!(
      orgs.map((o, i) => pushFor(o.id, users[i]!.id, projection('active', false), null)),
      { gate: undefined } as never,
    );

    expect(out.items.every((i) => i.ok)).toBe(true);
    expect(
      statusRecords()
        .map((r) => r.external_id)
        .sort(),
    ).toEqual(orgs.map((o) => `organization-${o.id}`).sort());
  });

  it('is off by default: nothing is written to the status object', async () => {
    const target = createZendeskTarget(config);
    const acme = standIn.seedOrganization({ name: 'Acme' });

    const out = await target.push(
      pushFor(acme.id, standIn.seedUser({ organization_id: acme.id }).id, projection('active', false), null),
    );

    expect(out.wrote.some((w) => w.startsWith('status:'))).toBe(false);
    expect(statusRecords()).toEqual([]);
  });
});
