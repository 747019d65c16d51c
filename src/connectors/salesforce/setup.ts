/**
 * The Salesforce side of `portal-sync setup`: the schema the target writes
 * to (from `targets.salesforce`), the metadata package that creates it
 * (salesforce/force-app, Salesforce DX source format, deployed with the `sf`
 * CLI: creating fields takes the Metadata API, which jsforce's REST calls do
 * not reach cleanly), and a check of a live org through describe.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Connection } from 'jsforce';
import { PACKAGE_ROOT, type TargetsConfig } from '../../config.js';
import { DEFLECTION_FIELDS } from './target-records.js';
import { EMPTY_MAPPING, type MappingConfig, type MappingEntry } from '../../sync/mapping/schema.js';

export const SALESFORCE_PROJECT_DIR = resolve(PACKAGE_ROOT, 'salesforce');
export const SALESFORCE_SOURCE_DIR = join(SALESFORCE_PROJECT_DIR, 'force-app');
const METADATA_DIR = join(SALESFORCE_SOURCE_DIR, 'main/default');

export interface SalesforceObjectSchema {
  object: string;
  /** Custom fields the target writes, external id first where there is one. */
  fields: string[];
  externalId?: string;
}

/** Every object and field the Salesforce target writes, from config (the built-in fields, then the mapped ones): pure. */
export function salesforceSchema(
  cfg: TargetsConfig['salesforce'],
  mapping: MappingConfig = EMPTY_MAPPING,
): SalesforceObjectSchema[] {
  const mapped = (entries: readonly MappingEntry[]) => entries.map((e) => e.to);
  const withExternalId = (
    object: string,
    externalId: string,
    fields: Record<string, string>,
    extra: string[] = [],
  ): SalesforceObjectSchema => ({
    object,
    externalId,
    fields: [externalId, ...Object.values(fields), ...extra],
  });
  return [
    { object: 'Account', fields: [...Object.values(cfg.accountFields), ...mapped(mapping.salesforce.accountFields)] },
    withExternalId(cfg.invoice.object, cfg.invoice.externalId, cfg.invoice.fields, mapped(mapping.salesforce.invoice)),
    withExternalId(cfg.ticket.object, cfg.ticket.externalId, cfg.ticket.fields, mapped(mapping.salesforce.ticket)),
    withExternalId(cfg.deflection.object, cfg.deflection.externalId, DEFLECTION_FIELDS),
  ];
}

export interface PackagedObject {
  object: string;
  /** Whether the package defines the object itself (custom objects), not only fields on it. */
  definesObject: boolean;
  fields: string[];
}

/** What the metadata package contains, read from its files. */
export function readSalesforcePackage(metadataDir = METADATA_DIR): PackagedObject[] {
  const objectsDir = join(metadataDir, 'objects');
  if (!existsSync(objectsDir)) return [];
  return readdirSync(objectsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const fieldsDir = join(objectsDir, d.name, 'fields');
      const fields = existsSync(fieldsDir)
        ? readdirSync(fieldsDir)
            .filter((f) => f.endsWith('.field-meta.xml'))
            .map((f) => f.slice(0, -'.field-meta.xml'.length))
        : [];
      return {
        object: d.name,
        definesObject: existsSync(join(objectsDir, d.name, `${d.name}.object-meta.xml`)),
        fields: fields.sort(),
      };
    });
}

/** Configured names the package has no file for (`Object.Field`, or `Object` for a custom object): a renamed field in config. */
export function packageGaps(schema: readonly SalesforceObjectSchema[], pkg: readonly PackagedObject[]): string[] {
  const byObject = new Map(pkg.map((p) => [p.object, p]));
  return schema.flatMap((s) => {
    const packaged = byObject.get(s.object);
    const objectGap = s.object.endsWith('__c') && !packaged?.definesObject ? [s.object] : [];
    return [...objectGap, ...s.fields.filter((f) => !packaged?.fields.includes(f)).map((f) => `${s.object}.${f}`)];
  });
}

export interface ObjectVerification {
  object: string;
  exists: boolean;
  present: string[];
  missing: string[];
  /** The external id field exists but is not marked External ID, so upserts by it fail. */
  notExternalId?: string;
}

const isNotFound = (err: unknown) => (err as { errorCode?: unknown } | null)?.errorCode === 'NOT_FOUND';

/** Describes each object and sorts its configured fields into present and missing. */
export async function verifySalesforceSchema(
  conn: Connection,
  schema: readonly SalesforceObjectSchema[],
): Promise<ObjectVerification[]> {
  const out: ObjectVerification[] = [];
  for (const s of schema) {
    let described: { name: string; externalId: boolean }[];
    try {
      described = (await conn.sobject(s.object).describe()).fields;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      out.push({ object: s.object, exists: false, present: [], missing: [...s.fields] });
      continue;
    }
    // API names are case-insensitive.
    const byName = new Map(described.map((f) => [f.name.toLowerCase(), f]));
    const ext = s.externalId ? byName.get(s.externalId.toLowerCase()) : undefined;
    out.push({
      object: s.object,
      exists: true,
      present: s.fields.filter((f) => byName.has(f.toLowerCase())),
      missing: s.fields.filter((f) => !byName.has(f.toLowerCase())),
      ...(ext && !ext.externalId && { notExternalId: ext.name }),
    });
  }
  return out;
}

export const verificationPassed = (results: readonly ObjectVerification[]) =>
  results.every((r) => r.exists && r.missing.length === 0 && r.notExternalId === undefined);

/** What the verification found wrong, one line each: an object or field missing, an external id not marked External ID. */
export function salesforceSetupProblems(results: readonly ObjectVerification[]): string[] {
  return results.flatMap((r) => [
    ...(r.exists ? r.missing.map((f) => `field ${r.object}.${f} is missing`) : [`object ${r.object} is missing`]),
    ...(r.notExternalId
      ? [`field ${r.object}.${r.notExternalId} is not an External ID field (upserts by it fail)`]
      : []),
  ]);
}
