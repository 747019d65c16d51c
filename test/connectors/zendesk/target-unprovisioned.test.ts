/**
 * Zendesk answers 200 to a write naming a custom field the account does not define and drops the value (its
 * REST API ignores what is not in its data model; the stand-in does the same). The Zendesk target reads the
 * answer: a push whose fields were dropped fails with UnprovisionedFieldsError (permanent: a dead letter naming
 * the fields and the fix) after its other calls, and once `setup zendesk` created the field, the next try makes
 * only the fields call. Real node-zendesk against the stand-in, set up by the real setup code.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.js';
import { createZendeskClient } from '../../../src/connectors/zendesk/client.js';
import { applyZendeskSetup, planZendeskSetup } from '../../../src/connectors/zendesk/setup.js';
import { createZendeskTarget, UnprovisionedFieldsError } from '../../../src/connectors/zendesk/target.js';
import type { ZendeskStandIn } from '../../../src/demo/standins/zendesk/index.js';
import { PermanentError } from '../../../src/sync/errors.js';
import type { PortalPush } from '../../../src/sync/push/portal-target.js';
import { invoiceView, recordingPush, teamProjection } from '../../support/views.js';
import { zendeskStandInSetUp, zendeskWritesSince } from '../../support/zendesk-config.js';

let standIn: ZendeskStandIn;
let config: Config;

beforeEach(async () => {
  ({ standIn, config } = await zendeskStandInSetUp());
  // The operator renames a field in config and does not run setup again: Zendesk has no such field yet.
  config.targets.zendesk.fields.openInvoices = 'portal_unpaid_invoices';
});
afterEach(() => standIn.close());

const INVOICE = invoiceView('in_unprov_01', { number: 'UNPROV-01' });
const PROJECTION = teamProjection([INVOICE]);

const pushTo = (links: Partial<PortalPush['links']>, done: Set<string>): PortalPush =>
  recordingPush('cust_unprovisioned', links, PROJECTION, done);
const writesSince = (from: number) => zendeskWritesSince(standIn, from);

async function runSetup(): Promise<void> {
  const client = createZendeskClient(config.zendesk);
  const cfg = config.targets.zendesk;
  await applyZendeskSetup(client, cfg, await planZendeskSetup(client, cfg, { endUserAccess: true }));
}

describe('a push to a Zendesk field the account does not define', () => {
  it('fails as a permanent error naming the field and the fix, after writing the invoices and the defined fields', async () => {
    const target = createZendeskTarget(config, { jobPolling: { intervalMs: 10 } });
    const org = standIn.seedOrganization({ name: 'Unprovisioned Co' });
    const done = new Set<string>();

    const failure = await target.push(pushTo({ zendeskOrganizationId: String(org.id) }, done)).catch((e) => e);

    expect(failure).toBeInstanceOf(UnprovisionedFieldsError);
    expect(failure).toBeInstanceOf(PermanentError);
    expect((failure as Error).message).toBe(
      'Zendesk has no organization field portal_unpaid_invoices: it answered the write and dropped that value. ' +
        'Run `portal-sync setup zendesk` (it creates what is missing), then `portal-sync dlq replay --all`',
    );
    const fields = standIn.state.organizations.get(org.id)?.organization_fields;
    expect(fields).toMatchObject({ billing_status: 'active', billing_plan: 'Team' });
    expect(fields).not.toHaveProperty('portal_unpaid_invoices');
    const invoices = [...(standIn.state.customObjectRecords.get('portal_invoice')?.values() ?? [])];
    expect(invoices.map((r) => r.external_id)).toEqual(['in_unprov_01']);
    // The invoice call is recorded as made; the fields call is not: it did not do what it was for.
    expect([...done].some((k) => k.startsWith('invoice:'))).toBe(true);
    expect([...done].some((k) => k.startsWith('fields:'))).toBe(false);
  });

  it('names user fields the same way for a customer whose billing goes on its user', async () => {
    const target = createZendeskTarget(config, { jobPolling: { intervalMs: 10 } });
    const user = standIn.seedUser({ name: 'Ann', email: 'ann@unprovisioned.example' });

    const failure = await target
      .push(
        pushTo(
          {
            contacts: [
              {
                email: 'ann@unprovisioned.example',
                name: 'Ann',
                salesforceContactId: null,
                zendeskUserId: String(user.id),
              },
            ],
          },
          new Set(),
        ),
      )
      .catch((e) => e);

    expect(failure).toBeInstanceOf(UnprovisionedFieldsError);
    expect((failure as Error).message).toMatch(/^Zendesk has no user field portal_unpaid_invoices: /);
  });

  it('is written by the next try once setup created the field, and that try makes only the fields call', async () => {
    const target = createZendeskTarget(config, { jobPolling: { intervalMs: 10 } });
    const org = standIn.seedOrganization({ name: 'Unprovisioned Co' });
    const done = new Set<string>();
    await expect(target.push(pushTo({ zendeskOrganizationId: String(org.id) }, done))).rejects.toBeInstanceOf(
      UnprovisionedFieldsError,
    );

    await runSetup();
    const from = standIn.calls.length;
    const result = await target.push(pushTo({ zendeskOrganizationId: String(org.id) }, done));

    expect(writesSince(from)).toEqual([`PUT /organizations/${org.id} 200`]);
    expect(result).toEqual({ calls: 1, wrote: ['organization_fields'], kept: ['invoice:in_unprov_01'] });
    expect(standIn.state.organizations.get(org.id)?.organization_fields).toMatchObject({ portal_unpaid_invoices: 1 });
  });
});
