/**
 * `setup zendesk --end-user-access` against the Zendesk stand-in, through node-zendesk: after
 * it, a customer signed in to the help center lists only their own invoices and billing status
 * through their session (access rule + end-user policy), and before it, nothing at all.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.js';
import { createZendeskClient, zendeskRequest, type ZendeskClient } from '../../../src/connectors/zendesk/client.js';
import { OWN_RECORDS_RULE_TITLE } from '../../../src/connectors/zendesk/setup-access.js';
import { applyZendeskSetup, planZendeskSetup } from '../../../src/connectors/zendesk/setup.js';
import { zendeskConfigFor } from '../../support/zendesk-config.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../../src/demo/standins/zendesk/index.js';

let standIn: ZendeskStandIn;
let config: Config;
let client: ZendeskClient;

beforeEach(async () => {
  standIn = await startZendeskStandIn();
  config = zendeskConfigFor(standIn);
  client = createZendeskClient(config.zendesk);
});
afterEach(() => standIn.close());

const setUp = async () =>
  applyZendeskSetup(
    client,
    config.targets.zendesk,
    await planZendeskSetup(client, config.targets.zendesk, { endUserAccess: true }),
  );
const writes = () => standIn.calls.filter((c) => c.method !== 'GET');

/** Two organizations with a user each, a person customer without one, and records for all three, written as the target writes them. */
async function seedCustomers() {
  const acme = standIn.seedOrganization({ name: 'Acme' });
  const globex = standIn.seedOrganization({ name: 'Globex' });
  const ann = standIn.seedUser({ name: 'Ann', organization_id: acme.id });
  const bob = standIn.seedUser({ name: 'Bob', organization_id: globex.id });
  const carl = standIn.seedUser({ name: 'Carl' });
  const invoice = (external: string, owner: Record<string, string>) =>
    zendeskRequest(client, 'PATCH', ['custom_objects', 'portal_invoice', 'records', { external_id: external }], {
      custom_object_record: {
        name: external,
        custom_object_fields: { invoice_number: external, invoice_status: 'open', ...owner },
      },
    });
  await invoice('in_acme_1', { organization_id: String(acme.id) });
  await invoice('in_acme_2', { organization_id: String(acme.id) });
  await invoice('in_globex_1', { organization_id: String(globex.id) });
  await invoice('in_carl_1', { user_id: String(carl.id) });
  await zendeskRequest(
    client,
    'PATCH',
    ['custom_objects', 'portal_account_status', 'records', { external_id: `organization-${acme.id}` }],
    {
      custom_object_record: {
        name: 'Acme',
        custom_object_fields: { billing_status: 'past_due', organization_id: String(acme.id) },
      },
    },
  );
  return { ann, bob, carl };
}

/** What a help center page sees, listing records with the user's session cookie and no API credentials. */
async function listAs(userId: number, key: string): Promise<{ status: number; ids: string[] }> {
  const res = await fetch(`${standIn.baseUrl}/custom_objects/${key}/records`, {
    headers: { cookie: standIn.signIn(userId) },
  });
  const body = (await res.json()) as { custom_object_records?: { external_id: string }[] };
  return { status: res.status, ids: (body.custom_object_records ?? []).map((r) => r.external_id).sort() };
}

describe('setup zendesk --end-user-access', () => {
  it("a signed-in customer lists only their own organization's invoices and status; a person customer only their own", async () => {
    await setUp();
    const { ann, bob, carl } = await seedCustomers();

    expect(await listAs(ann.id, 'portal_invoice')).toEqual({ status: 200, ids: ['in_acme_1', 'in_acme_2'] });
    expect(await listAs(bob.id, 'portal_invoice')).toEqual({ status: 200, ids: ['in_globex_1'] });
    expect(await listAs(carl.id, 'portal_invoice')).toEqual({ status: 200, ids: ['in_carl_1'] });
    expect((await listAs(ann.id, 'portal_account_status')).ids).toHaveLength(1);
    expect((await listAs(bob.id, 'portal_account_status')).ids).toEqual([]);
  });

  it('without it, a signed-in customer sees no record at all (end users start with no access)', async () => {
    await applyZendeskSetup(client, config.targets.zendesk, await planZendeskSetup(client, config.targets.zendesk));
    const acme = standIn.seedOrganization({ name: 'Acme' });
    const ann = standIn.seedUser({ name: 'Ann', organization_id: acme.id });
    await zendeskRequest(
      client,
      'PATCH',
      ['custom_objects', 'portal_invoice', 'records', { external_id: 'in_acme_1' }],
      {
        custom_object_record: { name: 'in_acme_1', custom_object_fields: { organization_id: String(acme.id) } },
      },
    );

    expect(await listAs(ann.id, 'portal_invoice')).toEqual({ status: 200, ids: [] });
  });

  it('creates the status object with the customer-facing billing fields only, one rule per object, and read-only policies', async () => {
    const steps = await setUp();

    expect(steps.every((s) => s.state === 'created')).toBe(true);
    const statusFields = Object.fromEntries(
      (standIn.state.customObjectFields.get('portal_account_status') ?? []).map((f) => [f.key, f.type]),
    );
    expect(statusFields).toEqual({
      billing_status: 'text',
      billing_plan: 'text',
      billing_next_invoice_date: 'date',
      billing_delinquent: 'checkbox',
      portal_open_invoices: 'integer',
      organization_id: 'lookup',
      user_id: 'lookup',
    });
    for (const key of ['portal_invoice', 'portal_account_status']) {
      const access = standIn.state.customObjectAccess.get(key)!;
      expect(access.rules.map((r) => r.title)).toEqual([OWN_RECORDS_RULE_TITLE]);
      expect(access.policies.get('end-user')?.records).toEqual({
        read: { allowed: true, rule_id: access.rules[0]!.id },
        create: { allowed: false, rule_id: null },
        update: { allowed: false, rule_id: null },
        delete: { allowed: false, rule_id: null },
      });
    }
  });

  it('run twice, the second run changes nothing; the dry run alone writes nothing', async () => {
    const dry = await planZendeskSetup(client, config.targets.zendesk, { endUserAccess: true });
    expect(writes()).toEqual([]);
    expect(dry.filter((s) => s.kind === 'end-user policy').map((s) => s.state)).toEqual(['missing', 'missing']);

    await setUp();
    const before = writes().length;
    const second = await planZendeskSetup(client, config.targets.zendesk, { endUserAccess: true });

    expect(second.every((s) => s.state === 'exists')).toBe(true);
    await applyZendeskSetup(client, config.targets.zendesk, second);
    expect(writes().length).toBe(before);
  });

  it('a policy that lets end users read every invoice is reported and narrowed to their own', async () => {
    await setUp();
    const { ann } = await seedCustomers();
    await zendeskRequest(client, 'PATCH', ['custom_objects', 'portal_invoice', 'permission_policies', 'end-user'], {
      policy: { records: { read: { allowed: true, rule_id: null } } },
    });
    expect((await listAs(ann.id, 'portal_invoice')).ids).toHaveLength(4);

    const plan = await planZendeskSetup(client, config.targets.zendesk, { endUserAccess: true });
    expect(plan.find((s) => s.kind === 'end-user policy' && s.key === 'portal_invoice')).toMatchObject({
      state: 'missing',
      now: 'end users can read EVERY record now',
    });
    await applyZendeskSetup(client, config.targets.zendesk, plan);

    expect((await listAs(ann.id, 'portal_invoice')).ids).toEqual(['in_acme_1', 'in_acme_2']);
  });
});

describe("the stand-in's custom object permissions", () => {
  beforeEach(async () => {
    await setUp();
  });

  it('refuses a policy that allows a write without read, and a rule on a field the object lacks (422, nothing changed)', async () => {
    await expect(
      zendeskRequest(client, 'PATCH', ['custom_objects', 'portal_invoice', 'permission_policies', 'end-user'], {
        policy: { records: { read: { allowed: false }, update: { allowed: true } } },
      }),
    ).rejects.toThrow(/422/);
    await expect(
      zendeskRequest(client, 'POST', ['custom_objects', 'portal_invoice', 'access_rules'], {
        access_rule: {
          title: 'x',
          conditions: { all: [{ field: 'custom_object_fields.nope', operator: 'is', value: '1' }] },
        },
      }),
    ).rejects.toThrow(/422/);
    expect(standIn.state.customObjectAccess.get('portal_invoice')?.policies.get('end-user')?.records.read.allowed).toBe(
      true,
    );
    expect(standIn.state.customObjectAccess.get('portal_invoice')?.rules).toHaveLength(1);
  });

  it('a session cannot write, and cannot read records of another customer by id', async () => {
    const { ann } = await seedCustomers();
    const cookie = standIn.signIn(ann.id);
    const globex = [...standIn.state.customObjectRecords.get('portal_invoice')!.values()].find(
      (r) => r.external_id === 'in_globex_1',
    )!;

    const byId = await fetch(`${standIn.baseUrl}/custom_objects/portal_invoice/records/${globex.id}`, {
      headers: { cookie },
    });
    const write = await fetch(`${standIn.baseUrl}/custom_objects/portal_invoice/records`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: '{}',
    });
    const forged = await fetch(`${standIn.baseUrl}/custom_objects/portal_invoice/records`, {
      headers: { cookie: 'zendesk_standin_user=9999999' },
    });

    expect(byId.status).toBe(404);
    expect(write.status).toBe(401);
    expect(forged.status).toBe(401);
  });
});
