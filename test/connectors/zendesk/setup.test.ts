/**
 * `portal-sync setup zendesk` against the Zendesk stand-in, through the real
 * node-zendesk SDK: it creates exactly what is missing, and running it again
 * creates nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.js';
import { createZendeskClient, type ZendeskClient } from '../../../src/connectors/zendesk/client.js';
import { applyZendeskSetup, planZendeskSetup, zendeskSchema } from '../../../src/connectors/zendesk/setup.js';
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

const writes = () => standIn.calls.filter((c) => c.method !== 'GET');
const typesOf = (defs: { key: string; type: string }[]) => Object.fromEntries(defs.map((d) => [d.key, d.type]));

describe('setup zendesk', () => {
  it('creates the billing fields on organizations and users, and the invoice object with its fields, with the types the target writes', async () => {
    const cfg = config.targets.zendesk;
    const steps = await applyZendeskSetup(client, cfg, await planZendeskSetup(client, cfg));

    expect(steps.every((s) => s.state === 'created')).toBe(true);
    const profileTypes = {
      billing_status: 'text',
      billing_plan: 'text',
      billing_mrr: 'decimal',
      billing_balance: 'decimal',
      billing_next_invoice_date: 'date',
      billing_delinquent: 'checkbox',
      portal_open_invoices: 'integer',
    };
    expect(typesOf(standIn.state.organizationFields)).toEqual(profileTypes);
    expect(typesOf(standIn.state.userFields)).toEqual(profileTypes);
    expect([...standIn.state.customObjects.keys()]).toEqual(['portal_invoice']);
    expect(typesOf(standIn.state.customObjectFields.get('portal_invoice') ?? [])).toEqual({
      invoice_number: 'text',
      invoice_status: 'text',
      total: 'decimal',
      amount_due: 'decimal',
      amount_paid: 'decimal',
      currency: 'text',
      due_date: 'date',
      hosted_invoice_url: 'text',
      invoice_pdf_url: 'text',
      organization_id: 'lookup',
      user_id: 'lookup',
    });
  });

  it('run twice, the second run creates nothing', async () => {
    const cfg = config.targets.zendesk;
    await applyZendeskSetup(client, cfg, await planZendeskSetup(client, cfg));
    const before = writes().length;

    const second = await planZendeskSetup(client, cfg);

    expect(second.every((s) => s.state === 'exists' && s.actualType === undefined)).toBe(true);
    expect(await applyZendeskSetup(client, cfg, second)).toEqual(second);
    expect(writes().length).toBe(before);
  });

  it('creates only what is missing, and reports an existing field of another type without touching it', async () => {
    const cfg = config.targets.zendesk;
    standIn.seedField('organization', { key: 'billing_status', type: 'text' });
    standIn.seedField('user', { key: 'billing_mrr', type: 'text' });
    standIn.seedCustomObject('portal_invoice', { fields: [{ key: 'total', type: 'decimal' }] });

    const plan = await planZendeskSetup(client, cfg);
    const missing = plan.filter((s) => s.state === 'missing').map((s) => `${s.kind}:${s.key}`);
    const schema = zendeskSchema(cfg);

    expect(missing).toHaveLength(schema.profileFields.length * 2 - 2 + schema.invoiceFields.length - 1);
    expect(missing).not.toContain('organization field:billing_status');
    expect(missing).not.toContain('custom object:portal_invoice');
    expect(plan.find((s) => s.kind === 'user field' && s.key === 'billing_mrr')).toMatchObject({
      state: 'exists',
      actualType: 'text',
      type: 'decimal',
    });

    await applyZendeskSetup(client, cfg, plan);
    expect(writes().length).toBe(missing.length);
    expect(standIn.state.userFields.find((f) => f.key === 'billing_mrr')?.type).toBe('text');
  });

  it('planning alone (the dry run) creates nothing', async () => {
    const plan = await planZendeskSetup(client, config.targets.zendesk);

    expect(plan.filter((s) => s.state === 'missing')).toHaveLength(plan.length);
    expect(writes()).toEqual([]);
    expect(standIn.state.organizationFields).toEqual([]);
  });

  it('a refused create stops with Zendesk message', async () => {
    standIn.failNext(1, 403);
    const cfg = config.targets.zendesk;

    await expect(applyZendeskSetup(client, cfg, await planZendeskSetup(client, cfg))).rejects.toThrow(/403.*Forbidden/);
  });
});
