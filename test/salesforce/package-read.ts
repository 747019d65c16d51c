/**
 * Reads the Salesforce DX package the way the consistency test needs it, without an org: every metadata
 * XML file, the SOQL inside the Apex classes (which object, which custom fields), the Apex classes the
 * Lightning Web Components import, and what a permission set grants. Apex cannot run here, so these
 * names are the contract between the component, its controller, the package and config/default.yaml.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { SALESFORCE_SOURCE_DIR } from '../../src/connectors/salesforce/setup.js';

export const METADATA_DIR = join(SALESFORCE_SOURCE_DIR, 'main/default');
const xml = new XMLParser({ parseTagValue: false, ignoreAttributes: false, isArray: (name) => ARRAYS.has(name) });
/** Elements a permission set may hold once or many times: always read as lists. */
const ARRAYS = new Set(['fieldPermissions', 'objectPermissions', 'classAccesses', 'targets', 'target', 'targetConfig']);

export function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(suffix))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export const shortName = (file: string) => relative(METADATA_DIR, file);

/** The XML validator's complaint about a file, or null when it is well-formed. */
export function xmlProblem(file: string): string | null {
  const verdict = XMLValidator.validate(readFileSync(file, 'utf8'));
  return verdict === true ? null : `${verdict.err.code} at line ${verdict.err.line}: ${verdict.err.msg}`;
}

export function readXml(file: string): Record<string, any> {
  return xml.parse(readFileSync(file, 'utf8'));
}

export interface SoqlUse {
  className: string;
  object: string;
  /** Custom fields (`…__c`) anywhere in the query: selected, filtered or sorted on. */
  fields: string[];
  /** `USER_MODE` or `SYSTEM_MODE`, as the query's WITH clause says; null when it says neither. */
  mode: string | null;
}

/** Every static SOQL query of a class, with the object it reads and the custom fields it names. */
export function soqlOf(file: string): SoqlUse[] {
  const source = readFileSync(file, 'utf8')
    .replace(/\/\/.*$/gm, '')
    .replace(/\/\*[\s\S]*?\*\//g, '');
  const className = file
    .split('/')
    .pop()!
    .replace(/\.cls$/, '');
  return [...source.matchAll(/\[\s*SELECT\s+([\s\S]+?)\]/gi)].map((m) => {
    const query = m[1]!;
    const object = /\bFROM\s+(\w+)/i.exec(query)?.[1] ?? '';
    const fields = [...query.matchAll(/\b(\w+__c)\b/g)].map((f) => f[1]!).filter((f) => f !== object);
    const mode = /\bWITH\s+(USER_MODE|SYSTEM_MODE)\b/i.exec(query)?.[1]?.toUpperCase() ?? null;
    return { className, object, fields: [...new Set(fields)].sort(), mode };
  });
}

/** `Class.method` of every `@salesforce/apex/…` import in a component's JavaScript. */
export function apexImportsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/from\s+['"]@salesforce\/apex\/([\w.]+)['"]/g)].map((m) => m[1]!);
}

export interface Grants {
  readableFields: string[];
  editableFields: string[];
  objects: Record<string, Record<string, string>>;
  classes: string[];
}

/** What a permission set gives: readable and editable fields (`Object.Field`), object permissions, Apex classes. */
export function grantsOf(file: string): Grants {
  const set = readXml(file)['PermissionSet'];
  const fields: { field: string; readable: string; editable: string }[] = set.fieldPermissions ?? [];
  const objects: Record<string, string>[] = set.objectPermissions ?? [];
  const classes: { apexClass: string; enabled: string }[] = set.classAccesses ?? [];
  return {
    readableFields: fields
      .filter((f) => f.readable === 'true')
      .map((f) => f.field)
      .sort(),
    editableFields: fields
      .filter((f) => f.editable === 'true')
      .map((f) => f.field)
      .sort(),
    objects: Object.fromEntries(objects.map((o) => [o['object']!, o])),
    classes: classes
      .filter((c) => c.enabled === 'true')
      .map((c) => c.apexClass)
      .sort(),
  };
}
