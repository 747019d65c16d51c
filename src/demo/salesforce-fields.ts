/**
 * The fields `setup salesforce` would deploy, for the Salesforce stand-in: names from
 * `targets.salesforce` (salesforceSchema), types and external-id flags from the metadata
 * package itself (salesforce/force-app), so the demo's org looks like a provisioned one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetsConfig } from '../config.js';
import { SALESFORCE_SOURCE_DIR, salesforceSchema } from '../connectors/salesforce/setup.js';
import type { SalesforceFieldSpec, SalesforceFieldType } from './standins/salesforce/index.js';
import type { MappingConfig } from '../sync/mapping/schema.js';

/** Metadata API field types → the REST describe types the stand-in models. */
const TYPES: Record<string, SalesforceFieldType> = {
  Text: 'string',
  TextArea: 'textarea',
  LongTextArea: 'textarea',
  Url: 'url',
  Email: 'email',
  Phone: 'phone',
  Checkbox: 'boolean',
  Currency: 'currency',
  Number: 'double',
  Percent: 'percent',
  Date: 'date',
  DateTime: 'datetime',
  Lookup: 'reference',
  MasterDetail: 'reference',
  Picklist: 'picklist',
};

const tag = (xml: string, name: string): string | undefined =>
  new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]?.trim();

function fieldSpec(object: string, name: string, externalId: boolean, objectsDir: string): SalesforceFieldSpec {
  const file = join(objectsDir, object, 'fields', `${name}.field-meta.xml`);
  // A field renamed in config has no file: it still exists in the demo org, as text.
  if (!existsSync(file)) return externalId ? { name, externalId: true, unique: true, caseSensitive: true } : { name };
  const xml = readFileSync(file, 'utf8');
  const type = TYPES[tag(xml, 'type') ?? 'Text'] ?? 'string';
  const referenceTo = tag(xml, 'referenceTo');
  return {
    name,
    type,
    ...(tag(xml, 'externalId') === 'true' || externalId ? { externalId: true } : {}),
    ...(tag(xml, 'unique') === 'true' ? { unique: true } : {}),
    ...(tag(xml, 'caseSensitive') === 'true' ? { caseSensitive: true } : {}),
    ...(type === 'reference' && referenceTo ? { referenceTo: [referenceTo] } : {}),
  };
}

/** sObject → field specs, for startSalesforceStandIn({ fields }). */
export function provisionedSalesforceFields(
  cfg: TargetsConfig['salesforce'],
  sourceDir = SALESFORCE_SOURCE_DIR,
  mapping?: MappingConfig,
): Record<string, SalesforceFieldSpec[]> {
  const objectsDir = join(sourceDir, 'main/default/objects');
  return Object.fromEntries(
    salesforceSchema(cfg, mapping).map((s) => [
      s.object,
      s.fields.map((name) => fieldSpec(s.object, name, name === s.externalId, objectsDir)),
    ]),
  );
}
