/**
 * The Experience Cloud kit holds together without an org: every metadata file parses, every field the
 * component's Apex reads is one the package defines and config/default.yaml's Salesforce target
 * writes, the site members' permission set grants read on exactly those (never edit, never View All,
 * never the internal figures), the component is placeable in Experience Builder, and every class
 * ships with its test class (a production deploy needs the coverage).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvSchema, PACKAGE_ROOT, loadConfig } from '../../src/config.js';
import {
  SALESFORCE_PROJECT_DIR,
  readSalesforcePackage,
  salesforceSchema,
} from '../../src/connectors/salesforce/setup.js';
import { PORTAL_ACTIVITY_TYPES } from '../../src/sync/events/source-event.js';
import {
  METADATA_DIR,
  apexImportsOf,
  filesUnder,
  grantsOf,
  readXml,
  shortName,
  soqlOf,
  xmlProblem,
} from './package-read.js';

const loaded = loadConfig({});
if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
const target = loaded.config.targets.salesforce;
const configured = salesforceSchema(target);
const packaged = readSalesforcePackage();

const CONTROLLER = join(METADATA_DIR, 'classes/PortalCustomerViewController.cls');
const SIGNER = join(METADATA_DIR, 'classes/PortalSyncActivity.cls');
const COMPONENT = join(METADATA_DIR, 'lwc/portalCustomerView');
const MEMBER_SET = join(METADATA_DIR, 'permissionsets/Portal_Customer_View.permissionset-meta.xml');
/** The signer's own object (its HMAC secret): not something the target writes, and never readable by members. */
const SECRET_OBJECT = 'Portal_Sync_Secret__c';

const controllerReads = soqlOf(CONTROLLER).filter((q) => q.object !== 'User');
const readFields = [...new Set(controllerReads.flatMap((q) => q.fields.map((f) => `${q.object}.${f}`)))].sort();
const members = grantsOf(MEMBER_SET);

describe('the metadata package', () => {
  const xmlFiles = filesUnder(METADATA_DIR, '-meta.xml');

  it('has only well-formed metadata files, each in the Metadata API namespace', () => {
    expect(xmlFiles.length).toBeGreaterThan(40);
    const problems = xmlFiles.flatMap((f) => {
      const problem = xmlProblem(f);
      if (problem) return [`${shortName(f)}: ${problem}`];
      const root = Object.entries(readXml(f)).find(([k]) => k !== '?xml');
      return root?.[1]?.['@_xmlns'] === 'http://soap.sforce.com/2006/04/metadata'
        ? []
        : [`${shortName(f)}: root element without the metadata namespace`];
    });
    expect(problems).toEqual([]);
  });

  it('notices a file that is not well-formed', () => {
    const broken = join(PACKAGE_ROOT, 'test/fixtures/salesforce/not-well-formed.xml');
    expect(xmlProblem(broken)).toMatch(/line \d+/);
  });

  it('gives every Apex class a meta file at the project API version, and every non-test class a test class', () => {
    const version = JSON.parse(
      readFileSync(join(SALESFORCE_PROJECT_DIR, 'sfdx-project.json'), 'utf8'),
    ).sourceApiVersion;
    const classes = filesUnder(join(METADATA_DIR, 'classes'), '.cls');
    expect(classes.length).toBeGreaterThanOrEqual(4);
    for (const cls of classes) {
      expect(readXml(`${cls}-meta.xml`)['ApexClass'], shortName(cls)).toMatchObject({
        apiVersion: version,
        status: 'Active',
      });
      const isTest = /^@IsTest/im.test(readFileSync(cls, 'utf8'));
      if (!isTest)
        expect(existsSync(cls.replace(/\.cls$/, 'Test.cls')), `${shortName(cls)} has no test class`).toBe(true);
    }
  });
});

describe('what the component reads', () => {
  it('reads the billing Account fields, invoices and tickets, each through a user-mode query', () => {
    expect(controllerReads.map((q) => q.object)).toEqual(['Account', target.invoice.object, target.ticket.object]);
    const source = readFileSync(CONTROLLER, 'utf8');
    expect(source).toMatch(/public with sharing class PortalCustomerViewController/);
    expect(controllerReads.map((q) => q.mode)).toEqual(['USER_MODE', 'USER_MODE', 'USER_MODE']);
  });

  it('names only fields the package defines', () => {
    const defined = new Set(packaged.flatMap((p) => p.fields.map((f) => `${p.object}.${f}`)));
    expect(readFields.filter((f) => !defined.has(f))).toEqual([]);
  });

  const notWrittenBy = (schema: typeof configured) => {
    const written = new Set(schema.flatMap((s) => s.fields.map((f) => `${s.object}.${f}`)));
    return readFields.filter((f) => !written.has(f));
  };

  it("names only fields config/default.yaml's Salesforce target writes", () => {
    expect(readFields.length).toBeGreaterThan(15);
    expect(notWrittenBy(configured)).toEqual([]);
  });

  it('notices a field renamed in config that the controller still reads', () => {
    const renamed = salesforceSchema({ ...target, accountFields: { ...target.accountFields, plan: 'Plan_Name__c' } });
    expect(notWrittenBy(renamed)).toEqual(['Account.Billing_Plan__c']);
  });

  it('leaves the internal figures out: no MRR, no balance', () => {
    expect(readFields).not.toContain(`Account.${target.accountFields.mrr}`);
    expect(readFields).not.toContain(`Account.${target.accountFields.balance}`);
  });

  it('calls only Apex methods the package has, as @AuraEnabled', () => {
    const calls = apexImportsOf(join(COMPONENT, 'portalCustomerView.js'));
    expect(calls.sort()).toEqual(['PortalCustomerViewController.getView', 'PortalSyncActivity.track']);
    for (const call of calls) {
      const [cls, method] = call.split('.');
      const source = readFileSync(join(METADATA_DIR, `classes/${cls}.cls`), 'utf8');
      expect(source, call).toMatch(new RegExp(`@AuraEnabled\\s+public static \\w+ ${method}\\(`));
    }
  });

  it('can be placed on an Experience Builder page', () => {
    const meta = readXml(join(COMPONENT, 'portalCustomerView.js-meta.xml'))['LightningComponentBundle'];
    expect(meta.isExposed).toBe('true');
    expect(meta.targets[0].target).toEqual(
      expect.arrayContaining(['lightningCommunity__Page', 'lightningCommunity__Default']),
    );
  });
});

describe("the site members' permission set", () => {
  it('grants read on every field the component reads, and on nothing else', () => {
    expect(members.readableFields).toEqual(readFields);
  });

  it('grants no edit, and no View All that would step around sharing', () => {
    expect(members.editableFields).toEqual([]);
    for (const object of ['Account', target.invoice.object, target.ticket.object]) {
      expect(members.objects[object], object).toMatchObject({
        allowRead: 'true',
        allowCreate: 'false',
        allowEdit: 'false',
        allowDelete: 'false',
        viewAllRecords: 'false',
        modifyAllRecords: 'false',
      });
    }
  });

  it('opens the two Apex classes the component calls', () => {
    expect(members.classes).toEqual(['PortalCustomerViewController', 'PortalSyncActivity']);
  });
});

describe("the integration user's permission set", () => {
  const integration = grantsOf(join(METADATA_DIR, 'permissionsets/Portal_Sync.permissionset-meta.xml'));

  it('may delete the invoice, ticket and deflection event records it writes (identity forget --portal clear), and no Account', () => {
    for (const object of [target.invoice.object, target.ticket.object, target.deflection.object]) {
      expect(integration.objects[object], object).toMatchObject({
        allowRead: 'true',
        allowEdit: 'true',
        allowDelete: 'true',
        modifyAllRecords: 'false',
      });
    }
    expect(integration.objects['Account']?.allowDelete ?? 'false').toBe('false');
  });
});

describe('sharing', () => {
  const objectMeta = (name: string) =>
    readXml(join(METADATA_DIR, `objects/${name}/${name}.object-meta.xml`))['CustomObject'];

  it('keeps invoices and tickets private to external users: only the sharing set opens them, account by account', () => {
    for (const object of [target.invoice.object, target.ticket.object])
      expect(objectMeta(object).externalSharingModel, object).toBe('Private');
  });

  it("keeps the signer's secret out of every permission set and private to everyone", () => {
    expect(objectMeta(SECRET_OBJECT)).toMatchObject({ sharingModel: 'Private', externalSharingModel: 'Private' });
    for (const file of filesUnder(join(METADATA_DIR, 'permissionsets'), '.permissionset-meta.xml')) {
      const g = grantsOf(file);
      expect(
        [...Object.keys(g.objects), ...g.readableFields].filter((n) => n.startsWith(SECRET_OBJECT)),
        shortName(file),
      ).toEqual([]);
    }
    expect(soqlOf(SIGNER).map((q) => q.object)).toEqual(['User', SECRET_OBJECT]);
  });

  it('does not deploy the component tests', () => {
    expect(readFileSync(join(SALESFORCE_PROJECT_DIR, '.forceignore'), 'utf8')).toMatch(/^\*\*\/__tests__\/\*\*$/m);
  });
});

describe('the activity signer', () => {
  const source = readFileSync(SIGNER, 'utf8');
  const types = [...(/TYPES = new Set<String>\{([^}]*)\}/.exec(source)?.[1] ?? '').matchAll(/'([a-z_]+)'/g)].map(
    (m) => m[1]!,
  );

  it('lets a page send only activity types the daemon accepts, and never case_deflection or account_update', () => {
    expect(types.length).toBeGreaterThanOrEqual(5);
    expect(types.filter((t) => !(PORTAL_ACTIVITY_TYPES as readonly string[]).includes(t))).toEqual([]);
    expect(types).not.toContain('case_deflection');
    expect(types).not.toContain('account_update');
  });

  it("names its secret records after the daemon's own variables", () => {
    const names = [
      ...readFileSync(join(PACKAGE_ROOT, 'docs/setup-salesforce.md'), 'utf8').matchAll(
        /record(?:\*\*)? named `([A-Z_]+)`/g,
      ),
    ].map((m) => m[1]!);
    expect(new Set(names)).toEqual(new Set(['PORTAL_EVENTS_SECRET', 'SALESFORCE_WEBHOOK_SECRET']));
    expect(source).toContain("EVENTS_SECRET = 'PORTAL_EVENTS_SECRET'");
    for (const name of names) expect(Object.keys(EnvSchema.shape)).toContain(name);
  });

  it('signs as the daemon verifies: HMAC-SHA256 of "<t>.<body>" in X-Portal-Sync-Signature, to the PortalSync Named Credential', () => {
    expect(source).toMatch(
      /Crypto\.generateMac\('hmacSHA256', Blob\.valueOf\(t \+ '\.' \+ body\), Blob\.valueOf\(secret\)\)/,
    );
    expect(source).toContain(
      "req.setHeader('X-Portal-Sync-Signature', 't=' + t + ',v1=' + EncodingUtil.convertToHex(mac));",
    );
    expect(source).toContain("NAMED_CREDENTIAL = 'PortalSync'");
  });
});
