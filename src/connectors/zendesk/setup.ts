/**
 * Provisioning of what the Zendesk target writes to: the billing fields, as
 * organization fields AND user fields (a customer without an organization
 * gets them on its user), and the invoice custom object with its fields.
 * Names come from `targets.zendesk`; types are what target-format writes.
 *
 * Idempotent by key: what exists is listed and left alone (a type that
 * differs is reported, never changed: changing a field's type in Zendesk
 * means deleting it and its values), only what is missing is created.
 * With `endUserAccess` (setup-access.ts), also the status object and what
 * lets end users read their own records of both objects.
 */
import { z } from 'zod';
import type { TargetsConfig } from '../../config.js';
import { classifyZendeskError, zendeskRequest, zendeskResult, type ZendeskClient } from './client.js';
import { EMPTY_MAPPING, type MappingConfig, type MappingEntry } from '../../sync/mapping/schema.js';
import {
  createOwnRecordsRule,
  endUserObjects,
  endUserPolicyGap,
  findOwnRecordsRule,
  grantEndUserRead,
  statusObjectSchema,
  type ZendeskFieldSpec,
} from './setup-access.js';

type ZendeskTargetConfig = TargetsConfig['zendesk'];
type ZendeskSetupKind =
  'organization field' | 'user field' | 'custom object' | 'custom object field' | 'access rule' | 'end-user policy';

export interface ZendeskSetupStep {
  kind: ZendeskSetupKind;
  /** The field's key; the object's key for objects, their fields, access rules and policies. */
  key: string;
  /** Custom object fields: the object they belong to. */
  object?: string;
  /** Expected field type; absent for the custom object itself. */
  type?: string;
  /** `exists`: found (with the type it has); `missing`: to create; `created`: created by this run. */
  state: 'exists' | 'missing' | 'created';
  /** Set when an existing field has another type than the one the target writes. */
  actualType?: string;
  /** End-user policies that are to change: what they allow now. */
  now?: string;
}

export interface ZendeskSetupOptions {
  /** Also the status object, and end-user read access to both objects' own records (plans without help center JWTs). */
  endUserAccess?: boolean;
  /** The configured field mapping: its Zendesk fields are provisioned beside the built-in ones. */
  mapping?: MappingConfig;
}

const COUNTS = new Set(['openInvoiceCount', 'support.openTicketCount']);

/** The field type a mapping entry writes: decimal for money, date, checkbox for boolean, integer for counts, else text. */
function mappedFieldType(e: MappingEntry): ZendeskFieldSpec['type'] {
  if (e.transform === 'money') return 'decimal';
  if (e.transform === 'date') return 'date';
  if (e.transform === 'boolean') return 'checkbox';
  return e.transform === undefined && typeof e.from === 'string' && COUNTS.has(e.from) ? 'integer' : 'text';
}

const mappedSpecs = (entries: readonly MappingEntry[]): ZendeskFieldSpec[] =>
  entries.map((e) => ({ key: e.to, type: mappedFieldType(e), title: e.to }));

type ProfileKey = keyof ZendeskTargetConfig['fields'];
type InvoiceKey = keyof ZendeskTargetConfig['invoiceObject']['fields'];

// Types follow target-format: money as decimal in major units, days as date, counts as integer.
const PROFILE_FIELDS: Record<ProfileKey, Pick<ZendeskFieldSpec, 'type' | 'title'>> = {
  status: { type: 'text', title: 'Billing status' },
  plan: { type: 'text', title: 'Billing plan' },
  mrr: { type: 'decimal', title: 'MRR' },
  balance: { type: 'decimal', title: 'Account balance' },
  nextInvoiceDate: { type: 'date', title: 'Next invoice date' },
  delinquent: { type: 'checkbox', title: 'Payment overdue' },
  openInvoices: { type: 'integer', title: 'Open invoices' },
};

const INVOICE_FIELDS: Record<InvoiceKey, Omit<ZendeskFieldSpec, 'key'>> = {
  number: { type: 'text', title: 'Invoice number' },
  status: { type: 'text', title: 'Status' },
  total: { type: 'decimal', title: 'Total' },
  amountDue: { type: 'decimal', title: 'Amount due' },
  amountPaid: { type: 'decimal', title: 'Amount paid' },
  currency: { type: 'text', title: 'Currency' },
  dueDate: { type: 'date', title: 'Due date' },
  hostedUrl: { type: 'text', title: 'Invoice page' },
  pdfUrl: { type: 'text', title: 'Invoice PDF' },
  // The target writes the organization or user id here; a lookup makes the record show on that profile.
  organization: { type: 'lookup', title: 'Organization', relationship_target_type: 'zen:organization' },
  user: { type: 'lookup', title: 'User', relationship_target_type: 'zen:user' },
};

const specs = <K extends string>(
  keys: Record<K, string>,
  defs: Record<K, Omit<ZendeskFieldSpec, 'key'>>,
): ZendeskFieldSpec[] => (Object.keys(defs) as K[]).map((k) => ({ key: keys[k], ...defs[k] }));

/** What the target needs, from config (the built-in fields, then the mapped ones): pure. */
export function zendeskSchema(cfg: ZendeskTargetConfig, mapping: MappingConfig = EMPTY_MAPPING) {
  const profileFields = specs(cfg.fields, PROFILE_FIELDS);
  return {
    profileFields,
    organizationFields: [...profileFields, ...mappedSpecs(mapping.zendesk.organizationFields)],
    userFields: [...profileFields, ...mappedSpecs(mapping.zendesk.userFields)],
    invoiceObject: { key: cfg.invoiceObject.key, title: 'Portal invoice', title_pluralized: 'Portal invoices' },
    invoiceFields: [...specs(cfg.invoiceObject.fields, INVOICE_FIELDS), ...mappedSpecs(mapping.zendesk.invoiceObject)],
  };
}

const FieldList = z.array(z.looseObject({ key: z.string(), type: z.string() }));
const CustomObjects = z.looseObject({ custom_objects: z.array(z.looseObject({ key: z.string() })) });
const CustomObjectFields = z.looseObject({ custom_object_fields: FieldList });

function parsed<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new Error(`Zendesk answered ${what} in an unexpected shape`);
  return r.data;
}

function compare(
  kind: ZendeskSetupKind,
  wanted: readonly ZendeskFieldSpec[],
  existing: readonly { key: string; type: string }[],
  object?: string,
): ZendeskSetupStep[] {
  const byKey = new Map(existing.map((f) => [f.key, f.type]));
  return wanted.map((f) => {
    const actual = byKey.get(f.key);
    const step = { kind, key: f.key, type: f.type, ...(object !== undefined && { object }) };
    if (actual === undefined) return { ...step, state: 'missing' };
    return { ...step, state: 'exists', ...(actual !== f.type && { actualType: actual }) };
  });
}

/** The custom objects setup provisions, each with its fields. */
function objectsOf(cfg: ZendeskTargetConfig, opts: ZendeskSetupOptions) {
  const schema = zendeskSchema(cfg, opts.mapping);
  const objects = [{ object: schema.invoiceObject, fields: schema.invoiceFields }];
  if (opts.endUserAccess) objects.push(statusObjectSchema(cfg));
  return objects;
}

/** Lists what exists and what is missing; changes nothing. */
export async function planZendeskSetup(
  client: ZendeskClient,
  cfg: ZendeskTargetConfig,
  opts: ZendeskSetupOptions = {},
): Promise<ZendeskSetupStep[]> {
  const schema = zendeskSchema(cfg, opts.mapping);
  // getAll answers the (paged, unwrapped) array itself, or a failed call's { response, result }.
  const list = async (call: Promise<unknown>, what: string) => {
    const body = await call;
    // A 429 (Retry-After) does not throw in node-zendesk 6: getAll puts the Error in the array.
    const failure = Array.isArray(body) ? body.find((x): x is Error => x instanceof Error) : undefined;
    if (failure) throw new Error(classifyZendeskError(failure).message);
    return parsed(
      FieldList,
      Array.isArray(body) ? body : zendeskResult(body as { response: unknown; result: unknown }),
      what,
    );
  };
  const orgFields = await list(client.organizationfields.list(), 'organization fields');
  const userFields = await list(client.userfields.list(), 'user fields');
  const existing = new Set(
    parsed(CustomObjects, await zendeskRequest(client, 'GET', ['custom_objects']), 'custom objects').custom_objects.map(
      (o) => o.key,
    ),
  );
  const steps: ZendeskSetupStep[] = [
    ...compare('organization field', schema.organizationFields, orgFields),
    ...compare('user field', schema.userFields, userFields),
  ];
  for (const { object, fields } of objectsOf(cfg, opts)) {
    const exists = existing.has(object.key);
    const have = exists
      ? parsed(
          CustomObjectFields,
          await zendeskRequest(client, 'GET', ['custom_objects', object.key, 'fields']),
          'custom object fields',
        ).custom_object_fields
      : [];
    steps.push(
      { kind: 'custom object', key: object.key, state: exists ? 'exists' : 'missing' },
      ...compare('custom object field', fields, have, object.key),
    );
  }
  if (opts.endUserAccess) {
    for (const { key } of endUserObjects(cfg)) {
      const ruleId = existing.has(key) ? await findOwnRecordsRule(client, key) : undefined;
      const gap = existing.has(key) ? await endUserPolicyGap(client, key, ruleId) : 'end users cannot read records now';
      steps.push({ kind: 'access rule', key, state: ruleId === undefined ? 'missing' : 'exists' });
      steps.push({
        kind: 'end-user policy',
        key,
        state: gap === undefined ? 'exists' : 'missing',
        ...(gap !== undefined && { now: gap }),
      });
    }
  }
  return steps;
}

/** A step as one line: what it is (kind, object, key, type), and a type that differs from the one the target writes. */
export function describeZendeskStep(s: ZendeskSetupStep): string {
  const what =
    s.kind === 'access rule'
      ? `access rule on ${s.key}: its organization or user matches the signed-in end user`
      : s.kind === 'end-user policy'
        ? `end-user policy on ${s.key}: read own records only${s.now ? ` (${s.now})` : ''}`
        : `${s.kind} ${s.object ? `${s.object}.` : ''}${s.key}${s.type ? ` (${s.type})` : ''}`;
  return `${what}${s.actualType ? `: exists as ${s.actualType}, expected ${s.type}; change it by hand` : ''}`;
}

/**
 * What the account lacks of what pushes write to, one line each (missing, or of another type): the fields and the
 * invoice object of the configured names and mapping. Reads only; a few list calls.
 */
export async function zendeskSetupProblems(
  client: ZendeskClient,
  cfg: ZendeskTargetConfig,
  mapping: MappingConfig = EMPTY_MAPPING,
): Promise<string[]> {
  const steps = await planZendeskSetup(client, cfg, { mapping });
  return steps
    .filter((s) => s.state === 'missing' || s.actualType !== undefined)
    .map((s) => (s.state === 'missing' ? `${describeZendeskStep(s)} is missing` : describeZendeskStep(s)));
}

/** Creates every missing step, in order (the object before its fields); returns the steps with what was created. */
export async function applyZendeskSetup(
  client: ZendeskClient,
  cfg: ZendeskTargetConfig,
  steps: readonly ZendeskSetupStep[],
  opts: Pick<ZendeskSetupOptions, 'mapping'> = {},
): Promise<ZendeskSetupStep[]> {
  const schema = zendeskSchema(cfg, opts.mapping);
  const objects = objectsOf(cfg, { ...opts, endUserAccess: true });
  const objectOf = (key: string) => {
    const found = objects.find((o) => o.object.key === key);
    if (!found) throw new Error(`no custom object ${key} in the Zendesk setup`);
    return found;
  };
  const rules = new Map<string, number>();
  const spec = (list: ZendeskFieldSpec[], key: string) => {
    const found = list.find((f) => f.key === key);
    if (!found) throw new Error(`no field ${key} in the Zendesk setup`);
    return found;
  };
  const done: ZendeskSetupStep[] = [];
  for (const step of steps) {
    if (step.state !== 'missing') {
      done.push(step);
      continue;
    }
    switch (step.kind) {
      case 'organization field':
        zendeskResult(
          await client.organizationfields.create({ organization_field: spec(schema.organizationFields, step.key) }),
        );
        break;
      case 'user field':
        zendeskResult(await client.userfields.create({ user_field: spec(schema.userFields, step.key) }));
        break;
      case 'custom object':
        await zendeskRequest(client, 'POST', ['custom_objects'], { custom_object: objectOf(step.key).object });
        break;
      case 'custom object field': {
        const { object, fields } = objectOf(step.object ?? schema.invoiceObject.key);
        await zendeskRequest(client, 'POST', ['custom_objects', object.key, 'fields'], {
          custom_object_field: spec(fields, step.key),
        });
        break;
      }
      case 'access rule': {
        const object = endUserObjects(cfg).find((o) => o.key === step.key);
        if (!object) throw new Error(`no end-user object ${step.key} in the Zendesk setup`);
        rules.set(step.key, await createOwnRecordsRule(client, object));
        break;
      }
      case 'end-user policy': {
        // The rule was created by this run, or found: a policy never opens reading without it.
        const ruleId = rules.get(step.key) ?? (await findOwnRecordsRule(client, step.key));
        if (ruleId === undefined) throw new Error(`no access rule on ${step.key}: the end-user policy was left closed`);
        await grantEndUserRead(client, step.key, ruleId);
        break;
      }
    }
    done.push({ ...step, state: 'created' });
  }
  return done;
}
