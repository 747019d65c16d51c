/** The Salesforce stand-in's state: records, external-id lookups, writes with Salesforce's checks, field coercion. */
import {
  ApiError,
  BASE62,
  DATETIME_IN,
  type DmlError,
  ID_SHAPE,
  apiError,
  base62,
  dml,
  restDateTime,
  toId18,
  wholeSeconds,
} from './errors.js';
import { type Def, type SObjectDef, STANDARD_OBJECTS, USER_KEY_PREFIX, makeField, systemFields } from './schema.js';
import { type SalesforceField, type SalesforceFieldSpec, type SalesforceRecord } from './types.js';

// ---------------------------------------------------------------------------------------------
// State: records, external-id lookups, writes with Salesforce's checks
// ---------------------------------------------------------------------------------------------

export type Values = Record<string, unknown>;
export type Undo = Array<{ def: SObjectDef; id: string; prev: SalesforceRecord | undefined }>;
export type SaveResult = { id: string; created: boolean } | { errors: DmlError[] };

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

  constructor(
    orgId: string,
    private readonly clock: () => number,
  ) {
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
    if (!/^[A-Za-z][A-Za-z0-9_]*__c$/.test(name))
      throw new Error(`defineObject: ${name} is not a custom object name (…__c)`);
    const label = opts.label ?? name.replace(/__c$/, '').replace(/_/g, ' ');
    const keyPrefix = opts.keyPrefix ?? `a0${BASE62[11 + this.customObjects++] ?? 'z'}`;
    const nameField: Def = [
      'Name',
      'string',
      `${label} Name`,
      { length: 80, nillable: false, defaultedOnCreate: true, idLookup: true, caseSensitive: false },
    ];
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
    const rec: SalesforceRecord = {
      ...prev,
      LastModifiedDate: stamp,
      LastModifiedById: this.userId,
      SystemModstamp: stamp,
    };
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

  private addObject(
    name: string,
    label: string,
    labelPlural: string,
    keyPrefix: string,
    custom: boolean,
    defs: Def[],
  ): void {
    const fields = defs.map(([fieldName, type, fieldLabel, extra]) =>
      makeField({ name: fieldName, type, label: fieldLabel, ...extra }),
    );
    const def: SObjectDef = {
      name,
      label,
      labelPlural,
      keyPrefix,
      custom,
      fields,
      byName: new Map(fields.map((f) => [f.name.toLowerCase(), f])),
    };
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
      if (!field || field.name === 'Id')
        throw new Error(`cannot seed ${def.name}.${key}: ${field ? 'ids are generated' : 'no such field'}`);
      try {
        values[field.name] =
          field.type === 'reference' && typeof raw === 'string' && ID_SHAPE.test(raw)
            ? toId18(raw)
            : coerce(field, raw);
      } catch (err) {
        throw new Error(
          `cannot seed ${def.name}.${field.name} with ${JSON.stringify(raw)}: ${JSON.stringify((err as ApiError).body)}`,
        );
      }
    }
    return values;
  }

  private blank(def: SObjectDef, id: string, stamp: string): SalesforceRecord {
    const rec: SalesforceRecord = { Id: id };
    for (const f of def.fields) if (f.name !== 'Id') rec[f.name] = f.type === 'boolean' ? false : null;
    Object.assign(rec, {
      OwnerId: this.userId,
      CreatedDate: stamp,
      CreatedById: this.userId,
      LastModifiedDate: stamp,
      LastModifiedById: this.userId,
      SystemModstamp: stamp,
    });
    return rec;
  }

  /** Fields Salesforce computes: Contact.Name and the compound addresses. */
  private derive(def: SObjectDef, rec: SalesforceRecord): void {
    if (def.name === 'Contact')
      rec['Name'] = [rec['FirstName'], rec['LastName']].filter((p) => p != null && p !== '').join(' ') || null;
    for (const f of def.fields) {
      if (f.type !== 'address') continue;
      const prefix = f.name.replace(/Address$/, '');
      const part = (suffix: string) => rec[`${prefix}${suffix}`] ?? null;
      const parts = {
        city: part('City'),
        country: part('Country'),
        postalCode: part('PostalCode'),
        state: part('State'),
        street: part('Street'),
      };
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
      return [
        dml(
          'INVALID_FIELD_FOR_INSERT_UPDATE',
          `Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field ` +
            'and verify that it is read/write for your profile or permission set.',
          readOnly,
        ),
      ];
    }
    const errors: DmlError[] = [];
    const blank = (v: unknown) => v === null || v === undefined || v === '';
    const missing = def.fields
      .filter((f) => !f.nillable && f.createable && f.type !== 'boolean' && !f.defaultedOnCreate)
      .filter((f) => (existing ? f.name in values && blank(values[f.name]) : blank(values[f.name])))
      .map((f) => f.name);
    if (missing.length > 0)
      errors.push(dml('REQUIRED_FIELD_MISSING', `Required fields are missing: [${missing.join(', ')}]`, missing));
    for (const name of names) {
      const f = def.byName.get(name.toLowerCase())!;
      const value = values[name];
      if (typeof value === 'string' && f.length > 0 && value.length > f.length) {
        errors.push(
          dml('STRING_TOO_LONG', `${f.label}: data value too large: ${value.slice(0, 200)} (max length=${f.length})`, [
            f.name,
          ]),
        );
      }
      if (
        f.type === 'email' &&
        typeof value === 'string' &&
        value !== '' &&
        !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)
      ) {
        errors.push(dml('INVALID_EMAIL_ADDRESS', `${f.label}: invalid email address: ${value}`, [f.name]));
      }
      if (f.type === 'reference' && typeof value === 'string' && value !== '')
        errors.push(...this.checkReference(f, value, values));
      if (f.unique && !blank(value)) {
        const other = this.match(def, f, value).find((id) => id !== existing?.Id);
        if (other)
          errors.push(
            dml('DUPLICATE_VALUE', `duplicate value found: ${f.name} duplicates value on record with id: ${other}`),
          );
      }
    }
    return errors;
  }

  private checkReference(f: SalesforceField, value: string, values: Values): DmlError[] {
    if (!ID_SHAPE.test(value))
      return [dml('MALFORMED_ID', `${f.label}: id value of incorrect type: ${value}`, [f.name])];
    const targets = f.referenceTo.map((t) => (t === 'User' ? USER_KEY_PREFIX : this.objectOrNull(t)?.keyPrefix));
    if (!targets.includes(value.slice(0, 3))) {
      return [dml('FIELD_INTEGRITY_EXCEPTION', `${f.label}: id value of incorrect type: ${value}`, [f.name])];
    }
    const id = toId18(value);
    values[f.name] = id;
    const target = f.referenceTo.map((t) => this.objectOrNull(t)).find((d) => d?.keyPrefix === value.slice(0, 3));
    if (target && !this.table(target).has(id))
      return [dml('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', [f.name])];
    return [];
  }
}

function isLookupField(f: SalesforceField): boolean {
  return f.type !== 'id' && (f.externalId || f.idLookup || f.unique);
}

export function matchKey(field: SalesforceField, value: unknown): string {
  const text = String(value);
  return field.caseSensitive ? text : text.toLowerCase();
}

export function jsonToken(raw: unknown): string {
  if (Array.isArray(raw)) return 'START_ARRAY';
  if (typeof raw === 'object') return 'START_OBJECT';
  if (typeof raw === 'boolean') return raw ? 'VALUE_TRUE' : 'VALUE_FALSE';
  if (typeof raw === 'number') return Number.isInteger(raw) ? 'VALUE_NUMBER_INT' : 'VALUE_NUMBER_FLOAT';
  return 'VALUE_STRING';
}

/** A JSON value → the stored value, or Salesforce's deserialization error for the whole request. */
export function coerce(field: SalesforceField, raw: unknown): unknown {
  if (raw === null) return field.type === 'boolean' ? false : null;
  const fail = (typeName: string) => {
    const shown = typeof raw === 'object' ? (Array.isArray(raw) ? '[' : '{') : String(raw);
    return apiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of ${typeName} from ${jsonToken(raw)} value ${shown} or request may be missing a required field`,
    );
  };
  if (typeof raw === 'object') throw fail(field.type === 'boolean' ? 'boolean' : field.type);
  switch (field.type) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'false') return raw === 'true';
      throw fail('boolean');
    case 'int':
    case 'double':
    case 'currency':
    case 'percent': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
      if (Number.isFinite(n)) return n;
      throw fail('double');
    }
    case 'date':
      if (typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}/.test(raw) && !Number.isNaN(Date.parse(raw.slice(0, 10))))
        return raw.slice(0, 10);
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
