/**
 * The Salesforce metadata package cannot drift from config (every configured
 * name has a metadata file of the right kind), and `setup salesforce --verify`
 * against the stand-in, through jsforce, names exactly the missing fields.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../../src/config.js';
import { createSalesforceConnection } from '../../../src/connectors/salesforce/client.js';
import {
  SALESFORCE_PROJECT_DIR,
  SALESFORCE_SOURCE_DIR,
  packageGaps,
  readSalesforcePackage,
  salesforceSchema,
  verificationPassed,
  verifySalesforceSchema,
  type SalesforceObjectSchema,
} from '../../../src/connectors/salesforce/setup.js';
import {
  startSalesforceStandIn,
  type SalesforceFieldSpec,
  type SalesforceStandIn,
} from '../../../src/demo/standins/salesforce/index.js';

const configOf = (env: NodeJS.ProcessEnv = {}): Config => {
  const loaded = loadConfig(env);
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  return loaded.config;
};
const schema = salesforceSchema(configOf().targets.salesforce);
const OBJECTS_DIR = join(SALESFORCE_SOURCE_DIR, 'main/default/objects');
const xml = new XMLParser({ parseTagValue: false });
const fieldMeta = (object: string, field: string): Record<string, string> =>
  xml.parse(readFileSync(join(OBJECTS_DIR, object, 'fields', `${field}.field-meta.xml`), 'utf8')).CustomField;
const byObject = (name: string): SalesforceObjectSchema =>
  schema.find((s) => s.object === name) ?? expect.unreachable(name);

describe('the metadata package', () => {
  it('has a metadata file for every object and field configured in config/default.yaml targets.salesforce', () => {
    expect(packageGaps(schema, readSalesforcePackage())).toEqual([]);
    expect(schema.flatMap((s) => s.fields).length).toBe(7 + 11 + 7 + 5);
  });

  it('notices a field renamed in config that the package does not define', () => {
    const renamed = salesforceSchema({
      ...configOf().targets.salesforce,
      accountFields: { ...configOf().targets.salesforce.accountFields, plan: 'Plan_Name__c' },
    });
    expect(packageGaps(renamed, readSalesforcePackage())).toEqual(['Account.Plan_Name__c']);
  });

  it('gives the Account fields the types the target writes', () => {
    const f = configOf().targets.salesforce.accountFields;
    const typeOf = (name: string) => fieldMeta('Account', name).type;
    expect([f.status, f.plan, f.mrr, f.balance, f.nextInvoiceDate, f.delinquent, f.openTickets].map(typeOf)).toEqual([
      'Text',
      'Text',
      'Currency',
      'Currency',
      'Date',
      'Checkbox',
      'Number',
    ]);
  });

  it('makes each external id a unique, case-sensitive External ID, and links each record to its Account', () => {
    for (const s of schema.filter((x) => x.externalId)) {
      expect(fieldMeta(s.object, s.externalId!)).toMatchObject({
        type: 'Text',
        externalId: 'true',
        unique: 'true',
        caseSensitive: 'true',
      });
      expect(fieldMeta(s.object, 'Account__c')).toMatchObject({ type: 'Lookup', referenceTo: 'Account' });
      expect(readSalesforcePackage().find((p) => p.object === s.object)?.definesObject).toBe(true);
    }
  });

  it('is an sfdx project whose package directory is force-app', () => {
    const project = JSON.parse(readFileSync(join(SALESFORCE_PROJECT_DIR, 'sfdx-project.json'), 'utf8'));
    expect(project.packageDirectories).toEqual([{ path: 'force-app', default: true }]);
  });
});

describe('verify', () => {
  let standIn: SalesforceStandIn | undefined;
  afterEach(() => standIn?.close());

  /** Every field the schema names, defined in the stand-in, minus `leaveOut` (`Object.Field`). */
  const fieldsFor = (leaveOut: string[] = []): Record<string, SalesforceFieldSpec[]> =>
    Object.fromEntries(
      schema.map((s) => [
        s.object,
        s.fields
          .filter((f) => !leaveOut.includes(`${s.object}.${f}`))
          .map((name) =>
            name === s.externalId ? { name, externalId: true, unique: true, caseSensitive: true } : { name },
          ),
      ]),
    );
  const verify = async (fields: Record<string, SalesforceFieldSpec[]>) => {
    standIn = await startSalesforceStandIn({ fields });
    const config = configOf({
      SALESFORCE_INSTANCE_URL: standIn.instanceUrl,
      SALESFORCE_ACCESS_TOKEN: standIn.accessToken,
    });
    const conn = await createSalesforceConnection(config.salesforceAuth, config.salesforce.apiVersion);
    return verifySalesforceSchema(conn, schema);
  };

  it('with every configured field defined, passes', async () => {
    const results = await verify(fieldsFor());
    expect(verificationPassed(results)).toBe(true);
    expect(results.map((r) => r.missing)).toEqual([[], [], [], []]);
  });

  it('lists exactly the missing fields, and a whole object when it does not exist', async () => {
    const fields = fieldsFor([
      'Account.Billing_MRR__c',
      'Portal_Invoice__c.Pdf_Url__c',
      'Support_Ticket__c.Zendesk_Updated_At__c',
    ]);
    delete fields['Portal_Deflection_Event__c'];

    const results = await verify(fields);

    expect(verificationPassed(results)).toBe(false);
    expect(results.map((r) => [r.object, r.exists, r.missing])).toEqual([
      ['Account', true, ['Billing_MRR__c']],
      ['Portal_Invoice__c', true, ['Pdf_Url__c']],
      ['Support_Ticket__c', true, ['Zendesk_Updated_At__c']],
      ['Portal_Deflection_Event__c', false, byObject('Portal_Deflection_Event__c').fields],
    ]);
  });

  it('fails when the external id field exists but is not an External ID (upserts by it would fail)', async () => {
    const fields = fieldsFor();
    fields['Portal_Invoice__c'] = fields['Portal_Invoice__c']!.map((f) =>
      f.name === 'Stripe_Invoice_Id__c' ? { name: f.name } : f,
    );

    const results = await verify(fields);

    expect(verificationPassed(results)).toBe(false);
    expect(results.find((r) => r.object === 'Portal_Invoice__c')).toMatchObject({
      missing: [],
      notExternalId: 'Stripe_Invoice_Id__c',
    });
  });
});
