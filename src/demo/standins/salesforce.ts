/**
 * A local stand-in for the Salesforce REST API, for end-to-end tests,
 * `portal-sync demo` and benchmarks: express on 127.0.0.1, port 0, driven by
 * the real jsforce client. It answers in Salesforce's own shapes — error
 * arrays `[{message, errorCode, fields}]`, sObject Collections result lists,
 * query pages with `nextRecordsUrl`, `Sforce-Limit-Info` on every data API
 * response — and, when asked, sends the Outbound Message Salesforce would send
 * after each Account write, so echo-loop tests have a real echo.
 *
 * Modelled: client-credentials OAuth; sObject rows (get, create, update,
 * delete, get and upsert by external id); sObject Collections (create, update,
 * upsert; ≤200 records; allOrNone); describe; a small SOQL (SELECT fields or
 * COUNT() FROM one object, WHERE with AND/OR/NOT, comparisons, IN, LIKE,
 * ORDER BY, LIMIT, OFFSET, one-level relationship fields); queryMore; /limits;
 * the daily API limit plus a windowed rate for tests; seeded faults.
 * Not modelled: Bulk API 2.0, Composite/Batch/Graph, CDC and Pub/Sub, Apex,
 * validation rules, sharing, picklist restrictions, relationship upserts
 * (`Account__r: {Ext__c: …}`), date literals such as LAST_N_DAYS.
 *
 * Datetimes are stored as REST renders them (2024-12-02T09:25:34.000+0000);
 * system timestamps have whole-second precision, as in Salesforce, so two
 * writes within a second share a SystemModstamp.
 */
import { createHmac, randomBytes } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { buildOutboundMessage } from '../../connectors/salesforce/outbound-builder.js';
import { FaultInjector, FixedWindowRateLimiter, listenOnLoopback } from './common.js';
import type { FaultKind, FaultOptions, RateWindow } from './common.js';

export type { FaultKind, FaultOptions, RateWindow } from './common.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export type SalesforceFieldType =
  | 'id' | 'string' | 'textarea' | 'email' | 'phone' | 'url' | 'picklist' | 'boolean'
  | 'int' | 'double' | 'currency' | 'percent' | 'date' | 'datetime' | 'reference' | 'address';

/** A field as describe reports it. */
export interface SalesforceField {
  name: string;
  label: string;
  type: SalesforceFieldType;
  length: number;
  custom: boolean;
  externalId: boolean;
  idLookup: boolean;
  unique: boolean;
  /** Upsert matching ignores case unless this is true (Salesforce: only Unique + case-insensitive fields match ignoring case). */
  caseSensitive: boolean;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  defaultedOnCreate: boolean;
  referenceTo: string[];
  relationshipName: string | null;
}

/** A field to define: a name alone is a 255-character text field. */
export type SalesforceFieldSpec = { name: string } & Partial<Omit<SalesforceField, 'name' | 'custom'>>;

export interface SalesforceStandInOptions {
  /** Default '62.0'. Requests may use any version from 20.0 up to this one. */
  apiVersion?: string;
  /** A windowed limit for tests; past it every call gets Salesforce's 403 REQUEST_LIMIT_EXCEEDED. */
  rate?: RateWindow;
  /** The org's daily API request limit, reported by Sforce-Limit-Info and /limits. Default 100000. */
  dailyLimit?: number;
  faults?: FaultOptions;
  /** Send the Outbound Message Salesforce would send after every write to these objects (default Account). */
  outbound?: { url: string; orgId: string; sobjects?: string[]; fields?: string[]; delayMs?: number };
  /** The org id (15 or 18 characters); outbound.orgId wins when both are set. */
  orgId?: string;
  /** Extra fields by sObject; an undefined name ending in __c becomes a custom object. */
  fields?: Record<string, Array<string | SalesforceFieldSpec>>;
  /** The connected app's consumer key and secret; defaults are generated. */
  credentials?: { clientId: string; clientSecret: string };
  /** The clock (ms) for timestamps and the rate window. */
  now?: () => number;
}

export type SalesforceRecord = { Id: string; [field: string]: unknown };

export interface SalesforceCall {
  method: string;
  /** Without the query string: `/services/data/v62.0/composite/sobjects/Account/Ext__c`. */
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  /** 0 while pending, and for a reset or hung call. */
  status: number;
  /** The parsed JSON body (the token endpoint's form: grant_type and client_id only). */
  body: unknown;
  /** `records.length` of a collections body. */
  records?: number;
  /** The Sforce-Call-Options header, e.g. `client=portal-sync`. */
  callOptions?: string;
  at: number;
  fault?: FaultKind | 'failNext';
}

export interface OutboundDelivery {
  xml: string;
  notificationIds: string[];
  recordIds: string[];
  /** The receiver's HTTP status, once answered. */
  status?: number;
  response?: string;
  error?: string;
}

export interface SalesforceStandIn {
  /** `http://127.0.0.1:PORT`: jsforce's instanceUrl. */
  instanceUrl: string;
  /** The same server: the client credentials flow posts to `${loginUrl}/services/oauth2/token`. */
  loginUrl: string;
  orgId: string;
  /** A token valid from the start, for `new Connection({ instanceUrl, accessToken })`. */
  accessToken: string;
  clientId: string;
  clientSecret: string;
  apiVersion: string;
  state: SalesforceState;
  calls: SalesforceCall[];
  outbound: OutboundDelivery[];
  /** Replaces the random faults (null: none) and restarts their sequence from the seed. */
  setFaults(faults: FaultOptions | null): void;
  /**
   * The next n data API calls (those matching `match`, tested on "METHOD /path?query")
   * answer `status` — or are reset or left hanging. Default bodies are Salesforce's for
   * 401, 403, 404, 5xx and 503 (other statuses get a placeholder: pass a body); a string
   * body is sent as text/html, like the edge's error pages.
   */
  failNext(n: number, status: number | 'reset' | 'timeout', body?: unknown, match?: RegExp): void;
  /** Every issued token stops working (401 INVALID_SESSION_ID), as when a session expires. */
  expireTokens(): void;
  /** A person's edit in Salesforce: applied without checks, and echoed like an API write. */
  edit(sobject: string, id: string, fields: Record<string, unknown>): SalesforceRecord;
  /** Resolves once every Outbound Message queued so far has been answered (or failed). */
  flushOutbound(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Ids, time, errors
// ---------------------------------------------------------------------------------------------

const CHECKSUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_SHAPE = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;

/** The 18-character form of a record id: each suffix character encodes which of five characters are upper case. */
export function toId18(id: string): string {
  if (id.length !== 15) return id;
  let suffix = '';
  for (let chunk = 0; chunk < 15; chunk += 5) {
    let bits = 0;
    for (let i = 0; i < 5; i++) if (/[A-Z]/.test(id[chunk + i] ?? '')) bits |= 1 << i;
    suffix += CHECKSUM[bits];
  }
  return id + suffix;
}

function base62(n: number, width: number): string {
  let text = '';
  for (let rest = Math.floor(n); rest > 0; rest = Math.floor(rest / 62)) text = BASE62[rest % 62] + text;
  return text.padStart(width, '0');
}

/** REST renders datetimes as 2024-12-02T09:25:34.000+0000. */
const restDateTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');
const wholeSeconds = (ms: number) => Math.floor(ms / 1000) * 1000;
const DATETIME_IN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** An answer other than 2xx, in Salesforce's shape. */
class ApiError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(`Salesforce stand-in answers ${status}`);
  }
}

function apiError(status: number, errorCode: string, message: string, fields?: string[]): ApiError {
  return new ApiError(status, [{ message, errorCode, ...(fields ? { fields } : {}) }]);
}

const notFound = () => apiError(404, 'NOT_FOUND', 'The requested resource does not exist');
const noSuchExternalIdField = (name: string) =>
  apiError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${name}`);
const noSuchColumn = (name: string, sobject: string) =>
  `No such column '${name}' on entity '${sobject}'. If you are attempting to use a custom field, be sure to ` +
  "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";

/** A per-record DML error; sObject Collections carry these in results, single-record calls answer 400 with them. */
type DmlError = { statusCode: string; message: string; fields: string[] };
const dml = (statusCode: string, message: string, fields: string[] = []): DmlError => ({ statusCode, message, fields });
const dmlFailure = (errors: DmlError[]) =>
  new ApiError(400, errors.map((e) => ({ message: e.message, errorCode: e.statusCode, fields: e.fields })));

// ---------------------------------------------------------------------------------------------
// Schema: standard objects and fields, custom ones on demand
// ---------------------------------------------------------------------------------------------

interface SObjectDef {
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  custom: boolean;
  fields: SalesforceField[];
  byName: Map<string, SalesforceField>; // lower-case API name → field: Salesforce names are case-insensitive
}

const TEXT_LENGTH: Partial<Record<SalesforceFieldType, number>> = {
  id: 18, reference: 18, string: 255, textarea: 255, email: 80, phone: 40, url: 255, picklist: 255,
};

function makeField(spec: SalesforceFieldSpec): SalesforceField {
  const type = spec.type ?? 'string';
  const custom = spec.name.endsWith('__c');
  const externalId = spec.externalId ?? false;
  const unique = spec.unique ?? externalId;
  return {
    name: spec.name,
    label: spec.label ?? spec.name.replace(/__c$/, '').replace(/_/g, ' '),
    type,
    length: spec.length ?? TEXT_LENGTH[type] ?? 0,
    custom,
    externalId,
    idLookup: spec.idLookup ?? (externalId || type === 'id'),
    unique,
    caseSensitive: spec.caseSensitive ?? !unique,
    nillable: spec.nillable ?? type !== 'boolean',
    createable: spec.createable ?? true,
    updateable: spec.updateable ?? true,
    defaultedOnCreate: spec.defaultedOnCreate ?? type === 'boolean',
    referenceTo: spec.referenceTo ?? [],
    relationshipName: spec.relationshipName ?? (type === 'reference' && custom ? spec.name.replace(/__c$/, '__r') : null),
  };
}

type Def = [name: string, type: SalesforceFieldType, label: string, extra?: Partial<SalesforceField>];
const READ_ONLY = { createable: false, updateable: false };

function systemFields(objectLabel: string): Def[] {
  const user = (relationshipName: string) => ({ referenceTo: ['User'], relationshipName });
  return [
    ['Id', 'id', `${objectLabel} ID`, { ...READ_ONLY, nillable: false, defaultedOnCreate: true }],
    ['IsDeleted', 'boolean', 'Deleted', READ_ONLY],
    ['OwnerId', 'reference', 'Owner ID', { ...user('Owner'), nillable: false, defaultedOnCreate: true }],
    ['CreatedDate', 'datetime', 'Created Date', { ...READ_ONLY, defaultedOnCreate: true }],
    ['CreatedById', 'reference', 'Created By ID', { ...READ_ONLY, ...user('CreatedBy'), defaultedOnCreate: true }],
    ['LastModifiedDate', 'datetime', 'Last Modified Date', { ...READ_ONLY, defaultedOnCreate: true }],
    ['LastModifiedById', 'reference', 'Last Modified By ID', { ...READ_ONLY, ...user('LastModifiedBy'), defaultedOnCreate: true }],
    ['SystemModstamp', 'datetime', 'System Modstamp', { ...READ_ONLY, defaultedOnCreate: true }],
  ];
}

function addressFields(prefix: string): Def[] {
  return [
    [`${prefix}Street`, 'textarea', `${prefix} Street`],
    [`${prefix}City`, 'string', `${prefix} City`, { length: 40 }],
    [`${prefix}State`, 'string', `${prefix} State/Province`, { length: 80 }],
    [`${prefix}PostalCode`, 'string', `${prefix} Zip/Postal Code`, { length: 20 }],
    [`${prefix}Country`, 'string', `${prefix} Country`, { length: 80 }],
    [`${prefix}Address`, 'address', `${prefix} Address`, READ_ONLY],
  ];
}

const STANDARD_OBJECTS: Array<{ name: string; label: string; plural: string; keyPrefix: string; fields: Def[] }> = [
  {
    name: 'Account', label: 'Account', plural: 'Accounts', keyPrefix: '001',
    fields: [
      ['Name', 'string', 'Account Name', { nillable: false, idLookup: true, caseSensitive: false }],
      ['AccountNumber', 'string', 'Account Number', { length: 40 }],
      ['Type', 'picklist', 'Account Type'],
      ['ParentId', 'reference', 'Parent Account ID', { referenceTo: ['Account'], relationshipName: 'Parent' }],
      ...addressFields('Billing'),
      ...addressFields('Shipping'),
      ['Phone', 'phone', 'Account Phone'],
      ['Website', 'url', 'Website'],
      ['Industry', 'picklist', 'Industry'],
      ['AnnualRevenue', 'currency', 'Annual Revenue'],
      ['NumberOfEmployees', 'int', 'Employees'],
      ['Description', 'textarea', 'Account Description', { length: 32000 }],
      ['LastActivityDate', 'date', 'Last Activity', READ_ONLY],
    ],
  },
  {
    name: 'Contact', label: 'Contact', plural: 'Contacts', keyPrefix: '003',
    fields: [
      ['AccountId', 'reference', 'Account ID', { referenceTo: ['Account'], relationshipName: 'Account' }],
      ['LastName', 'string', 'Last Name', { length: 80, nillable: false }],
      ['FirstName', 'string', 'First Name', { length: 40 }],
      ['Salutation', 'picklist', 'Salutation', { length: 40 }],
      ['Name', 'string', 'Full Name', { ...READ_ONLY, length: 121, idLookup: true, caseSensitive: false }],
      ...addressFields('Mailing'),
      ['Phone', 'phone', 'Business Phone'],
      ['MobilePhone', 'phone', 'Mobile Phone'],
      ['Email', 'email', 'Email', { idLookup: true, caseSensitive: false }],
      ['Title', 'string', 'Title', { length: 128 }],
      ['Department', 'string', 'Department', { length: 80 }],
      ['Description', 'textarea', 'Contact Description', { length: 32000 }],
      ['LastActivityDate', 'date', 'Last Activity', READ_ONLY],
    ],
  },
];

const USER_KEY_PREFIX = '005';

// ---------------------------------------------------------------------------------------------
// State: records, external-id lookups, writes with Salesforce's checks
// ---------------------------------------------------------------------------------------------

type Values = Record<string, unknown>;
type Undo = Array<{ def: SObjectDef; id: string; prev: SalesforceRecord | undefined }>;
type SaveResult = { id: string; created: boolean } | { errors: DmlError[] };

export class SalesforceState {
  /** Records by sObject API name, then by 18-character id. Write through the methods, which keep lookups current. */
  readonly sobjects = new Map<string, Map<string, SalesforceRecord>>();
  /** sObject definitions by lower-case API name; `fields` is what describe reports. */
  readonly objects = new Map<string, SObjectDef>();
  readonly orgId: string;
  /** The integration user the stand-in's API calls run as. */
  readonly userId: string;
  /** Data API calls counted today (Sforce-Limit-Info's api-usage). */
  apiUsage = 0;
  // sObject → field → match key → ids, for fields that can be looked up by value (external ids, idLookup, unique).
  private readonly lookups = new Map<string, Map<string, Map<string, Set<string>>>>();
  private sequence = 0;
  private customObjects = 0;
  private seeded = 0;

  constructor(orgId: string, private readonly clock: () => number) {
    this.orgId = orgId;
    this.userId = this.newId(USER_KEY_PREFIX);
    for (const o of STANDARD_OBJECTS) {
      this.addObject(o.name, o.label, o.plural, o.keyPrefix, false, [...systemFields(o.label), ...o.fields]);
    }
  }

  /** A new, never-issued 18-character id with this key prefix (001 Account, 003 Contact, a0B… custom objects). */
  newId(keyPrefix: string): string {
    this.sequence += 1;
    // prefix + the org's pod + reserved + a base-62 counter, like 0018d00000QxZ7p.
    return toId18(`${keyPrefix}${this.orgId.slice(3, 5)}0${base62(1_700_000_000 + this.sequence * 7919, 9)}`);
  }

  /** A custom object with the standard custom-object fields (Name defaults to the record id). */
  defineObject(name: string, opts: { label?: string; keyPrefix?: string } = {}): void {
    if (this.objects.has(name.toLowerCase())) return;
    if (!/^[A-Za-z][A-Za-z0-9_]*__c$/.test(name)) throw new Error(`defineObject: ${name} is not a custom object name (…__c)`);
    const label = opts.label ?? name.replace(/__c$/, '').replace(/_/g, ' ');
    const keyPrefix = opts.keyPrefix ?? `a0${BASE62[11 + this.customObjects++] ?? 'z'}`;
    const nameField: Def = ['Name', 'string', `${label} Name`, { length: 80, nillable: false, defaultedOnCreate: true, idLookup: true, caseSensitive: false }];
    this.addObject(name, label, `${label}s`, keyPrefix, true, [...systemFields(label), nameField]);
  }

  /** Adds a field (a custom object named …__c is defined on first use); returns it as describe reports it. */
  defineField(sobject: string, field: string | SalesforceFieldSpec): SalesforceField {
    if (!this.objects.has(sobject.toLowerCase()) && sobject.endsWith('__c')) this.defineObject(sobject);
    const def = this.object(sobject);
    const made = makeField(typeof field === 'string' ? { name: field } : field);
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(made.name)) throw new Error(`defineField: ${made.name} is not an API name`);
    const existing = def.byName.get(made.name.toLowerCase());
    if (existing) return existing;
    def.fields.push(made);
    def.byName.set(made.name.toLowerCase(), made);
    if (isLookupField(made)) {
      this.lookupsOf(def).set(made.name, new Map());
      for (const rec of this.table(def).values()) this.index(def, rec, true);
    }
    return made;
  }

  /** The definition of an sObject (case-insensitive); throws for an unknown one. */
  object(sobject: string): SObjectDef {
    const def = this.objects.get(sobject.toLowerCase());
    if (!def) throw new Error(`unknown sObject ${sobject}`);
    return def;
  }

  get(sobject: string, id: string): SalesforceRecord | undefined {
    return ID_SHAPE.test(id) ? this.table(this.object(sobject)).get(toId18(id)) : undefined;
  }

  /** Records whose `field` matches `value` the way upsert matches them. */
  findByExternalId(sobject: string, field: string, value: unknown): SalesforceRecord[] {
    const def = this.object(sobject);
    const f = def.byName.get(field.toLowerCase());
    if (!f) throw new Error(`no field ${field} on ${def.name}`);
    return this.match(def, f, value).map((id) => this.table(def).get(id)!);
  }

  /** The one record with this external id value, if any. */
  byExternalId(sobject: string, field: string, value: unknown): SalesforceRecord | undefined {
    return this.findByExternalId(sobject, field, value)[0];
  }

  /** The fields describe reports for this sObject, in order. */
  fieldsOf(sobject: string): SalesforceField[] {
    return [...this.object(sobject).fields];
  }

  count(sobject: string): number {
    return this.table(this.object(sobject)).size;
  }

  /**
   * Inserts a record as if it had been there all along: no permission or
   * uniqueness checks, system fields (CreatedDate, SystemModstamp…) may be set.
   */
  seed(sobject: string, fields: Values = {}): SalesforceRecord {
    const def = this.object(sobject);
    const values = this.seedValues(def, fields);
    const stamp = restDateTime(wholeSeconds(this.clock()));
    const id = this.newId(def.keyPrefix);
    const rec = this.blank(def, id, stamp);
    Object.assign(rec, values);
    if (def.custom && rec['Name'] == null) rec['Name'] = id;
    this.derive(def, rec);
    this.put(def, rec, undefined);
    return rec;
  }

  seedAccount(fields: Values = {}): SalesforceRecord {
    return this.seed('Account', { Name: `Seeded Account ${++this.seeded}`, ...fields });
  }

  seedContact(fields: Values = {}): SalesforceRecord {
    return this.seed('Contact', { LastName: `Contact ${++this.seeded}`, ...fields });
  }

  /** Changes a record without checks; SystemModstamp and LastModifiedDate move to now unless given. */
  update(sobject: string, id: string, fields: Values): SalesforceRecord {
    const def = this.object(sobject);
    const prev = this.get(def.name, id);
    if (!prev) throw new Error(`no ${def.name} ${id}`);
    const stamp = restDateTime(wholeSeconds(this.clock()));
    const rec: SalesforceRecord = { ...prev, LastModifiedDate: stamp, LastModifiedById: this.userId, SystemModstamp: stamp };
    Object.assign(rec, this.seedValues(def, fields));
    this.derive(def, rec);
    this.put(def, rec, prev);
    return rec;
  }

  // ---- used by the HTTP layer ----

  private readonly recycled = new Map<string, { def: SObjectDef; rec: SalesforceRecord }>();

  objectOrNull(sobject: string): SObjectDef | undefined {
    return this.objects.get(sobject.toLowerCase());
  }

  table(def: SObjectDef): Map<string, SalesforceRecord> {
    let table = this.sobjects.get(def.name);
    if (!table) this.sobjects.set(def.name, (table = new Map()));
    return table;
  }

  /** Ids matching `value` on a lookup field (Id itself included). */
  match(def: SObjectDef, field: SalesforceField, value: unknown): string[] {
    if (value === null || value === undefined || value === '') return [];
    if (field.type === 'id') {
      const text = String(value);
      return ID_SHAPE.test(text) && this.table(def).has(toId18(text)) ? [toId18(text)] : [];
    }
    const ids = this.lookupsOf(def).get(field.name)?.get(matchKey(field, value));
    return ids ? [...ids] : [];
  }

  /** Request JSON → canonical field names and stored values; unknown fields and bad values fail the whole request. */
  deserialize(def: SObjectDef, input: Values, skip: (key: string) => boolean = () => false): Values {
    const out: Values = {};
    for (const [key, raw] of Object.entries(input)) {
      if (key === 'attributes' || skip(key)) continue;
      const field = def.byName.get(key.toLowerCase());
      if (!field) throw apiError(400, 'INVALID_FIELD', `No such column '${key}' on sobject of type ${def.name}`);
      out[field.name] = coerce(field, raw);
    }
    return out;
  }

  /** One record's create or update with Salesforce's DML checks; `undo` collects what allOrNone may roll back. */
  save(def: SObjectDef, values: Values, existing: SalesforceRecord | undefined, undo?: Undo): SaveResult {
    const errors = this.check(def, values, existing);
    if (errors.length > 0) return { errors };
    const stamp = restDateTime(wholeSeconds(this.clock()));
    let rec: SalesforceRecord;
    if (existing) {
      rec = { ...existing, ...values, LastModifiedDate: stamp, LastModifiedById: this.userId, SystemModstamp: stamp };
    } else {
      rec = this.blank(def, this.newId(def.keyPrefix), stamp);
      Object.assign(rec, values);
      if (def.custom && (rec['Name'] == null || rec['Name'] === '')) rec['Name'] = rec.Id;
    }
    this.derive(def, rec);
    undo?.push({ def, id: rec.Id, prev: existing });
    this.put(def, rec, existing);
    return { id: rec.Id, created: !existing };
  }

  rollback(undo: Undo): void {
    for (const { def, id, prev } of [...undo].reverse()) {
      const current = this.table(def).get(id);
      if (current) this.index(def, current, false);
      if (prev) this.put(def, prev, undefined);
      else this.table(def).delete(id);
    }
  }

  remove(def: SObjectDef, id: string): boolean {
    const rec = this.table(def).get(id);
    if (!rec) return false;
    this.index(def, rec, false);
    // Into the recycle bin: deleting it again answers ENTITY_IS_DELETED, as Salesforce does.
    this.recycled.set(id, { def, rec });
    return this.table(def).delete(id);
  }

  /** Takes a record out of the recycle bin again (an allOrNone delete that rolled back). */
  unremove(id: string): void {
    const entry = this.recycled.get(id);
    if (!entry) return;
    this.recycled.delete(id);
    this.put(entry.def, entry.rec, undefined);
  }

  isRecycled(id: string): boolean {
    return this.recycled.has(id);
  }

  /** The object whose records' ids start with this key prefix (001 = Account…). */
  objectByPrefix(prefix: string): SObjectDef | undefined {
    return [...this.objects.values()].find((d) => d.keyPrefix === prefix);
  }

  // ---- internals ----

  private addObject(name: string, label: string, labelPlural: string, keyPrefix: string, custom: boolean, defs: Def[]): void {
    const fields = defs.map(([fieldName, type, fieldLabel, extra]) => makeField({ name: fieldName, type, label: fieldLabel, ...extra }));
    const def: SObjectDef = { name, label, labelPlural, keyPrefix, custom, fields, byName: new Map(fields.map((f) => [f.name.toLowerCase(), f])) };
    this.objects.set(name.toLowerCase(), def);
    this.sobjects.set(name, new Map());
    this.lookups.set(name, new Map(fields.filter(isLookupField).map((f) => [f.name, new Map()])));
  }

  private lookupsOf(def: SObjectDef): Map<string, Map<string, Set<string>>> {
    let lookups = this.lookups.get(def.name);
    if (!lookups) this.lookups.set(def.name, (lookups = new Map()));
    return lookups;
  }

  private seedValues(def: SObjectDef, fields: Values): Values {
    const values: Values = {};
    for (const [key, raw] of Object.entries(fields)) {
      const field = def.byName.get(key.toLowerCase());
      if (!field || field.name === 'Id') throw new Error(`cannot seed ${def.name}.${key}: ${field ? 'ids are generated' : 'no such field'}`);
      try {
        values[field.name] = field.type === 'reference' && typeof raw === 'string' && ID_SHAPE.test(raw) ? toId18(raw) : coerce(field, raw);
      } catch (err) {
        throw new Error(`cannot seed ${def.name}.${field.name} with ${JSON.stringify(raw)}: ${JSON.stringify((err as ApiError).body)}`);
      }
    }
    return values;
  }

  private blank(def: SObjectDef, id: string, stamp: string): SalesforceRecord {
    const rec: SalesforceRecord = { Id: id };
    for (const f of def.fields) if (f.name !== 'Id') rec[f.name] = f.type === 'boolean' ? false : null;
    Object.assign(rec, {
      OwnerId: this.userId, CreatedDate: stamp, CreatedById: this.userId,
      LastModifiedDate: stamp, LastModifiedById: this.userId, SystemModstamp: stamp,
    });
    return rec;
  }

  /** Fields Salesforce computes: Contact.Name and the compound addresses. */
  private derive(def: SObjectDef, rec: SalesforceRecord): void {
    if (def.name === 'Contact') rec['Name'] = [rec['FirstName'], rec['LastName']].filter((p) => p != null && p !== '').join(' ') || null;
    for (const f of def.fields) {
      if (f.type !== 'address') continue;
      const prefix = f.name.replace(/Address$/, '');
      const part = (suffix: string) => rec[`${prefix}${suffix}`] ?? null;
      const parts = { city: part('City'), country: part('Country'), postalCode: part('PostalCode'), state: part('State'), street: part('Street') };
      const any = Object.values(parts).some((v) => v !== null);
      rec[f.name] = any ? { ...parts, geocodeAccuracy: null, latitude: null, longitude: null } : null;
    }
  }

  private put(def: SObjectDef, rec: SalesforceRecord, prev: SalesforceRecord | undefined): void {
    if (prev) this.index(def, prev, false);
    this.table(def).set(rec.Id, rec);
    this.index(def, rec, true);
  }

  private index(def: SObjectDef, rec: SalesforceRecord, add: boolean): void {
    for (const [fieldName, byKey] of this.lookupsOf(def)) {
      const value = rec[fieldName];
      const field = def.byName.get(fieldName.toLowerCase());
      if (!field || value === null || value === undefined || value === '') continue;
      const key = matchKey(field, value);
      let ids = byKey.get(key);
      if (add) {
        if (!ids) byKey.set(key, (ids = new Set()));
        ids.add(rec.Id);
      } else if (ids) {
        ids.delete(rec.Id);
        if (ids.size === 0) byKey.delete(key);
      }
    }
  }

  /** Salesforce's DML checks, in the order it reports them. */
  private check(def: SObjectDef, values: Values, existing: SalesforceRecord | undefined): DmlError[] {
    const names = Object.keys(values);
    const readOnly = names.filter((n) => {
      const f = def.byName.get(n.toLowerCase())!;
      return existing ? !f.updateable : !f.createable;
    });
    if (readOnly.length > 0) {
      return [dml('INVALID_FIELD_FOR_INSERT_UPDATE',
        `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field ` +
          'and verify that it is read/write for your profile or permission set.', readOnly)];
    }
    const errors: DmlError[] = [];
    const blank = (v: unknown) => v === null || v === undefined || v === '';
    const missing = def.fields
      .filter((f) => !f.nillable && f.createable && f.type !== 'boolean' && !f.defaultedOnCreate)
      .filter((f) => (existing ? f.name in values && blank(values[f.name]) : blank(values[f.name])))
      .map((f) => f.name);
    if (missing.length > 0) errors.push(dml('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing));
    for (const name of names) {
      const f = def.byName.get(name.toLowerCase())!;
      const value = values[name];
      if (typeof value === 'string' && f.length > 0 && value.length > f.length) {
        errors.push(dml('STRING_TOO_LONG', `${f.label}: data value too large: ${value.slice(0, 200)} (max length=${f.length})`, [f.name]));
      }
      if (f.type === 'email' && typeof value === 'string' && value !== '' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) {
        errors.push(dml('INVALID_EMAIL_ADDRESS', `${f.label}: invalid email address: ${value}`, [f.name]));
      }
      if (f.type === 'reference' && typeof value === 'string' && value !== '') errors.push(...this.checkReference(f, value, values));
      if (f.unique && !blank(value)) {
        const other = this.match(def, f, value).find((id) => id !== existing?.Id);
        if (other) errors.push(dml('DUPLICATE_VALUE', `duplicate value found: ${f.name} duplicates value on record with id: ${other}`));
      }
    }
    return errors;
  }

  private checkReference(f: SalesforceField, value: string, values: Values): DmlError[] {
    if (!ID_SHAPE.test(value)) return [dml('MALFORMED_ID', `${f.label}: id value of incorrect type: ${value}`, [f.name])];
    const targets = f.referenceTo.map((t) => (t === 'User' ? USER_KEY_PREFIX : this.objectOrNull(t)?.keyPrefix));
    if (!targets.includes(value.slice(0, 3))) {
      return [dml('FIELD_INTEGRITY_EXCEPTION', `${f.label}: id value of incorrect type: ${value}`, [f.name])];
    }
    const id = toId18(value);
    values[f.name] = id;
    const target = f.referenceTo.map((t) => this.objectOrNull(t)).find((d) => d?.keyPrefix === value.slice(0, 3));
    if (target && !this.table(target).has(id)) return [dml('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [f.name])];
    return [];
  }
}

function isLookupField(f: SalesforceField): boolean {
  return f.type !== 'id' && (f.externalId || f.idLookup || f.unique);
}

function matchKey(field: SalesforceField, value: unknown): string {
  const text = String(value);
  return field.caseSensitive ? text : text.toLowerCase();
}

function jsonToken(raw: unknown): string {
  if (Array.isArray(raw)) return 'START_ARRAY';
  if (typeof raw === 'object') return 'START_OBJECT';
  if (typeof raw === 'boolean') return raw ? 'VALUE_TRUE' : 'VALUE_FALSE';
  if (typeof raw === 'number') return Number.isInteger(raw) ? 'VALUE_NUMBER_INT' : 'VALUE_NUMBER_FLOAT';
  return 'VALUE_STRING';
}

/** A JSON value → the stored value, or Salesforce's deserialization error for the whole request. */
function coerce(field: SalesforceField, raw: unknown): unknown {
  if (raw === null) return field.type === 'boolean' ? false : null;
  const fail = (typeName: string) => {
    const shown = typeof raw === 'object' ? (Array.isArray(raw) ? '[' : '{') : String(raw);
    return apiError(400, 'JSON_PARSER_ERROR',
      `Cannot deserialize instance of ${typeName} from ${jsonToken(raw)} value ${shown} or request may be missing a required field`);
  };
  if (typeof raw === 'object') throw fail(field.type === 'boolean' ? 'boolean' : field.type);
  switch (field.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw fail('boolean');
    case 'int': case 'double': case 'currency': case 'percent': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
      if (Number.isFinite(n)) return n;
      throw fail('double');
    }
    case 'date':
      if (typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}/.test(raw) && !Number.isNaN(Date.parse(raw.slice(0, 10)))) return raw.slice(0, 10);
      throw fail('date');
    case 'datetime': {
      const ms = typeof raw === 'string' && DATETIME_IN.test(raw) ? Date.parse(raw) : Number.NaN;
      if (!Number.isNaN(ms)) return restDateTime(ms);
      throw fail('datetime');
    }
    default:
      return String(raw);
  }
}

// ---------------------------------------------------------------------------------------------
// SOQL: a small parser and evaluator
// ---------------------------------------------------------------------------------------------

type TokKind = 'string' | 'datetime' | 'date' | 'number' | 'op' | 'punct' | 'word' | 'end';
type Tok = { kind: TokKind; text: string; pos: number };
type FieldPath = { field: SalesforceField; via: SalesforceField | null; target: SObjectDef; pos: number };
type Literal = { kind: TokKind | 'boolean' | 'null'; value: string | number | boolean | null; pos: number };
type Condition =
  | { op: 'and' | 'or'; items: Condition[] }
  | { op: 'not'; item: Condition }
  | { op: 'cmp'; path: FieldPath; cmp: string; lit: Literal }
  | { op: 'in'; path: FieldPath; negate: boolean; lits: Literal[] }
  | { op: 'like'; path: FieldPath; pattern: RegExp };
type Soql = {
  def: SObjectDef;
  count: boolean;
  select: FieldPath[];
  where: Condition | null;
  orderBy: Array<{ path: FieldPath; desc: boolean; nullsLast: boolean }>;
  limit: number | null;
  offset: number;
};

const TOKENS: Array<[TokKind, RegExp]> = [
  ['string', /'(?:[^'\\]|\\.)*'/y],
  ['datetime', /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})/y],
  ['date', /\d{4}-\d{2}-\d{2}(?![\dT])/y],
  ['number', /-?\d+(?:\.\d+)?/y],
  ['op', /!=|<>|<=|>=|=|<|>/y],
  ['punct', /[,()]/y],
  ['word', /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y],
];

/** Salesforce points at the offending spot: the line, a caret, and "ERROR at Row:r:Column:c". */
function soqlError(soql: string, pos: number, errorCode: string, message: string): ApiError {
  const before = soql.slice(0, pos).split('\n');
  const row = before.length;
  const column = (before[row - 1] ?? '').length + 1;
  const line = soql.split('\n')[row - 1] ?? '';
  return apiError(400, errorCode, `\n${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${message}`);
}

function tokenize(soql: string): Tok[] {
  const toks: Tok[] = [];
  let pos = 0;
  for (;;) {
    while (pos < soql.length && /\s/.test(soql[pos]!)) pos++;
    if (pos >= soql.length) break;
    const hit = TOKENS.map(([kind, re]) => {
      re.lastIndex = pos;
      const m = re.exec(soql);
      return m ? { kind, text: m[0], pos } : null;
    }).find((t) => t !== null);
    if (!hit) throw soqlError(soql, pos, 'MALFORMED_QUERY', `unexpected token: ${soql[pos]}`);
    toks.push(hit);
    pos += hit.text.length;
  }
  toks.push({ kind: 'end', text: '<EOF>', pos: soql.length });
  return toks;
}

/** What a filter value must look like for a field type, named as Salesforce names it in its error. */
function literalRule(type: SalesforceFieldType): { kinds: TokKind[] | ['boolean']; typeName: string; quoted: boolean } {
  switch (type) {
    case 'datetime': return { kinds: ['datetime'], typeName: 'dateTime', quoted: false };
    case 'date': return { kinds: ['date'], typeName: 'date', quoted: false };
    case 'int': case 'double': case 'currency': case 'percent': return { kinds: ['number'], typeName: type === 'int' ? 'integer' : 'double', quoted: false };
    case 'boolean': return { kinds: ['boolean'], typeName: 'boolean', quoted: false };
    default: return { kinds: ['string'], typeName: 'string', quoted: true };
  }
}

function parseSoql(soql: string, state: SalesforceState): Soql {
  const toks = tokenize(soql);
  let i = 0;
  const peek = () => toks[i]!;
  const next = () => toks[i++]!;
  const isWord = (t: Tok, word: string) => t.kind === 'word' && t.text.toUpperCase() === word;
  const unexpected = (t: Tok) => soqlError(soql, t.pos, 'MALFORMED_QUERY', `unexpected token: ${t.text}`);
  const expectWord = (word: string) => {
    const t = next();
    if (!isWord(t, word)) throw unexpected(t);
  };
  const expectPunct = (p: string) => {
    const t = next();
    if (t.kind !== 'punct' || t.text !== p) throw unexpected(t);
  };

  expectWord('SELECT');
  let count = false;
  const selectToks: Tok[] = [];
  if (isWord(peek(), 'COUNT') && toks[i + 1]?.text === '(') {
    next(); expectPunct('('); expectPunct(')');
    count = true;
  } else {
    do {
      const t = next();
      if (t.kind !== 'word') throw unexpected(t);
      selectToks.push(t);
    } while (peek().text === ',' && next());
  }
  expectWord('FROM');
  const from = next();
  if (from.kind !== 'word') throw unexpected(from);
  const def = state.objectOrNull(from.text);
  if (!def) {
    throw soqlError(soql, from.pos, 'INVALID_TYPE',
      `sObject type '${from.text}' is not supported. If you are attempting to use a custom object, be sure to append the ` +
        "'__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.");
  }

  const resolve = (t: Tok): FieldPath => {
    const parts = t.text.split('.');
    if (parts.length > 1 && parts[0]!.toLowerCase() === def.name.toLowerCase()) parts.shift();
    if (parts.length === 1) {
      const field = def.byName.get(parts[0]!.toLowerCase());
      if (!field) throw soqlError(soql, t.pos, 'INVALID_FIELD', noSuchColumn(parts[0]!, def.name));
      return { field, via: null, target: def, pos: t.pos };
    }
    const via = def.fields.find((f) => f.relationshipName?.toLowerCase() === parts[0]!.toLowerCase());
    const target = via?.referenceTo.map((r) => state.objectOrNull(r)).find((d) => d !== undefined);
    if (!via || !target || parts.length > 2) {
      throw soqlError(soql, t.pos, 'INVALID_FIELD',
        `Didn't understand relationship '${parts[0]}' in field path. If you are attempting to use a custom relationship, be sure to ` +
          "append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.");
    }
    const field = target.byName.get(parts[1]!.toLowerCase());
    if (!field) throw soqlError(soql, t.pos, 'INVALID_FIELD', noSuchColumn(parts[1]!, target.name));
    return { field, via, target, pos: t.pos };
  };

  const literal = (path: FieldPath): Literal => {
    const t = next();
    let lit: Literal;
    if (t.kind === 'string') lit = { kind: 'string', value: t.text.slice(1, -1).replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c), pos: t.pos };
    else if (t.kind === 'number') lit = { kind: 'number', value: Number(t.text), pos: t.pos };
    else if (t.kind === 'datetime' || t.kind === 'date') lit = { kind: t.kind, value: t.text, pos: t.pos };
    else if (isWord(t, 'TRUE') || isWord(t, 'FALSE')) lit = { kind: 'boolean', value: isWord(t, 'TRUE'), pos: t.pos };
    else if (isWord(t, 'NULL')) return { kind: 'null', value: null, pos: t.pos };
    else throw unexpected(t);
    const rule = literalRule(path.field.type);
    if (!(rule.kinds as string[]).includes(lit.kind)) {
      const quoting = rule.quoted ? 'should be enclosed in quotes' : 'should not be enclosed in quotes';
      throw soqlError(soql, t.pos, 'INVALID_FIELD', `value of filter criterion for field '${path.field.name}' must be of type ${rule.typeName} and ${quoting}`);
    }
    return lit;
  };

  const primary = (): Condition => {
    if (peek().text === '(') {
      next();
      const inner = orExpr();
      expectPunct(')');
      return inner;
    }
    const t = next();
    if (t.kind !== 'word') throw unexpected(t);
    const path = resolve(t);
    const op = next();
    if (op.kind === 'op') return { op: 'cmp', path, cmp: op.text === '<>' ? '!=' : op.text, lit: literal(path) };
    const negate = isWord(op, 'NOT');
    if (negate) expectWord('IN');
    if (negate || isWord(op, 'IN')) {
      expectPunct('(');
      const lits = [literal(path)];
      while (peek().text === ',') { next(); lits.push(literal(path)); }
      expectPunct(')');
      return { op: 'in', path, negate, lits };
    }
    if (isWord(op, 'LIKE')) {
      const lit = next();
      if (lit.kind !== 'string') throw unexpected(lit);
      const body = lit.text.slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
      return { op: 'like', path, pattern: new RegExp(`^${body}$`, 'is') };
    }
    throw unexpected(op);
  };
  const notExpr = (): Condition => (isWord(peek(), 'NOT') ? (next(), { op: 'not', item: notExpr() }) : primary());
  const andExpr = (): Condition => {
    const items = [notExpr()];
    while (isWord(peek(), 'AND')) { next(); items.push(notExpr()); }
    return items.length === 1 ? items[0]! : { op: 'and', items };
  };
  const orExpr = (): Condition => {
    const items = [andExpr()];
    while (isWord(peek(), 'OR')) { next(); items.push(andExpr()); }
    return items.length === 1 ? items[0]! : { op: 'or', items };
  };

  const select = selectToks.map(resolve);
  let where: Condition | null = null;
  if (isWord(peek(), 'WHERE')) { next(); where = orExpr(); }
  const orderBy: Soql['orderBy'] = [];
  if (isWord(peek(), 'ORDER')) {
    next(); expectWord('BY');
    do {
      const t = next();
      if (t.kind !== 'word') throw unexpected(t);
      const path = resolve(t);
      let desc = false;
      if (isWord(peek(), 'ASC') || isWord(peek(), 'DESC')) desc = next().text.toUpperCase() === 'DESC';
      let nullsLast = desc; // Salesforce's default: nulls first ascending, last descending
      if (isWord(peek(), 'NULLS')) { next(); nullsLast = next().text.toUpperCase() === 'LAST'; }
      orderBy.push({ path, desc, nullsLast });
    } while (peek().text === ',' && next());
  }
  const integerAfter = (word: string): number | null => {
    if (!isWord(peek(), word)) return null;
    next();
    const t = next();
    if (t.kind !== 'number' || !Number.isInteger(Number(t.text)) || Number(t.text) < 0) throw unexpected(t);
    return Number(t.text);
  };
  const limit = integerAfter('LIMIT');
  const offset = integerAfter('OFFSET') ?? 0;
  if (peek().kind !== 'end') throw unexpected(peek());
  return { def, count, select, where, orderBy, limit, offset };
}

function valueAt(state: SalesforceState, rec: SalesforceRecord, path: FieldPath): unknown {
  if (!path.via) return rec[path.field.name] ?? null;
  const ref = rec[path.via.name];
  return typeof ref === 'string' ? (state.table(path.target).get(ref)?.[path.field.name] ?? null) : null;
}

// Queries compare the same few datetimes over and over (every row of a keyset page): parse each once.
const parsedDateTimes = new Map<string, number>();
function dateTimeMs(value: unknown): number {
  const text = String(value);
  let ms = parsedDateTimes.get(text);
  if (ms === undefined) {
    if (parsedDateTimes.size >= 100_000) parsedDateTimes.clear();
    parsedDateTimes.set(text, (ms = Date.parse(text)));
  }
  return ms;
}
/** String.prototype.localeCompare's order (the default collator), without building a collator per call. */
const collator = new Intl.Collator();

/** -1, 0, 1, or null when the two cannot be ordered (different types). */
function compareTo(field: SalesforceField, value: unknown, lit: Literal): number | null {
  if (value === null || lit.value === null) return null;
  const sign = (d: number) => (d < 0 ? -1 : d > 0 ? 1 : 0);
  switch (field.type) {
    case 'id': case 'reference': {
      const v = String(value);
      const l = String(lit.value);
      // A 15-character id is case-sensitive; 18 characters are safe to compare ignoring case.
      return l.length === 15 ? (v.slice(0, 15) === l ? 0 : sign(collator.compare(v, l))) : sign(collator.compare(v.toLowerCase(), l.toLowerCase()));
    }
    case 'datetime': return sign(dateTimeMs(value) - dateTimeMs(lit.value));
    case 'date': return sign(String(value).localeCompare(String(lit.value)));
    case 'boolean': return value === lit.value ? 0 : null;
    case 'int': case 'double': case 'currency': case 'percent': return sign(Number(value) - Number(lit.value));
    default: {
      const a = String(value).toLowerCase(); // SOQL text comparisons ignore case
      const b = String(lit.value).toLowerCase();
      return a === b ? 0 : a < b ? -1 : 1;
    }
  }
}

function holds(state: SalesforceState, rec: SalesforceRecord, c: Condition): boolean {
  switch (c.op) {
    case 'and': return c.items.every((item) => holds(state, rec, item));
    case 'or': return c.items.some((item) => holds(state, rec, item));
    case 'not': return !holds(state, rec, c.item);
    case 'like': {
      const v = valueAt(state, rec, c.path);
      return v !== null && c.pattern.test(String(v));
    }
    case 'in': {
      const v = valueAt(state, rec, c.path);
      const found = c.lits.some((lit) => (lit.value === null ? v === null : compareTo(c.path.field, v, lit) === 0));
      return c.negate ? !found : found;
    }
    case 'cmp': {
      const v = valueAt(state, rec, c.path);
      if (c.lit.value === null) return c.cmp === '=' ? v === null : c.cmp === '!=' ? v !== null : false;
      const d = compareTo(c.path.field, v, c.lit);
      if (d === null) return c.cmp === '!=';
      return { '=': d === 0, '!=': d !== 0, '<': d < 0, '<=': d <= 0, '>': d > 0, '>=': d >= 0 }[c.cmp] ?? false;
    }
  }
}

/**
 * The rows in ORDER BY order (stable), the first `keep` only: with a LIMIT, a bounded heap
 * instead of sorting the whole table (a keyset page of 2,000 out of 100,000 Accounts).
 */
function orderRecords(state: SalesforceState, rows: SalesforceRecord[], orderBy: Soql['orderBy'], keep = Infinity): SalesforceRecord[] {
  if (orderBy.length === 0) return rows;
  type Keyed = { rec: SalesforceRecord; at: number; values: unknown[] };
  const cmp = (a: Keyed, b: Keyed): number => {
    for (let i = 0; i < orderBy.length; i++) {
      const { path, desc, nullsLast } = orderBy[i]!;
      const va = a.values[i] ?? null;
      const vb = b.values[i] ?? null;
      if (va === null || vb === null) {
        if (va === vb) continue;
        return (va === null) === nullsLast ? 1 : -1;
      }
      const d = compareTo(path.field, va, { kind: 'string', value: vb as string, pos: 0 }) ?? 0;
      if (d !== 0) return desc ? -d : d;
    }
    return a.at - b.at; // ties keep their order, as a stable sort does
  };
  const keyed = (rec: SalesforceRecord, at: number): Keyed => ({ rec, at, values: orderBy.map(({ path }) => valueAt(state, rec, path)) });
  if (keep >= rows.length) return rows.map(keyed).sort(cmp).map((k) => k.rec);
  if (keep <= 0) return [];
  // Max-heap of the best `keep` so far: its root is the worst of them.
  const heap: Keyed[] = [];
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
  rows.forEach((rec, at) => {
    const k = keyed(rec, at);
    if (heap.length === keep) {
      if (cmp(k, heap[0]!) >= 0) return;
      heap[0] = k;
      for (let i = 0; ; ) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let worst = i;
        if (l < heap.length && cmp(heap[l]!, heap[worst]!) > 0) worst = l;
        if (r < heap.length && cmp(heap[r]!, heap[worst]!) > 0) worst = r;
        if (worst === i) break;
        swap(i, worst);
        i = worst;
      }
      return;
    }
    heap.push(k);
    for (let i = heap.length - 1; i > 0 && cmp(heap[i]!, heap[(i - 1) >> 1]!) > 0; i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
  });
  return heap.sort(cmp).map((k) => k.rec);
}

// ---------------------------------------------------------------------------------------------
// HTTP: the data API and the token endpoint
// ---------------------------------------------------------------------------------------------

type Ctx = {
  state: SalesforceState;
  apiVersion: string;
  dailyLimit: number;
  limiter: FixedWindowRateLimiter | null;
  faults: FaultInjector;
  armed: Array<{ status: number | 'reset' | 'timeout'; body: unknown; match: RegExp | undefined }>;
  tokens: Set<string>;
  credentials: { clientId: string; clientSecret: string };
  calls: SalesforceCall[];
  cursors: Map<string, { records: unknown[]; batch: number }>;
  instanceUrl: () => string;
  echo: (def: SObjectDef, ids: string[]) => void;
};

const JSON_TYPE = 'application/json;charset=UTF-8';
const MAX_COLLECTION = 200;
const MAX_OPEN_CURSORS = 10;

function send(res: Response, status: number, body: unknown): void {
  res.status(status);
  if (typeof body === 'string') {
    res.setHeader('Content-Type', 'text/html;charset=UTF-8');
    res.end(body);
    return;
  }
  res.setHeader('Content-Type', JSON_TYPE);
  res.end(JSON.stringify(body));
}

function defaultFailureBody(status: number, errorId: number): unknown {
  if (status === 401) return [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }];
  if (status === 403) return [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }];
  if (status === 404) return [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }];
  if (status === 503) return [{ message: 'Too many requests waiting for connections', errorCode: 'SERVER_UNAVAILABLE' }];
  if (status >= 500) {
    const id = `${1_000_000_000 + errorId}-${10_000 + (errorId % 90_000)} (${-(1_500_000_000 + errorId)})`;
    return [{ message: `An unexpected error occurred. Please include this ErrorId if you contact support: ${id}`, errorCode: 'UNKNOWN_EXCEPTION' }];
  }
  return [{ message: `stand-in failure ${status}`, errorCode: 'INVALID_INPUT' }];
}

/** "v62.0" → the version, when this org serves it. */
function servedVersion(ctx: Ctx, segment: string | undefined): string | null {
  const m = /^v(\d+)\.0$/.exec(segment ?? '');
  if (!m) return null;
  const major = Number(m[1]);
  return major >= 20 && major <= Number.parseFloat(ctx.apiVersion) ? `${major}.0` : null;
}

function releaseName(major: number): string {
  const offset = major - 62; // 62.0 shipped in Winter '25, three releases a year
  const season = ['Winter', 'Spring', 'Summer'][((offset % 3) + 3) % 3];
  return `${season} '${25 + Math.floor(offset / 3)}`;
}

const versionOf = (res: Response) => res.locals['version'] as string;
const sobjectUrl = (version: string, def: SObjectDef, id: string) => `/services/data/v${version}/sobjects/${def.name}/${id}`;

function objectOr404(ctx: Ctx, name: string | undefined): SObjectDef {
  const def = ctx.state.objectOrNull(name ?? '');
  if (!def) throw notFound();
  return def;
}

/** A field usable as the key of an upsert or a get-by-value: an external id, an idLookup field, or Id. */
function lookupFieldOr404(def: SObjectDef, name: string | undefined): SalesforceField {
  const field = def.byName.get((name ?? '').toLowerCase());
  if (!field || !(field.externalId || field.idLookup)) throw noSuchExternalIdField(name ?? '');
  return field;
}

function bodyObject(req: Request): Values {
  const body: unknown = req.body;
  if (body === undefined) throw apiError(400, 'JSON_PARSER_ERROR', 'No content to map due to end-of-input');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw apiError(400, 'JSON_PARSER_ERROR', `Cannot deserialize instance of sObject from ${jsonToken(body)} value or request may be missing a required field`);
  }
  return body as Values;
}

function collectionBody(req: Request): { allOrNone: boolean; records: Values[] } {
  const body = bodyObject(req);
  const records = body['records'];
  if (!Array.isArray(records) || records.some((r) => typeof r !== 'object' || r === null || Array.isArray(r))) {
    throw apiError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of list of sObjects or request may be missing a required field');
  }
  if (records.length > MAX_COLLECTION) {
    throw apiError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`);
  }
  return { allOrNone: body['allOrNone'] === true, records: records as Values[] };
}

function recordType(ctx: Ctx, record: Values): SObjectDef {
  const attributes = record['attributes'];
  const type = typeof attributes === 'object' && attributes !== null ? (attributes as Values)['type'] : undefined;
  if (typeof type !== 'string' || type === '') throw apiError(400, 'INVALID_TYPE', 'Must send a concrete entity type.');
  const def = ctx.state.objectOrNull(type);
  if (!def) throw apiError(400, 'INVALID_TYPE', `sObject type '${type}' is not supported.`);
  return def;
}

type Item = { def: SObjectDef; run: (undo: Undo) => SaveResult | { errors: DmlError[] } };

/** Runs one collections request in order; with allOrNone, one failure rolls everything back. */
function runCollection(ctx: Ctx, items: Item[], allOrNone: boolean, withCreated: boolean): unknown[] {
  const undo: Undo = [];
  const outcomes = items.map((item) => item.run(undo));
  const failed = outcomes.some((o) => 'errors' in o);
  if (allOrNone && failed) {
    ctx.state.rollback(undo);
    const rolledBack = dml('ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'Record rolled back because not all records were valid and the request was using AllOrNone header');
    return outcomes.map((o) => ({ success: false, errors: 'errors' in o ? o.errors : [rolledBack] }));
  }
  const written = new Map<SObjectDef, string[]>();
  outcomes.forEach((o, index) => {
    if ('errors' in o) return;
    const def = items[index]!.def;
    written.set(def, [...(written.get(def) ?? []), o.id]);
  });
  for (const [def, ids] of written) ctx.echo(def, ids);
  return outcomes.map((o) =>
    'errors' in o ? { success: false, errors: o.errors } : { id: o.id, success: true, errors: [], ...(withCreated ? { created: o.created } : {}) });
}

function projectRecord(def: SObjectDef, rec: SalesforceRecord, version: string, only?: SalesforceField[]): Values {
  const out: Values = { attributes: { type: def.name, url: sobjectUrl(version, def, rec.Id) } };
  for (const f of only ?? def.fields) out[f.name] = rec[f.name] ?? null;
  return out;
}

function projectRow(state: SalesforceState, q: Soql, rec: SalesforceRecord, version: string): Values {
  const out: Values = { attributes: { type: q.def.name, url: sobjectUrl(version, q.def, rec.Id) } };
  for (const path of q.select) {
    if (!path.via) {
      out[path.field.name] = rec[path.field.name] ?? null;
      continue;
    }
    const rel = path.via.relationshipName!;
    const ref = rec[path.via.name];
    const parent = typeof ref === 'string' ? state.table(path.target).get(ref) : undefined;
    if (!parent) {
      out[rel] = null;
      continue;
    }
    const nested = (out[rel] as Values | null | undefined) ?? { attributes: { type: path.target.name, url: sobjectUrl(version, path.target, parent.Id) } };
    nested[path.field.name] = parent[path.field.name] ?? null;
    out[rel] = nested;
  }
  return out;
}

function queryPage(ctx: Ctx, version: string, cursorId: string | null, records: unknown[], offset: number, batch: number): Values {
  const done = offset + batch >= records.length;
  let id = cursorId;
  if (done && id) ctx.cursors.delete(id);
  if (!done && !id) {
    id = ctx.state.newId('01g');
    ctx.cursors.set(id, { records, batch });
    // A user holds at most 10 open cursors; opening another releases the oldest.
    for (const oldest of ctx.cursors.keys()) {
      if (ctx.cursors.size <= MAX_OPEN_CURSORS) break;
      ctx.cursors.delete(oldest);
    }
  }
  return {
    totalSize: records.length,
    done,
    ...(done ? {} : { nextRecordsUrl: `/services/data/v${version}/query/${id}-${offset + batch}` }),
    records: records.slice(offset, offset + batch),
  };
}

/** Sforce-Query-Options: batchSize=N, honoured within Salesforce's 200..2000 (default 2000). */
function batchSizeOf(header: string | undefined): number {
  const m = /batchSize\s*=\s*(\d+)/i.exec(header ?? '');
  return m ? Math.min(2000, Math.max(200, Number(m[1]))) : 2000;
}

function dataApi(ctx: Ctx): express.Router {
  const { state } = ctx;
  const r = express.Router({ mergeParams: true });

  // Injected faults first: the edge fails before Salesforce even looks at the session.
  r.use((req, res, next) => {
    const call = res.locals['call'] as SalesforceCall;
    const line = `${req.method} ${req.originalUrl}`;
    const armedAt = ctx.armed.findIndex((a) => !a.match || a.match.test(line));
    const armed = armedAt >= 0 ? ctx.armed.splice(armedAt, 1)[0] : undefined;
    const kind = armed ? armed.status : ctx.faults.draw();
    if (kind === null || kind === undefined) return next();
    call.fault = armed ? 'failNext' : (kind as FaultKind);
    if (kind === 'reset') return void req.socket.destroy();
    if (kind === 'timeout') return; // never answered; close() drops the socket
    const status = typeof kind === 'number' ? kind : Number(kind);
    send(res, status, armed?.body ?? defaultFailureBody(status, ctx.calls.length));
  });

  r.use((req, res, next) => {
    const token = /^Bearer (.+)$/i.exec(req.header('authorization') ?? '')?.[1];
    if (!token || !ctx.tokens.has(token)) throw new ApiError(401, defaultFailureBody(401, 0));
    const version = servedVersion(ctx, req.params['version'] as string | undefined);
    if (!version) throw notFound();
    res.locals['version'] = version;
    const limited = (ctx.limiter && !ctx.limiter.take().allowed) || state.apiUsage >= ctx.dailyLimit;
    if (limited) throw new ApiError(403, defaultFailureBody(403, 0));
    state.apiUsage += 1;
    res.setHeader('Sforce-Limit-Info', `api-usage=${state.apiUsage}/${ctx.dailyLimit}`);
    next();
  });

  r.use(express.json({ limit: '50mb', type: () => true }), (req, res, next) => {
    const call = res.locals['call'] as SalesforceCall;
    call.body = req.body;
    const records = (req.body as { records?: unknown } | undefined)?.records;
    if (Array.isArray(records)) call.records = records.length;
    next();
  });

  r.get('/limits', (_req, res) => {
    const remaining = (max: number) => ({ Max: max, Remaining: max });
    send(res, 200, {
      DailyApiRequests: { Max: ctx.dailyLimit, Remaining: Math.max(0, ctx.dailyLimit - state.apiUsage) },
      DailyBulkV2QueryJobs: remaining(10000),
      DataStorageMB: remaining(5),
      FileStorageMB: remaining(20),
    });
  });

  r.get('/sobjects', (_req, res) => {
    send(res, 200, {
      encoding: 'UTF-8',
      maxBatchSize: MAX_COLLECTION,
      sobjects: [...state.objects.values()].map((d) => ({
        name: d.name, label: d.label, labelPlural: d.labelPlural, keyPrefix: d.keyPrefix, custom: d.custom,
        createable: true, updateable: true, deletable: true, queryable: true,
      })),
    });
  });

  r.get('/sobjects/:sobject', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    send(res, 200, { objectDescribe: { name: def.name, label: def.label, keyPrefix: def.keyPrefix, custom: def.custom }, recentItems: [] });
  });

  r.get('/sobjects/:sobject/describe', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const base = `/services/data/v${versionOf(res)}/sobjects/${def.name}`;
    send(res, 200, {
      name: def.name, label: def.label, labelPlural: def.labelPlural, keyPrefix: def.keyPrefix, custom: def.custom,
      createable: true, updateable: true, deletable: true, queryable: true,
      fields: def.fields.map((f) => ({ ...f, calculated: f.type === 'address' || (def.name === 'Contact' && f.name === 'Name') })),
      urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
    });
  });

  r.post('/sobjects/:sobject', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const result = state.save(def, state.deserialize(def, bodyObject(req)), undefined);
    if ('errors' in result) throw dmlFailure(result.errors);
    ctx.echo(def, [result.id]);
    send(res, 201, { id: result.id, success: true, errors: [] });
  });

  /** A bad id is read as an external id field name, which is what Salesforce's 404 then says. */
  const recordOr404 = (def: SObjectDef, id: string | undefined): SalesforceRecord => {
    if (!ID_SHAPE.test(id ?? '')) throw noSuchExternalIdField(id ?? '');
    const rec = state.table(def).get(toId18(id!));
    if (!rec) throw notFound();
    return rec;
  };

  r.get('/sobjects/:sobject/:id', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const rec = recordOr404(def, req.params['id']);
    const wanted = typeof req.query['fields'] === 'string' ? req.query['fields'].split(',').map((s) => s.trim()).filter(Boolean) : null;
    const only = wanted?.map((name) => {
      const f = def.byName.get(name.toLowerCase());
      if (!f) throw apiError(400, 'INVALID_FIELD', noSuchColumn(name, def.name));
      return f;
    });
    send(res, 200, projectRecord(def, rec, versionOf(res), only));
  });

  r.patch('/sobjects/:sobject/:id', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const rec = recordOr404(def, req.params['id']);
    const result = state.save(def, state.deserialize(def, bodyObject(req)), rec);
    if ('errors' in result) throw dmlFailure(result.errors);
    ctx.echo(def, [result.id]);
    res.status(204).end();
  });

  r.delete('/sobjects/:sobject/:id', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    state.remove(def, recordOr404(def, req.params['id']).Id);
    res.status(204).end();
  });

  const matchOrAnswer300 = (res: Response, def: SObjectDef, field: SalesforceField, value: string): SalesforceRecord | null | undefined => {
    const ids = state.match(def, field, value);
    if (ids.length > 1) {
      send(res, 300, ids.map((id) => sobjectUrl(versionOf(res), def, id)));
      return undefined;
    }
    return ids[0] ? state.table(def).get(ids[0])! : null;
  };

  r.get('/sobjects/:sobject/:field/:value', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const field = lookupFieldOr404(def, req.params['field']);
    const rec = matchOrAnswer300(res, def, field, req.params['value'] as string);
    if (rec === null) throw notFound();
    if (rec) send(res, 200, projectRecord(def, rec, versionOf(res)));
  });

  r.patch('/sobjects/:sobject/:field/:value', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const field = lookupFieldOr404(def, req.params['field']);
    const value = req.params['value'] as string;
    const values = state.deserialize(def, bodyObject(req));
    if (field.name in values && matchKey(field, values[field.name]) !== matchKey(field, value)) {
      throw apiError(400, 'INVALID_FIELD', `${field.name}: the value in the request body does not match the external id in the URL`, [field.name]);
    }
    const existing = matchOrAnswer300(res, def, field, value);
    if (existing === undefined) return;
    if (existing === null && (field.type === 'id' || req.query['updateOnly'] === 'true')) throw notFound();
    if (existing === null) values[field.name] = coerce(field, value);
    const result = state.save(def, values, existing ?? undefined);
    if ('errors' in result) throw dmlFailure(result.errors);
    ctx.echo(def, [result.id]);
    // Since API 46.0 an update answers 200 with a body; before, 204.
    if (!result.created && Number.parseFloat(versionOf(res)) < 46) return void res.status(204).end();
    send(res, result.created ? 201 : 200, { id: result.id, success: true, errors: [], created: result.created });
  });

  r.post('/composite/sobjects', (req, res) => {
    const { allOrNone, records } = collectionBody(req);
    const items = records.map((record): Item => {
      const def = recordType(ctx, record);
      const hasId = Object.keys(record).some((k) => k.toLowerCase() === 'id');
      const values = state.deserialize(def, record, (k) => k.toLowerCase() === 'id');
      return { def, run: (undo) => (hasId ? { errors: [dml('INVALID_FIELD', 'cannot specify Id in an insert call', ['Id'])] } : state.save(def, values, undefined, undo)) };
    });
    send(res, 200, runCollection(ctx, items, allOrNone, false));
  });

  r.patch('/composite/sobjects', (req, res) => {
    const { allOrNone, records } = collectionBody(req);
    const items = records.map((record): Item => {
      const def = recordType(ctx, record);
      const idKey = Object.keys(record).find((k) => k.toLowerCase() === 'id');
      const id = idKey ? record[idKey] : undefined;
      const values = state.deserialize(def, record, (k) => k === idKey);
      return {
        def,
        run: (undo) => {
          if (typeof id !== 'string' || id === '') return { errors: [dml('MISSING_ARGUMENT', 'Id not specified in an update call')] };
          if (!ID_SHAPE.test(id) || id.slice(0, 3) !== def.keyPrefix) {
            return { errors: [dml('MALFORMED_ID', `${def.label} ID: id value of incorrect type: ${id}`, ['Id'])] };
          }
          const existing = state.table(def).get(toId18(id));
          if (!existing) return { errors: [dml('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id')] };
          return state.save(def, values, existing, undo);
        },
      };
    });
    send(res, 200, runCollection(ctx, items, allOrNone, false));
  });

  r.patch('/composite/sobjects/:sobject/:field', (req, res) => {
    const def = objectOr404(ctx, req.params['sobject']);
    const field = lookupFieldOr404(def, req.params['field']);
    const { allOrNone, records } = collectionBody(req);
    const prepared = records.map((record) => {
      if (recordType(ctx, record) !== def) throw apiError(400, 'INVALID_TYPE', `records must all be of type ${def.name}, as in the URL`);
      return state.deserialize(def, record);
    });
    const seen = new Map<string, number>();
    for (const values of prepared) {
      const v = values[field.name];
      if (v != null && v !== '') seen.set(matchKey(field, v), (seen.get(matchKey(field, v)) ?? 0) + 1);
    }
    const items = prepared.map((values): Item => ({
      def,
      run: (undo) => {
        const v = values[field.name];
        if (v === null || v === undefined || v === '') return { errors: [dml('MISSING_ARGUMENT', `${field.name} not specified`)] };
        if ((seen.get(matchKey(field, v)) ?? 0) > 1) return { errors: [dml('DUPLICATE_EXTERNAL_ID', `Duplicate external id specified: ${String(v)}`, [field.name])] };
        const ids = state.match(def, field, v);
        if (ids.length > 1) {
          return { errors: [dml('DUPLICATE_EXTERNAL_ID', `${field.name}: more than one record found for external id field: [${ids.join(', ')}]`, [field.name])] };
        }
        return state.save(def, values, ids[0] ? state.table(def).get(ids[0]) : undefined, undo);
      },
    }));
    send(res, 200, runCollection(ctx, items, allOrNone, true));
  });

  /**
   * DELETE composite/sobjects?ids=…[&allOrNone=true]: up to 200 ids of any types, answered 200 with one
   * DeleteResult per id in request order; a deleted record (in the recycle bin) is ENTITY_IS_DELETED, an id of
   * no record INVALID_CROSS_REFERENCE_KEY, a malformed one MALFORMED_ID. With allOrNone one failure restores all.
   */
  r.delete('/composite/sobjects', (req, res) => {
    const raw = req.query['ids'];
    if (typeof raw !== 'string' || raw.trim() === '') throw apiError(400, 'MISSING_ARGUMENT', 'ids parameter is required');
    const ids = raw.split(',').map((id) => id.trim());
    if (ids.length > MAX_COLLECTION) throw apiError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`);
    const allOrNone = req.query['allOrNone'] === 'true';
    const removed: string[] = [];
    const outcomes = ids.map((given): { id: string; errors: DmlError[] } => {
      if (!ID_SHAPE.test(given)) return { id: given, errors: [dml('MALFORMED_ID', `malformed id ${given}`)] };
      const id = toId18(given);
      if (state.isRecycled(id)) return { id, errors: [dml('ENTITY_IS_DELETED', 'entity is deleted')] };
      const def = state.objectByPrefix(id.slice(0, 3));
      if (!def || !state.remove(def, id)) return { id, errors: [dml('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id')] };
      removed.push(id);
      return { id, errors: [] };
    });
    const failed = outcomes.some((o) => o.errors.length > 0);
    if (allOrNone && failed) {
      for (const id of removed) state.unremove(id);
      const rolledBack = dml('ALL_OR_NONE_OPERATION_ROLLED_BACK', 'Record rolled back because not all records were valid and the request was using AllOrNone header');
      return void send(res, 200, outcomes.map((o) => ({ ...(o.errors.length > 0 ? {} : { id: o.id }), success: false, errors: o.errors.length > 0 ? o.errors : [rolledBack] })));
    }
    send(res, 200, outcomes.map((o) => (o.errors.length > 0 ? { success: false, errors: o.errors } : { id: o.id, success: true, errors: [] })));
  });

  const query = (req: Request, res: Response) => {
    const soql = req.query['q'];
    if (typeof soql !== 'string' || soql.trim() === '') throw apiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
    const q = parseSoql(soql, state);
    const matching = [...state.table(q.def).values()].filter((rec) => !q.where || holds(state, rec, q.where));
    const ordered = orderRecords(state, matching, q.orderBy, q.limit === null ? Infinity : q.offset + q.limit).slice(q.offset, q.limit === null ? undefined : q.offset + q.limit);
    if (q.count) return send(res, 200, { totalSize: ordered.length, done: true, records: [] });
    const rows = ordered.map((rec) => projectRow(state, q, rec, versionOf(res)));
    send(res, 200, queryPage(ctx, versionOf(res), null, rows, 0, batchSizeOf(req.header('sforce-query-options'))));
  };
  const queryMore = (req: Request, res: Response) => {
    const m = /^([A-Za-z0-9]{15,18})-(\d+)$/.exec(req.params['locator'] as string);
    const cursor = m ? ctx.cursors.get(m[1]!) : undefined;
    if (!m || !cursor) throw apiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    send(res, 200, queryPage(ctx, versionOf(res), m[1]!, cursor.records, Number(m[2]), cursor.batch));
  };
  r.get('/query', query);
  r.get('/queryAll', query);
  r.get('/query/:locator', queryMore);
  r.get('/queryAll/:locator', queryMore);

  r.use(() => {
    throw notFound();
  });
  return r;
}

function tokenEndpoint(ctx: Ctx) {
  return (req: Request, res: Response) => {
    const form = (req.body ?? {}) as Record<string, string | undefined>;
    (res.locals['call'] as SalesforceCall).body = { grant_type: form['grant_type'], client_id: form['client_id'] };
    if (form['grant_type'] !== 'client_credentials') {
      return send(res, 400, { error: 'unsupported_grant_type', error_description: 'grant type not supported' });
    }
    if (form['client_id'] !== ctx.credentials.clientId) {
      return send(res, 400, { error: 'invalid_client_id', error_description: 'client identifier invalid' });
    }
    if (form['client_secret'] !== ctx.credentials.clientSecret) {
      return send(res, 400, { error: 'invalid_client', error_description: 'invalid client credentials' });
    }
    const token = issueToken(ctx);
    const id = `${ctx.instanceUrl()}/id/${ctx.state.orgId}/${ctx.state.userId}`;
    const issuedAt = String(Date.now());
    // As Salesforce signs it: HMAC-SHA256 of id + issued_at with the consumer secret.
    const signature = createHmac('sha256', ctx.credentials.clientSecret).update(id + issuedAt).digest('base64');
    send(res, 200, { access_token: token, signature, scope: 'api', instance_url: ctx.instanceUrl(), id, token_type: 'Bearer', issued_at: issuedAt });
  };
}

function issueToken(ctx: Ctx): string {
  const token = `${ctx.state.orgId.slice(0, 15)}!AQ${randomBytes(36).toString('base64url')}`;
  ctx.tokens.add(token);
  return token;
}

function errorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  if (err instanceof ApiError) return send(res, err.status, err.body);
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.parse.failed') return send(res, 400, [{ message: String((err as Error).message), errorCode: 'JSON_PARSER_ERROR' }]);
  if (type === 'entity.too.large') return send(res, 413, [{ message: 'Request entity too large', errorCode: 'REQUEST_TOO_LARGE' }]);
  send(res, 500, defaultFailureBody(500, 0));
}

// ---------------------------------------------------------------------------------------------
// Outbound Message echo
// ---------------------------------------------------------------------------------------------

/** A stored value as the SOAP message renders it: datetimes in Z, doubles with their ".0". */
function soapValue(field: SalesforceField, value: unknown): string | null {
  if (value === null || value === undefined || typeof value === 'object') return null;
  if (field.type === 'datetime') return String(value).replace(/\+0000$/, 'Z');
  if (typeof value === 'number' && field.type !== 'int' && Number.isInteger(value)) return `${value}.0`;
  return String(value);
}

function outboundFields(def: SObjectDef, rec: SalesforceRecord, selected: string[] | undefined): Record<string, string | null> {
  const chosen = selected ? selected.map((n) => def.byName.get(n.toLowerCase())).filter((f) => f !== undefined) : def.fields;
  const fields: Record<string, string | null> = { Id: rec.Id };
  // Id first, then alphabetical, as Salesforce lays out the sObject; fields without a value are left out.
  for (const f of [...chosen].sort((a, b) => a.name.localeCompare(b.name))) {
    const text = soapValue(f, rec[f.name]);
    if (f.name !== 'Id' && f.type !== 'address' && text !== null) fields[f.name] = text;
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

export async function startSalesforceStandIn(opts: SalesforceStandInOptions = {}): Promise<SalesforceStandIn> {
  const apiVersion = opts.apiVersion ?? '62.0';
  if (!/^\d+\.0$/.test(apiVersion)) throw new Error(`apiVersion must look like 62.0, got ${apiVersion}`);
  const clock = opts.now ?? Date.now;
  const orgId = toId18(opts.outbound?.orgId ?? opts.orgId ?? `00D8d0000${base62(0x3c9a51, 6)}`);
  if (!ID_SHAPE.test(orgId) || !orgId.startsWith('00D')) throw new Error(`not an org id: ${orgId}`);
  const state = new SalesforceState(orgId, clock);
  for (const [sobject, fields] of Object.entries(opts.fields ?? {})) for (const f of fields) state.defineField(sobject, f);

  const outbound: OutboundDelivery[] = [];
  const pending = new Set<Promise<void>>();
  const echoed = new Set((opts.outbound?.sobjects ?? ['Account']).map((s) => s.toLowerCase()));
  const actionId = toId18(`04k${orgId.slice(3, 5)}0${base62(0x2b7e15, 9)}`);
  let origin = '';

  const deliver = (target: string, delivery: OutboundDelivery) =>
    fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
      body: delivery.xml,
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (res) => {
        delivery.status = res.status;
        delivery.response = await res.text();
      })
      .catch((err: unknown) => {
        delivery.error = err instanceof Error ? err.message : String(err);
      });

  const ctx: Ctx = {
    state,
    apiVersion,
    dailyLimit: opts.dailyLimit ?? 100_000,
    limiter: opts.rate ? new FixedWindowRateLimiter(opts.rate, clock) : null,
    faults: new FaultInjector(opts.faults ?? null),
    armed: [],
    tokens: new Set(),
    credentials: opts.credentials ?? { clientId: `3MVG9${randomBytes(18).toString('base64url')}`, clientSecret: randomBytes(24).toString('hex').toUpperCase() },
    calls: [],
    cursors: new Map(),
    instanceUrl: () => origin,
    echo: (def, ids) => {
      const target = opts.outbound;
      if (!target || !echoed.has(def.name.toLowerCase()) || ids.length === 0) return;
      // Each message carries the record as it is now; at most 100 notifications per message.
      for (let i = 0; i < ids.length; i += 100) {
        const recs = ids.slice(i, i + 100).map((id) => state.table(def).get(id)).filter((r) => r !== undefined);
        const notifications = recs.map((rec) => ({ id: state.newId('04l'), sObjectType: def.name, fields: outboundFields(def, rec, target.fields) }));
        const xml = buildOutboundMessage({ organizationId: orgId, actionId, sessionId: null, instanceUrl: origin, apiVersion, notifications });
        const delivery: OutboundDelivery = { xml, notificationIds: notifications.map((n) => n.id), recordIds: recs.map((r) => r.Id) };
        outbound.push(delivery);
        const done: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, target.delayMs ?? 0))
          .then(() => deliver(target.url, delivery))
          .finally(() => pending.delete(done));
        pending.add(done);
      }
    },
  };
  const accessToken = issueToken(ctx);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    const [path = '', query = ''] = req.originalUrl.split(/\?(.*)/s, 2);
    const call: SalesforceCall = { method: req.method, path, query, status: 0, body: undefined, at: Date.now() };
    const callOptions = req.header('sforce-call-options');
    if (callOptions) call.callOptions = callOptions;
    ctx.calls.push(call);
    res.locals['call'] = call;
    res.on('finish', () => {
      call.status = res.statusCode;
    });
    if (path.startsWith('/services/data/')) res.setHeader('Sforce-Limit-Info', `api-usage=${state.apiUsage}/${ctx.dailyLimit}`);
    next();
  });
  app.post('/services/oauth2/token', express.urlencoded({ extended: false }), tokenEndpoint(ctx));
  app.get(['/services/data', '/services/data/'], (_req, res) => {
    const top = Number.parseFloat(apiVersion);
    const versions = [];
    for (let v = 20; v <= top; v++) versions.push({ label: releaseName(v), url: `/services/data/v${v}.0`, version: `${v}.0` });
    send(res, 200, versions);
  });
  app.use('/services/data/:version', dataApi(ctx));
  app.use(() => {
    throw notFound();
  });
  app.use(errorHandler);

  const server = await listenOnLoopback(app);
  origin = server.origin;

  const flushOutbound = async () => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };

  return {
    instanceUrl: origin,
    loginUrl: origin,
    orgId,
    accessToken,
    clientId: ctx.credentials.clientId,
    clientSecret: ctx.credentials.clientSecret,
    apiVersion,
    state,
    calls: ctx.calls,
    outbound,
    setFaults: (faults) => ctx.faults.set(faults),
    failNext: (n, status, body, match) => {
      for (let i = 0; i < n; i++) ctx.armed.push({ status, body, match });
    },
    expireTokens: () => ctx.tokens.clear(),
    edit: (sobject, id, fields) => {
      const rec = state.update(sobject, id, fields);
      ctx.echo(state.object(sobject), [rec.Id]);
      return rec;
    },
    flushOutbound,
    close: async () => {
      await server.close();
      await flushOutbound();
    },
  };
}
